"""Grid CLI: `flask --app wsgi grid import FILE.geojson` for maps too large for one HTTP request, and
`flask --app wsgi grid check` for boundaries stored before the territory's rules were enforced."""

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from grid import importer, territory
from kernel.errors import AppError
from kernel.extensions import db

grid_cli = AppGroup("grid", help="Grid units: import maps, check the stored boundaries.")


def register(app: Flask) -> None:
    app.cli.add_command(grid_cli)


@grid_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Import a GeoJSON FeatureCollection of units, all or nothing."""
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{path} is not a JSON file: {error}") from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise click.ClickException(f"{path} is not a GeoJSON FeatureCollection")
    total = len(collection.get("features") or [])
    with click.progressbar(length=total * 3, label=f"importing {total} features") as bar:
        try:
            summary = importer.import_collection(collection, progress=lambda _phase, count: bar.update(count))
        except AppError as error:
            db.session.rollback()
            lines = [f"  {where}: {'; '.join(map(str, why))}" for where, why in list(error.details.items())[:50]]
            raise click.ClickException("\n".join([error.message, *lines])) from None
        db.session.commit()
    click.echo(f"created {summary.created}, updated {summary.updated}, unchanged {summary.unchanged}")


@grid_cli.command("check")
def check_command() -> None:
    """List stored units whose boundaries overlap (neither holding the other) or stick out of the nearest boundary
    above them, with ids, names and paths; exit status 1 when there is any, 0 when there is none."""
    found = territory.problems(None)
    for problem in found:
        verb = "overlaps" if problem.kind is territory.Kind.OVERLAP else "is outside"
        click.echo(f"{problem.kind.value}: {_unit_line(problem.unit)} {verb} {_unit_line(problem.other)}")
    if found:
        overlaps = sum(problem.kind is territory.Kind.OVERLAP for problem in found)
        click.echo(f"{overlaps} overlaps, {len(found) - overlaps} units outside the boundary above them")
        raise SystemExit(1)
    click.echo("no overlaps, every boundary inside the one above it")


def _unit_line(unit: territory.Placed) -> str:
    return f"[id {unit.id} {unit.level.value} {unit.code} {unit.name} path {unit.path}]"
