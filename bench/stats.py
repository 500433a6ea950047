"""Dashboard latency at scale: p50/p99 per `/api/v1/stats/...` endpoint on a district from bench/seed_scale.py.

Run: `.venv/bin/python bench/stats.py --database-url sqlite:////tmp/district.db [--requests 50]`
(seed first: `.venv/bin/python bench/seed_scale.py --database-url ... --tickets 100000`; the same with a
PostgreSQL URL). Each endpoint is called in process through the Flask test client (no HTTP server: the figures
are the application's and the database's time, routing, auth and serialization included), as the district
supervisor of street 1 (`bench.supervisor`, about a tenth of the district) and as the admin (the whole
district), over the month the seed ends in (Beijing), after 3 warm-up calls. Prints p50 and p99 in ms, and the
load average (the machine is shared: a figure taken under load is worth re-running).
`breakdown?by=worker` and `leaderboard` are the first page (50 and 20 rows); `heatmap (If-None-Match)` is a
client revalidating the layer it holds (304).
Targets (issue 7): p50 < 50 ms and p99 < 200 ms at 1,000,000 tickets.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from auth import tokens  # noqa: E402
from auth.models import Account  # noqa: E402
from bench.seed_scale import make_app  # noqa: E402
from kernel import clock  # noqa: E402
from kernel.extensions import db  # noqa: E402
from tasks.tickets.models import Ticket  # noqa: E402

ENDPOINTS = (
    "/api/v1/stats/summary",
    "/api/v1/stats/breakdown?by=child",
    "/api/v1/stats/breakdown?by=category",
    "/api/v1/stats/breakdown?by=worker",
    "/api/v1/stats/breakdown?by=channel",
    "/api/v1/stats/timeseries?interval=day",
    "/api/v1/stats/overdue",
    "/api/v1/stats/heatmap",
    "/api/v1/stats/heatmap (If-None-Match)",
    "/api/v1/stats/leaderboard",
    "/api/v1/stats/leaderboard?of=unit",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", default="", help="run the endpoints whose path contains this text")
    args = parser.parse_args()
    app = make_app(args.database_url)
    # The seed's "now": its last month is the dashboards' default range.
    clock.travel(datetime(2026, 11, 20, 4, 0, tzinfo=UTC) - datetime.now(UTC))
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Ticket))
        headers = {}
        for name in ("bench.supervisor", "bench.admin"):
            account = db.session.scalars(select(Account).where(Account.username == name)).one()
            grant = tokens.open_session(account)
            headers[name] = {"Authorization": f"Bearer {grant.access_token}"}
        db.session.commit()
    client = app.test_client()
    print(f"{count} tickets, {args.database_url.split(':')[0]}, {args.requests} requests per endpoint, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    print(f"{'endpoint':44} {'caller':18} {'p50 ms':>8} {'p99 ms':>8}")
    for endpoint in ENDPOINTS:
        if args.only not in endpoint:
            continue
        path, _, variant = endpoint.partition(" ")
        for caller, header in headers.items():
            for _ in range(3):
                warm = client.get(path, headers=header)
                assert warm.status_code == 200, warm.get_data(as_text=True)[:300]
            expected = 200
            if variant:  # a map client that holds the layer: a conditional GET
                header = {**header, "If-None-Match": warm.headers["ETag"]}
                expected = 304
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(path, headers=header)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code in {expected, 200}, response.get_data(as_text=True)[:300]
            times.sort()
            p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
            print(f"{endpoint:44} {caller:18} {statistics.median(times):8.1f} {p99:8.1f}", flush=True)
    clock.travel(timedelta(0))


if __name__ == "__main__":
    main()
