"""Instructions per request, counted by callgrind: the ticket endpoints against /healthz on a measure that a
busy shared machine cannot move.

Run: `.venv/bin/python bench/instructions.py [--tickets 100000] [--requests 100] [--warmup 300]`. Needs
valgrind with its headers (`valgrind/callgrind.h`) and a C compiler, both on this project's machines.

Wall-clock rates on a shared host drift by tens of percent within minutes, so two versions of the code can only
be told apart there by many interleaved rounds (`bench/tickets.py --rounds`). The instructions a request
executes barely vary from run to run, so one run of this script tells whether a change made an endpoint
cheaper, and by how much. It seeds the database `bench/tickets.py` seeds; then, for each endpoint, a child
process under `valgrind --tool=callgrind` sends `--warmup` requests through the Flask test client, and counts
the instructions of the next `--requests` only (callgrind's client requests switch collection on and off around
them). Each child works on its own copy of the database; two run at a time. Under callgrind Python runs some
fifty times slower: the defaults take about five minutes on two quiet cores.

What it does not see: gunicorn's own work per request (the test client stands in for it), time in the kernel
(writes, lock waits) and how fast the CPU runs each instruction. So its ratios are not the wrk ratios
`bench/tickets.py` checks against the targets: compare them between versions of the code, not with a target.
"""

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.auth_reads import Endpoint, bench_environment, temporary_directory  # noqa: E402
from bench.tickets import PASSWORD, SUPERVISOR, WORKER, endpoints_for, seeded_database  # noqa: E402

REFERENCE_ROW = -1  # the child counts bench/reference.py's /healthz instead of an endpoint of the app
# Switches callgrind's collection; a no-op outside valgrind.
CLIENT_REQUESTS = """
#include <valgrind/callgrind.h>
void collect_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def build_toggle(directory: Path) -> Path:
    source, library = directory / "toggle.c", directory / "libtoggle.so"
    source.write_text(CLIENT_REQUESTS)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def count_each(database: Path, directory: Path, children: int, count_one: Callable[[int, Path], float]) -> list[float]:
    """`count_one(i, copy)` for each of `children` callgrind children, two at a time, each on its own copy of
    `database` (in a folder of `directory` of its own, where its callgrind output goes too)."""
    copies = []
    for index in range(children):
        (directory / str(index)).mkdir()
        copies.append(directory / str(index) / database.name)
        shutil.copyfile(database, copies[-1])
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda i: count_one(i, copies[i]), range(children)))


def count(database: Path, toggle: Path, endpoint: int, args: argparse.Namespace, ids: Path) -> float:
    """Instructions per request of one endpoint, from a child process under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--callgrind-out-file={database.parent / 'callgrind.out.%p'}",
        sys.executable,
        __file__,
        "--child",
        json.dumps(
            {"database": str(database), "toggle": str(toggle), "endpoint": endpoint, "ids": str(ids)}
            | {"requests": args.requests, "warmup": args.warmup}
        ),
    ]
    env = bench_environment(database)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    collected = re.search(r"Collected : (\d+)", finished.stderr)
    if finished.returncode != 0 or collected is None:
        raise SystemExit(f"the callgrind child failed:\n{finished.stdout[-2000:]}\n{finished.stderr[-2000:]}")
    return int(collected.group(1)) / args.requests


def child(options: dict[str, Any]) -> None:
    """Under callgrind: log in, warm up, then collect only around the measured requests."""
    import ctypes

    from bootstrap import create_app

    toggle = ctypes.CDLL(options["toggle"]).collect_toggle
    if options["endpoint"] == REFERENCE_ROW:
        from bench.reference import app as reference

        count_requests(reference.test_client(), Endpoint("/healthz"), options, toggle)
        return
    client = create_app().test_client()
    tokens = {}
    for username in (WORKER, SUPERVISOR):
        grant = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        tokens[username] = grant.get_json()["access_token"]
    ids = json.loads(Path(options["ids"]).read_text())
    seeded = SimpleNamespace(queue_ids=ids["queue"], urge_ids=ids["urge"])
    endpoint: Endpoint = endpoints_for(seeded, tokens[WORKER], tokens[SUPERVISOR])[options["endpoint"]]  # type: ignore[arg-type]
    count_requests(client, endpoint, options, toggle)


def count_requests(client: Any, endpoint: Endpoint, options: dict[str, Any], toggle: Any) -> None:
    """Warm up, then collect only around the measured requests."""
    paths = endpoint.request_paths

    def send(n: int) -> None:
        response = client.open(
            paths[n % len(paths)], method=endpoint.method, headers=endpoint.headers, data=endpoint.body
        )
        if response.status_code not in (200, 201):  # 201: an intake
            raise SystemExit(
                f"{endpoint.label} answered {response.status_code}: {response.get_data(as_text=True)[:300]}"
            )

    for n in range(options["warmup"]):
        send(n)
    toggle()
    for n in range(options["warmup"], options["warmup"] + options["requests"]):
        send(n)
    toggle()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to seed (default 100,000)")
    parser.add_argument("--requests", type=int, default=100, help="requests counted per endpoint")
    parser.add_argument("--warmup", type=int, default=300, help="requests sent first, not counted")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    if shutil.which("valgrind") is None or shutil.which("cc") is None:
        raise SystemExit("bench/instructions.py needs valgrind (with its headers) and a C compiler (cc)")
    with temporary_directory() as directory:
        seeded, _ = seeded_database(bench_environment(directory / "tickets.db"), args.tickets)
        with sqlite3.connect(directory / "tickets.db") as connection:  # all of it in the file the copies take
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ids = directory / "ids.json"
        ids.write_text(json.dumps({"queue": seeded.queue_ids, "urge": seeded.urge_ids}))
        toggle = build_toggle(directory)
        labels = [endpoint.label for endpoint in endpoints_for(seeded, "-", "-")]  # type: ignore[arg-type]
        labels.append("reference: bare Flask /healthz")  # bench/reference.py, the floor of issue 27
        print(f"{args.tickets:,} tickets; per endpoint {args.warmup} requests to warm up, then {args.requests} counted")
        started = time.perf_counter()
        rows = [*range(len(labels) - 1), REFERENCE_ROW]
        counts = count_each(
            directory / "tickets.db", directory, len(labels), lambda i, copy: count(copy, toggle, rows[i], args, ids)
        )
        print(f"\n{'endpoint':34} {'M instructions':>14} {'/healthz':>8}")
        for label, instructions in zip(labels, counts, strict=True):
            print(f"{label:34} {instructions / 1e6:14.3f} {counts[0] / instructions:8.3f}")
        print(f"\n(callgrind, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
