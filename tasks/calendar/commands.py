"""Calendar CLI: `flask --app wsgi calendar seed` (from the pinned package) and `calendar import FILE`."""

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from marshmallow import ValidationError as SchemaError

from kernel.errors import AppError
from kernel.extensions import db
from tasks.calendar import service as calendar
from tasks.calendar.models import CalendarSource
from tasks.calendar.schemas import CalendarYearInSchema

calendar_cli = AppGroup("calendar", help="The working-day calendar: holidays and make-up working days.")


def register(app: Flask) -> None:
    app.cli.add_command(calendar_cli)


@calendar_cli.command("seed")
def seed_command() -> None:
    """Add every year the installed chinesecalendar knows and the calendar lacks; edited years stay as they are."""
    added = calendar.seed_from_package()
    db.session.commit()
    click.echo(f"added {', '.join(map(str, added))}" if added else "no year to add")


@calendar_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Replace one year from FILE: {"year": 2027, "days": [{"date": "2027-01-01", "kind": "rest", "name": "元旦"},
    ...]} (the body of PUT /api/v1/calendar/{year}, with its year), all or nothing."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        year = document.pop("year")
        if not isinstance(year, int):
            raise click.ClickException("`year` must be a number")
        data = CalendarYearInSchema().load(document)
        result = calendar.put_year(year, data["days"], CalendarSource.IMPORT)
    except (ValueError, KeyError, AttributeError, TypeError) as error:
        raise click.ClickException(f"{file}: not a calendar document ({error})") from None
    except SchemaError as error:
        raise click.ClickException(f"{file}: {error.messages}") from None
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(f"{file}: {error.message} {error.details}") from None
    db.session.commit()
    click.echo(f"{year}: {len(result.days)} days")
