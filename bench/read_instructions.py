"""Instructions per request of issue 27's endpoints, counted by callgrind on the matrix's database.

Run: `.venv/bin/python bench/read_instructions.py [--tickets 20000] [--requests 50] [--warmup 40] [--keep DIR]
[--only LABEL,...]`: the reads and the bare app by default; `--only urge,accept,resolve,intake` counts the
writes (accept and resolve on the matrix's pool of tickets, put back in the state they act on first).
Needs valgrind (with its headers) and a C compiler, as `bench/instructions.py` does.

`--only floor-me,floor-urge` counts `bench/floor.py`'s `/me` and urge (Flask and the driver alone, on the same rows
and tokens), the floor under the app's `/auth/me` and urge.

`bench/instructions.py` counts the ticket endpoints on `bench/tickets.py`'s database; the reads issue 27 names
(`/auth/me`, `/users/{id}`, the worker's queue, one ticket, `/grids/locate`) are the cases of `bench/matrix.py`,
with its square cell boundaries and its accounts. This script seeds that database (`bench.matrix.prepare`,
SQLite), then, for `/healthz`, each read and the bare Flask app (`bench/reference.py`), a child process under
`valgrind --tool=callgrind` logs in through the Flask test client, sends `--warmup` requests of the matrix's case
and counts the instructions of the next `--requests` only. Each child works on its own copy of the database; two
run at a time. `--keep DIR` seeds into DIR once and reuses it on the next runs (compare two versions of the code
on the same rows). What the counts do not see, and how to read them: `bench/instructions.py`'s docstring.
"""

import argparse
import dataclasses
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.auth_reads import bench_environment, temporary_directory  # noqa: E402
from bench.instructions import build_toggle, count_each, count_requests  # noqa: E402
from bench.matrix import Prepared, cases_for, prepare  # noqa: E402
from bench.tickets import PASSWORD, SUPERVISOR, WORKER  # noqa: E402

REFERENCE = "reference"
FLOOR_LABELS = ("floor-me", "floor-urge")  # bench/floor.py: Flask and the driver alone (--only floor-me,floor-urge)
LABELS = ("healthz", "me", "user", "queue", "ticket", "locate", "urge", "accept", "resolve", "intake", REFERENCE)
LABELS += FLOOR_LABELS
READS = ("healthz", "me", "user", "queue", "ticket", "locate", REFERENCE)  # what runs without --only
# Their places in bench.matrix.cases_for
CASE_INDEX = {"healthz": 1, "me": 2, "user": 3, "queue": 4, "ticket": 5, "locate": 6}
CASE_INDEX |= {"urge": 7, "accept": 8, "resolve": 9, "intake": 10}


def child(options: dict[str, Any]) -> None:
    """Under callgrind: log in, warm up, then collect only around the measured requests."""
    import ctypes

    from bench.auth_reads import Endpoint

    toggle = ctypes.CDLL(options["toggle"]).collect_toggle
    if options["label"] == REFERENCE:
        from bench.reference import app as reference

        count_requests(reference.test_client(), Endpoint("/healthz"), options, toggle)
        return
    from bootstrap import create_app

    prepared = Prepared(**json.loads(Path(options["prepared"]).read_text()))
    client = create_app().test_client()
    tokens = {}
    for username in (WORKER, SUPERVISOR, prepared.pool_worker):
        grant = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        tokens[username] = grant.get_json()["access_token"]
    if options["label"] in FLOOR_LABELS:
        from bench.floor import app as floor
        from bench.matrix import floor_cases

        me, urge = floor_cases("sqlite", prepared, tokens)
        count_requests(floor.test_client(), (me if options["label"] == "floor-me" else urge).endpoint, options, toggle)
        return
    case = cases_for(dict(os.environ), prepared, tokens)[CASE_INDEX[options["label"]]]
    if case.before_round is not None:  # accept and resolve: the pool's tickets put back in the state they act on
        case.before_round()
    count_requests(client, case.endpoint, options, toggle)


def count(database: Path, toggle: Path, label: str, prepared: Path, args: argparse.Namespace) -> float:
    """Instructions per request of one case, from a child process under callgrind."""
    import re
    import subprocess

    options = {"toggle": str(toggle), "label": label, "prepared": str(prepared)}
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--callgrind-out-file={database.parent / 'callgrind.out.%p'}",
        sys.executable,
        __file__,
        "--child",
        json.dumps(options | {"requests": args.requests, "warmup": args.warmup}),
    ]
    finished = subprocess.run(command, env=bench_environment(database), capture_output=True, text=True, check=False)
    collected = re.search(r"Collected : (\d+)", finished.stderr)
    if finished.returncode != 0 or collected is None:
        raise SystemExit(f"the callgrind child failed:\n{finished.stdout[-2000:]}\n{finished.stderr[-2000:]}")
    return int(collected.group(1)) / args.requests


def seeded(directory: Path, tickets: int) -> Path:
    """The matrix's SQLite database in `directory` (seeded once), and its `Prepared` as JSON beside it."""
    database, facts = directory / "matrix.db", directory / "prepared.json"
    if not facts.exists():
        prepared = prepare(bench_environment(database), tickets)
        with sqlite3.connect(database) as connection:  # all of it in the file the copies take
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        facts.write_text(json.dumps(dataclasses.asdict(prepared)))
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets to seed (default 20,000)")
    parser.add_argument("--requests", type=int, default=50, help="requests counted per endpoint")
    parser.add_argument("--warmup", type=int, default=40, help="requests sent first, not counted")
    parser.add_argument("--keep", type=Path, help="seed into this directory once, and reuse it")
    parser.add_argument("--only", help=f"comma-separated of {', '.join(LABELS)} (default: the reads and the reference)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    if shutil.which("valgrind") is None or shutil.which("cc") is None:
        raise SystemExit("bench/read_instructions.py needs valgrind (with its headers) and a C compiler (cc)")
    labels = args.only.split(",") if args.only else list(READS)
    if set(labels) - set(LABELS):
        parser.error(f"--only: {', '.join(LABELS)}")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    with temporary_directory() as directory:
        facts = seeded(args.keep or directory, args.tickets)
        toggle = build_toggle(directory)
        print(f"{args.tickets:,} tickets; per endpoint {args.warmup} requests to warm up, then {args.requests} counted")
        started = time.perf_counter()
        counts = count_each(
            facts.parent / "matrix.db",
            directory,
            len(labels),
            lambda i, copy: count(copy, toggle, labels[i], facts, args),
        )
        print(f"\n{'endpoint':10} {'M instructions':>14}")
        for label, instructions in zip(labels, counts, strict=True):
            print(f"{label:10} {instructions / 1e6:14.3f}")
        print(f"\n(callgrind, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
