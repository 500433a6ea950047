"""考评 summary latency at scale: p50/p99 of `GET /api/v1/party/stats/summary` on the bench district.

Run: `.venv/bin/python bench/party_summary.py --database-url sqlite:////tmp/party.db [--needs 200000]` (an empty
database, SQLite or PostgreSQL; it is migrated and seeded here, reproducibly with `--seed`). The district is
bench/seed_scale.py's territory (10 streets › 100 communities › 10,000 cells) with a branch on each community;
`--needs` needs raised uniformly over the last 365 days in random cells (one in ten a wish), at every status; a
project for each need past `matched` (40 % of them), a resource for one need in ten, a rating for half the done
projects (a resident's, one in five a return visit's), a points entry per project for a member of the owner
branch (one in ten a deduction). Both rollups are rebuilt once after seeding, as after an import. The summary is
called in process through the Flask test client, after 3 warm-up calls, as the supervisor of street 1 (a tenth of
the district) and as the admin (the whole district), over the seed's last month and its last year. Prints p50
and p99 in ms and the load average.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from auth import tokens  # noqa: E402
from auth.models import Account  # noqa: E402
from bench.seed_scale import bulk, make_app, seed_accounts, seed_territory  # noqa: E402
from grid.models import GridUnit  # noqa: E402
from kernel import clock  # noqa: E402
from kernel.extensions import db  # noqa: E402
from party.assessment import figure_rollups, rollups  # noqa: E402
from party.assessment.models import PartyStatsDaily, PartyStatsFigure  # noqa: E402
from party.lists import needs as needs_service  # noqa: E402
from party.lists.models import Need, NeedKind, NeedStatus, Project, ProjectStatus, Rating, Resource  # noqa: E402
from party.members import service as members_service  # noqa: E402
from party.members.models import PartyMember  # noqa: E402
from party.orgs.models import PartyOrg  # noqa: E402
from party.points import service as points_service  # noqa: E402
from party.points.models import PointEntry  # noqa: E402
from tasks.categories.service import seed_defaults  # noqa: E402

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
STATUSES = list(NeedStatus)
PROJECT_OF = {
    NeedStatus.IN_PROJECT: ProjectStatus.UNDER_WAY,
    NeedStatus.MET: ProjectStatus.DONE,
}


def seed(count: int, rng: random.Random) -> None:
    seed_defaults()
    needs_service.seed_default_categories()
    points_service.seed_default_rules()
    districts, streets, cells = seed_territory(NOW)
    seed_accounts(NOW, districts, streets, cells, 10)
    paths = {uid: path for uid, path in db.session.execute(select(GridUnit.id, GridUnit.path))}
    communities = sorted({paths[cell].rsplit("/", 2)[0] + "/" for cell in cells})
    by_path = {path: uid for uid, path in paths.items()}
    orgs = []
    for index, path in enumerate(communities, start=1):
        orgs.append({"id": index, "kind": "branch", "name": f"支部{index}", "path": f"/{index}/",
                     "grid_id": by_path[path], "active": True, "created_at": NOW, "updated_at": NOW})  # fmt: skip
    bulk(PartyOrg, orgs)
    members_service.seed_default_classes()
    bulk(PartyMember, [{"id": index, "name": f"党员{index}", "org_id": index, "class_code": "serving", "active": True,
                        "created_at": NOW, "updated_at": NOW} for index in range(1, len(orgs) + 1)])  # fmt: skip
    needs, projects, resources, ratings, entries = [], [], [], [], []
    for nid in range(1, count + 1):
        cell = rng.choice(cells)
        created = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        status = rng.choice(STATUSES)
        met_at = created + timedelta(days=rng.randrange(1, 30)) if status is NeedStatus.MET else None
        needs.append({"id": nid, "kind": NeedKind.WISH if nid % 10 == 0 else NeedKind.NEED, "title": "需求",
                      "description": "说明", "category_code": "other", "grid_id": cell, "grid_path": paths[cell],
                      "priority": "normal", "beneficiaries": 10, "status": status, "met_at": met_at,
                      "due_on": (created + timedelta(days=20)).date(), "created_at": created,
                      "updated_at": created})  # fmt: skip
        if status in PROJECT_OF:
            pid, owner = len(projects) + 1, rng.randrange(1, len(orgs) + 1)
            projects.append({"id": pid, "need_id": nid, "owner_org_id": owner,
                             "grid_path": paths[cell], "title": "项目", "goal": "目标", "status": PROJECT_OF[status],
                             "created_at": created + timedelta(hours=1), "done_at": met_at})  # fmt: skip
            entries.append({"member_id": owner, "org_id": owner, "points": -5 if pid % 10 == 0 else 5,
                            "rule_code": "manual", "source_type": "manual", "occurred_at": created,
                            "created_at": created})  # fmt: skip
            if met_at is not None and nid % 2:
                ratings.append({"need_id": nid, "project_id": pid, "source": "visit" if nid % 5 == 0 else "resident",
                                "rating": rng.randint(1, 5), "created_at": met_at + timedelta(days=1)})  # fmt: skip
        if nid % 10 == 1:
            resources.append({"kind": "volunteers", "description": "资源", "capacity": 40, "unit": "hours",
                              "reserved": rng.choice((0, 10)), "grid_id": cell, "grid_path": paths[cell],
                              "owner_org_id": 1, "active": True, "created_at": created})  # fmt: skip
    for model, rows in ((Need, needs), (Project, projects), (Resource, resources), (Rating, ratings),
                        (PointEntry, entries)):  # fmt: skip
        bulk(model, rows)
    db.session.commit()
    print(f"seeded {len(needs)} needs, {len(projects)} projects, {len(resources)} resources, {len(ratings)} ratings,"
          f" {len(entries)} points entries")  # fmt: skip


def measure(client: Any, headers: dict[str, str], query: str, requests: int) -> tuple[float, float]:
    url = f"/api/v1/party/stats/summary?{query}"
    for _ in range(3):
        assert client.get(url, headers=headers).status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--needs", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    app = make_app(args.database_url)
    with app.app_context():
        upgrade()
        if db.session.scalar(select(Need.id).limit(1)) is None:
            seed(args.needs, random.Random(args.seed))
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
        empty = (select(model.unit_id).limit(1) for model in (PartyStatsDaily, PartyStatsFigure))
        if any(db.session.scalar(stmt) is None for stmt in empty):  # seeded rows, as after an import
            started = time.perf_counter()
            counted, more = rollups.rebuild(), figure_rollups.rebuild()
            db.session.commit()
            print(f"rebuilt the party rollups from {counted} needs, {more} in {time.perf_counter() - started:.1f} s")
        headers = {}
        for who in ("bench.supervisor", "bench.admin"):
            account = db.session.scalars(select(Account).where(Account.username == who)).one()
            headers[who] = {"Authorization": f"Bearer {tokens.open_session(account).access_token}"}
        db.session.commit()
    clock.travel(NOW - datetime.now(UTC))
    client = app.test_client()
    print(f"{args.database_url.split(':')[0]}, {args.needs} needs, load average {os.getloadavg()[0]:.2f}")
    for who, label in (("bench.supervisor", "street"), ("bench.admin", "district")):
        for period, query in (("month", "from=2026-11-01&to=2026-11-30"), ("year", "from=2025-11-21&to=2026-11-20")):
            p50, p99 = measure(client, headers[who], query, args.requests)
            print(f"summary {label:8} {period:5}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")


if __name__ == "__main__":
    main()
