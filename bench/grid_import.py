"""How long importing a district's map takes on SQLite: target 10,000 cells in under 10 seconds.

Run: `.venv/bin/python bench/grid_import.py [--cells 10000] [--profile]`

Setup: the synthetic map of `bench/grid_map.py` (1 district › 10 streets › 100 communities › 10,000
cells for the default size; part of the file lists children before parents), written to a temporary
GeoJSON file; a temporary SQLite database per measurement, migrated with `flask db upgrade`; fixed
SECRET_KEY and JWT_SECRET_KEY so `instance/` is never touched. Measures:

(a) `grid.importer.import_collection` on the parsed file inside an app context, then
    `db.session.commit()` (phases timed through the importer's progress callback);
(b) the same file imported again into the same database (every unit unchanged);
(c) `flask --app wsgi grid import FILE` on a fresh database: the subprocess's wall time, which also
    holds interpreter start, app creation and reading the JSON (shown apart as "startup").

Prints cells, seconds, cells/s and peak RSS, and whether the target is met. `--profile` runs (a) once
more under cProfile on a fresh database and prints the costliest calls.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.grid_map import feature_collection  # noqa: E402

TARGET_SECONDS = 10.0
TARGET_CELLS = 10_000
FLASK = ROOT / ".venv" / "bin" / "flask"


# --- a throw-away database ------------------------------------------------------------------------


def bench_environment(database: Path) -> dict[str, str]:
    """The environment for the app and its CLI: a private SQLite file, fixed secrets, quiet logs."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "JWT_SECRET_KEY": "bench-jwt-key-not-for-production-0123456789abc",
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi",
    }


def flask_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run `flask --app wsgi ARGS` from the repository root; its output, or SystemExit on failure."""
    done = subprocess.run(
        [str(FLASK), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


@contextmanager
def temporary_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="grid-bench-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def migrated_database(directory: Path, name: str) -> dict[str, str]:
    """A fresh SQLite file at the latest migration; returns the environment pointing at it."""
    env = bench_environment(directory / f"{name}.db")
    flask_cli(env, "db", "upgrade")
    return env


def use_environment(env: dict[str, str]) -> None:
    """Point this process's next `create_app()` at the database of `env`."""
    for key in ("DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "LOG_LEVEL"):
        os.environ[key] = env[key]


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# --- in-process import ----------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    cells: int
    seconds: float
    summary: str
    peak_rss_mb: float
    phases: list[tuple[str, float]] = field(default_factory=list)

    def line(self) -> str:
        rate = self.cells / self.seconds if self.seconds else float("inf")
        return (
            f"{self.label:<34} cells {self.cells:>6}  {self.seconds:7.2f} s  {rate:8.0f} cells/s  "
            f"peak RSS {self.peak_rss_mb:6.0f} MB  ({self.summary})"
        )


def import_in_process(collection: dict[str, Any], cells: int, label: str) -> Timing:
    """import_collection + commit in a new app context of a new app (no state shared with earlier runs)."""
    from bootstrap import create_app
    from grid.importer import import_collection
    from kernel.extensions import db

    app = create_app()
    marks: list[tuple[str, float]] = []
    with app.app_context():
        start = time.perf_counter()
        summary = import_collection(
            collection, progress=lambda phase, _count: marks.append((phase, time.perf_counter()))
        )
        written = time.perf_counter()
        db.session.commit()
        end = time.perf_counter()
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
    phases, previous = [], start
    for phase, at in _last_of_each_phase(marks):
        phases.append((phase, at - previous))
        previous = at
    phases.append(("commit", end - written))
    text = f"created {summary.created}, updated {summary.updated}, unchanged {summary.unchanged}"
    return Timing(label, cells, end - start, text, peak_rss_mb(), phases)


def _last_of_each_phase(marks: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The importer reports "written" once per tree level; keep the last mark of each phase."""
    last: dict[str, float] = {}
    for phase, at in marks:
        last[phase] = at
    return list(last.items())


def profile_import(collection: dict[str, Any], directory: Path, top: int) -> str:
    from bootstrap import create_app
    from grid.importer import import_collection
    from kernel.extensions import db

    use_environment(migrated_database(directory, "profile"))
    app = create_app()
    profiler = cProfile.Profile()
    with app.app_context():
        profiler.enable()
        import_collection(collection)
        db.session.commit()
        profiler.disable()
        db.session.remove()
        db.engine.dispose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    out.write("\n--- by own time ---\n")
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- the CLI --------------------------------------------------------------------------------------


def timed_subprocess(command: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Wall seconds, output and the child's own peak RSS (MB) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode("utf-8", "replace")
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output}")
    return seconds, output, usage.ru_maxrss / 1024


def import_with_cli(path: Path, cells: int, directory: Path) -> tuple[Timing, float]:
    env = migrated_database(directory, "cli")
    startup, _, _ = timed_subprocess([str(FLASK), "--app", "wsgi", "grid", "--help"], env)
    seconds, output, rss = timed_subprocess([str(FLASK), "--app", "wsgi", "grid", "import", str(path)], env)
    summary = output.strip().splitlines()[-1]
    return Timing("(c) CLI `flask grid import`, fresh", cells, seconds, summary, rss), startup


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=TARGET_CELLS, help="cells in the map (default 10,000)")
    parser.add_argument("--profile", action="store_true", help="also profile (a) with cProfile")
    parser.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    args = parser.parse_args()

    with temporary_directory() as directory:
        collection = feature_collection(args.cells)
        path = directory / "map.geojson"
        path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        features = len(collection["features"])
        size_mb = path.stat().st_size / 1e6
        print(f"map: {features} features ({args.cells} cells), {size_mb:.1f} MB GeoJSON; SQLite in {directory}")
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"peak RSS before importing (map in memory): {peak_rss_mb():.0f} MB")

        use_environment(migrated_database(directory, "in_process"))
        first = import_in_process(collection, args.cells, "(a) import_collection + commit")
        again = import_in_process(collection, args.cells, "(b) same file again, unchanged")
        cli, startup = import_with_cli(path, args.cells, directory)

        for timing in (first, again):
            print(timing.line())
            print("      " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in timing.phases))
        print(cli.line())
        print(f"      of which startup (`flask --app wsgi grid --help`) {startup:.2f} s")

        for timing in (first, cli):
            if args.cells != TARGET_CELLS:
                verdict = f"not judged (run with --cells {TARGET_CELLS})"
            else:
                verdict = "met" if timing.seconds < TARGET_SECONDS else "NOT met"
            print(f"target {TARGET_CELLS} cells < {TARGET_SECONDS:.0f} s, {timing.label.split(' ', 1)[1]}: {verdict}")

        if args.profile:
            print("\n--- cProfile of (a) on a fresh database ---")
            print(profile_import(collection, directory, args.top))


if __name__ == "__main__":
    main()
