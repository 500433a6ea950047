"""A district at scale for the dashboards: N tickets, 10,000 cells, 2,000 workers, reproducible with `--seed`.

Run: `.venv/bin/python bench/seed_scale.py --database-url sqlite:////tmp/district.db --tickets 1000000 [--seed 7]`
(a PostgreSQL URL works too; the database must exist and be empty). Migrates, then fills it with SQLAlchemy Core
`insert()` executemany in chunks, then runs `stats rebuild` (dashboards.rollups.rebuild, set-based SQL) in
process, then ANALYZE (VACUUM ANALYZE on PostgreSQL). A million tickets take 3-4 min to write and 1.5-2 min to
roll up on either engine (2 cores, see README "Dashboards and ledgers"): COPY was not needed on PostgreSQL.
The district:

- one district › 10 streets › 10 communities each › 100 cells each (10,000 cells), paths as the app writes them,
  each cell a 0.001-degree square boundary (the heat map's polygons);
- the default categories; an admin `bench.admin`, a supervisor per street (`bench.supervisor` covers street 1),
  2,000 workers with 5 cells each; every account shares one argon2 hash (password `bench-password-123`);
- `--tickets` tickets received uniformly over the last `--days` days, in random cells, categories and channels;
  the ones of the last 30 days spread over every status (about 3 % of all tickets are open), older ones closed
  (97 %) or cancelled; each step (dispatch, acceptance, resolution, closing) minutes to days after the one before,
  about 10 % resolved late, half of the closed ones rated (mostly 4–5); one `create` event per ticket.
No resident requests or other events are written: the dashboards do not read them.

A city (issue 28): `--districts 10 --workers 20000 --tickets 10000000 --days 1095` on PostgreSQL puts ten such
districts (codes BD00..BD09) under a city unit (100,000 cells), a supervisor per district besides those of the
streets (`bench.district` covers district 1), and writes the tickets, their `create` events and ratings with
COPY (`copy_tickets`), a batch of about 10,000 tickets at a time, each committed, into the monthly partitions
of migration 0024 (created first for the whole span). Over three years, the last 30 days are about 3 % of the
tickets, so about 0.3 % are open.
"""

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from auth.models import Account  # noqa: E402
from auth.passwords import hash_password  # noqa: E402
from bootstrap import create_app  # noqa: E402
from dashboards.rollups.rebuild import rebuild  # noqa: E402
from grid import geometry  # noqa: E402
from grid.models import CellAssignment, GridLevel, GridUnit  # noqa: E402
from grid.outlines import redraw_all  # noqa: E402
from kernel import partitions  # noqa: E402
from kernel.extensions import db  # noqa: E402
from kernel.principals import Role  # noqa: E402
from tasks.categories.models import Category  # noqa: E402
from tasks.categories.service import seed_defaults  # noqa: E402
from tasks.lifecycle import Status  # noqa: E402
from tasks.tickets.models import Feedback, Ticket, TicketEvent, TicketNumberDay  # noqa: E402

PASSWORD = "bench-password-123"
STREETS, COMMUNITIES, CELLS = 10, 10, 100  # per parent: 10 x 10 x 100 = 10,000 cells
CHUNK = 10_000
CHANNELS = ("app", "hotline", "sms", "walk_in", "patrol", "web")
BEIJING_OFFSET = timedelta(hours=8)


def make_app(url: str) -> Any:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "JWT_SECRET_KEY": "bench-jwt-key-not-for-production-0123456789abc",
            "LOG_LEVEL": "WARNING",
        }
    )


def bulk(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start : start + CHUNK])


def seed_territory(now: datetime, districts: int = 1) -> tuple[list[int], list[int], list[int]]:
    """The units; returns the district, street and cell ids. More than one district hangs them under a city."""
    units: list[dict[str, Any]] = []
    next_id = iter(range(1, 1_000_000))

    def unit(level: GridLevel, code: str, name: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        uid = next(next_id)
        row = {
            "id": uid,
            "code": code,
            "name": name,
            "level": level,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{uid}/",
            "active": True,
            "boundary": None,
            "created_at": now,
            "updated_at": now,
        }
        units.append(row)
        return row

    city = unit(GridLevel.CITY, "BC", "基准市", None) if districts > 1 else None
    district_ids, streets, cells = [], [], []
    for d in range(districts):
        # The district of the one-district bench keeps its codes and names (BD..., 第1街道...).
        code, label = ("BD", "") if city is None else (f"BD{d:02d}", f"{d + 1}区")
        district = unit(GridLevel.DISTRICT, code, f"基准区{label}", city)
        district_ids.append(district["id"])
        for s in range(STREETS):
            street = unit(GridLevel.STREET, f"{code}{s:02d}", f"{label}第{s + 1}街道", district)
            streets.append(street["id"])
            for c in range(COMMUNITIES):
                community = unit(GridLevel.COMMUNITY, f"{code}{s:02d}{c:02d}", f"{label}第{s + 1}街道第{c + 1}社区",
                                 street)  # fmt: skip
                for g in range(CELLS):
                    cell = unit(GridLevel.GRID, f"{code}{s:02d}{c:02d}{g:03d}", f"{label}网格{s + 1}-{c + 1}-{g + 1}",
                                community)  # fmt: skip
                    cell["boundary"] = _square(len(cells))
                    cells.append(cell["id"])
    bulk(GridUnit, units)
    return district_ids, streets, cells


def _square(index: int) -> str:
    """Cell `index` of a checkerboard 100 squares wide of 0.001-degree squares (about 100 m) in Nanyang, as stored."""
    west, south = 112.5 + (index % 100) * 0.001, 33.0 + (index // 100) * 0.001
    ring = [[west, south], [west + 0.001, south], [west + 0.001, south + 0.001], [west, south + 0.001], [west, south]]
    return geometry.dump({"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]})


def seed_accounts(now: datetime, districts: list[int], streets: list[int], cells: list[int], workers: int) -> list[int]:
    """Admin, supervisors, workers (5 cells each, in order); returns the worker of each cell (by index).

    A city has a supervisor per district too: `bench.district` covers district 1."""
    hashed = hash_password(PASSWORD)
    base = {"password_hash": hashed, "active": True, "created_at": now, "updated_at": now}
    rows = [{"id": 1, "username": "bench.admin", "display_name": "管理员", "role": Role.ADMIN, **base}]
    for index, street in enumerate(streets):
        name = "bench.supervisor" if index == 0 else f"bench.supervisor{index + 1}"
        rows.append({"id": 2 + index, "username": name, "display_name": f"街道督办{index + 1}", "role": Role.SUPERVISOR,
                     "scope_grid_id": street, **base})  # fmt: skip
    if len(districts) > 1:
        for index, district in enumerate(districts):
            rows.append({"id": len(rows) + 1, "username": f"bench.district{index + 1 if index else ''}",
                         "display_name": f"区督办{index + 1}", "role": Role.SUPERVISOR, "scope_grid_id": district,
                         **base})  # fmt: skip
    first_worker = len(rows) + 1
    for w in range(workers):
        rows.append({"id": first_worker + w, "username": f"bench.worker{w + 1}", "display_name": f"网格员{w + 1}",
                     "role": Role.WORKER, **base})  # fmt: skip
    bulk(Account, rows)
    per_worker = max(1, len(cells) // workers)
    owners, assignments = [], []
    for index, cell in enumerate(cells):
        worker = first_worker + min(index // per_worker, workers - 1)
        owners.append(worker)
        assignments.append({"account_id": worker, "grid_id": cell, "created_at": now})
    bulk(CellAssignment, assignments)
    return owners


def seed_tickets(now: datetime, cells: list[int], owners: list[int], count: int, days: int, rng: random.Random) -> None:
    categories = [
        (c.code, c.accept_minutes, c.resolve_hours) for c in db.session.query(Category).all() if c.parent_code
    ]
    created = sorted(now - timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(count))
    day_counters: dict[str, int] = {}
    tickets: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for ticket_id, received in enumerate(created, start=1):
        cell_index = rng.randrange(len(cells))
        cell, worker = cells[cell_index], owners[cell_index]
        code, accept_minutes, resolve_hours = rng.choice(categories)
        day = (received + BEIJING_OFFSET).strftime("%Y%m%d")
        day_counters[day] = day_counters.get(day, 0) + 1
        row = _ticket(ticket_id, received, now, cell, worker, code, accept_minutes, resolve_hours, rng)
        row["no"] = f"{day}-{day_counters[day]:06d}"
        tickets.append(row)
        events.append({"id": ticket_id, "ticket_id": ticket_id, "action": "create", "to_status": Status.PENDING,
                       "prior_grid_id": cell, "photo_ids": [], "created_at": received,
                       "details": {"channel": rng.choice(CHANNELS)}})  # fmt: skip
        if row["status"] is Status.CLOSED and rng.random() < 0.5:
            rating = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 8, 4, 3])[0]
            feedback.append({"ticket_id": ticket_id, "resolution_round": 1, "rating": rating, "channel": "sms",
                             "created_at": row["closed_at"]})  # fmt: skip
        if len(tickets) >= CHUNK:
            _flush(tickets, events, feedback)
    _flush(tickets, events, feedback)
    bulk(TicketNumberDay, [{"day": day, "last": last} for day, last in day_counters.items()])


def _flush(tickets: list[dict[str, Any]], events: list[dict[str, Any]], feedback: list[dict[str, Any]]) -> None:
    for model, rows in ((Ticket, tickets), (TicketEvent, events), (Feedback, feedback)):
        if rows:
            db.session.execute(insert(model), rows)
            rows.clear()


TICKET_COLUMNS = (
    "id", "no", "status", "priority", "category_code", "grid_id", "origin_grid_id", "description",
    "volunteer_claimable", "resolve_started_at", "resolve_due_at", "warn_at", "due_at", "urge_count", "reopen_count",
    "resolution_round", "created_at", "updated_at", "version", "reporter_name", "reporter_phone", "cancelled_at",
    "assignee_id", "dispatched_at", "accept_due_at", "accepted_at", "resolved_at", "handler_id", "closed_at",
)  # fmt: skip
EVENT_COLUMNS = ("id", "ticket_id", "action", "to_status", "prior_grid_id", "photo_ids", "created_at", "details")
FEEDBACK_COLUMNS = ("ticket_id", "resolution_round", "rating", "channel", "created_at")


def copy_tickets(now: datetime, cells: list[int], owners: list[int], count: int, days: int, rng: random.Random) -> None:
    """`seed_tickets` for PostgreSQL at city scale: the same rows, written with COPY about 10,000 at a time.

    Tickets are drawn window by window (24-hour windows ending at `now`), sorted within each, so no list of all
    the times is held; the rows go through psycopg 3's `cursor.copy` (`write_row`, adapted in C), each batch
    committed (a seed that stops half-way leaves a partial city: recreate the database)."""
    categories = [
        (c.code, c.accept_minutes, c.resolve_hours) for c in db.session.query(Category).all() if c.parent_code
    ]
    start = now - timedelta(days=days)
    _partitions_from(start)
    day_counters: dict[str, int] = {}
    ticket_id = 0
    batches: dict[str, list[tuple[Any, ...]]] = {"tickets": [], "ticket_events": [], "ticket_feedback": []}
    for window in range(days):
        share = count * (window + 1) // days - count * window // days
        opening = start + timedelta(days=window)
        for received in sorted(opening + timedelta(seconds=rng.uniform(0, 86400)) for _ in range(share)):
            ticket_id += 1
            cell_index = rng.randrange(len(cells))
            cell, worker = cells[cell_index], owners[cell_index]
            code, accept_minutes, resolve_hours = rng.choice(categories)
            day = (received + BEIJING_OFFSET).strftime("%Y%m%d")
            day_counters[day] = day_counters.get(day, 0) + 1
            row = _ticket(ticket_id, received, now, cell, worker, code, accept_minutes, resolve_hours, rng)
            row["no"] = f"{day}-{day_counters[day]:06d}"
            row["status"] = row["status"].value
            batches["tickets"].append(tuple([row.get(column) for column in TICKET_COLUMNS]))
            details = f'{{"channel": "{rng.choice(CHANNELS)}"}}'
            batches["ticket_events"].append((ticket_id, ticket_id, "create", "pending", cell, "[]", received, details))
            if row["status"] == "closed" and rng.random() < 0.5:
                rating = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 8, 4, 3])[0]
                batches["ticket_feedback"].append((ticket_id, 1, rating, "sms", row["closed_at"]))
        if len(batches["tickets"]) >= CHUNK or window == days - 1:
            _copy_out(batches)
        if window % 30 == 29:
            print(f"  {ticket_id} tickets copied", flush=True)
    bulk(TicketNumberDay, [{"day": day, "last": last} for day, last in day_counters.items()])


def _partitions_from(start: datetime) -> None:
    """The monthly partitions (PostgreSQL, migration 0024) from `start` to three months after today."""
    first, today = start.date().replace(day=1), datetime.now(UTC).date()
    months = (today.year - first.year) * 12 + today.month - first.month
    partitions.ensure(db.session.connection(), first, months + 3)
    db.session.commit()


def _copy_out(batches: dict[str, list[tuple[Any, ...]]]) -> None:
    """COPY each table's batch and commit."""
    columns = {"tickets": TICKET_COLUMNS, "ticket_events": EVENT_COLUMNS, "ticket_feedback": FEEDBACK_COLUMNS}
    connection = db.session.connection()
    connection.execute(text("SET LOCAL statement_timeout = 0"))  # a batch on a loaded machine outlasts the app's 30 s
    cursor = connection.connection.driver_connection.cursor()
    for table, rows in batches.items():
        if rows:
            with cursor.copy(f"COPY {table} ({', '.join(columns[table])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            rows.clear()
    db.session.commit()


def reset_sequences() -> None:
    """After rows written with their own ids, each PostgreSQL id sequence goes on from the largest."""
    for table in ("grid_units", "accounts", "tickets", "ticket_events", "ticket_feedback"):
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))")
        )


def _ticket(tid: int, received: datetime, now: datetime, cell: int, worker: int, code: str, accept_minutes: int,
            resolve_hours: int, rng: random.Random) -> dict[str, Any]:  # fmt: skip
    """One ticket's row: each step minutes to days after the last; a step that would come after now has not."""
    resolve_due = received + timedelta(hours=resolve_hours)
    row: dict[str, Any] = {
        "id": tid, "status": Status.PENDING, "priority": "normal", "category_code": code, "grid_id": cell,
        "origin_grid_id": cell, "description": "基准工单", "volunteer_claimable": False, "resolve_started_at": received,
        "resolve_due_at": resolve_due, "warn_at": received + (resolve_due - received) * 0.8, "due_at": resolve_due,
        "urge_count": 0, "reopen_count": 0, "resolution_round": 0, "created_at": received, "updated_at": received,
        "version": 1, "reporter_name": "居民", "reporter_phone": f"139{rng.randrange(10**8):08d}",
    }  # fmt: skip
    if rng.random() < 0.03:
        row.update(status=Status.CANCELLED, cancelled_at=received + timedelta(minutes=30), warn_at=None, due_at=None)
        return row
    dispatched = received + timedelta(minutes=rng.uniform(1, 120))
    if dispatched > now:
        return row
    accept_due = dispatched + timedelta(minutes=accept_minutes)
    row.update(status=Status.ASSIGNED, assignee_id=worker, dispatched_at=dispatched, accept_due_at=accept_due,
               warn_at=dispatched + (accept_due - dispatched) * 0.8, due_at=accept_due)  # fmt: skip
    accepted = dispatched + timedelta(minutes=rng.uniform(1, accept_minutes * 1.3))
    if accepted > now:
        return row
    row.update(status=Status.IN_PROGRESS, accepted_at=accepted, warn_at=received + (resolve_due - received) * 0.8,
               due_at=resolve_due)  # fmt: skip
    resolved = accepted + timedelta(hours=rng.uniform(0.5, resolve_hours * 1.1))
    if resolved > now:
        return row
    row.update(status=Status.RESOLVED, resolved_at=resolved, handler_id=worker, resolution_round=1, warn_at=None,
               due_at=None)  # fmt: skip
    closed = resolved + timedelta(hours=rng.uniform(1, 72))
    if closed > now:
        return row
    row.update(status=Status.CLOSED, closed_at=closed, updated_at=closed)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--districts", type=int, default=1, help="more than 1: a city of districts (PostgreSQL COPY)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    app = make_app(args.database_url)
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # fixed, so a seed gives the same district on any day
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed_defaults()
        districts, streets, cells = seed_territory(now, args.districts)
        redraw_all(db.session.connection())
        owners = seed_accounts(now, districts, streets, cells, args.workers)
        if args.districts > 1:
            copy_tickets(now, cells, owners, args.tickets, args.days, rng)
        else:
            seed_tickets(now, cells, owners, args.tickets, args.days, rng)
        if db.engine.dialect.name == "postgresql":
            reset_sequences()
        db.session.commit()
        seeded = time.perf_counter()
        print(f"seeded {len(cells)} cells, {args.workers} workers, {args.tickets} tickets in {seeded - started:.1f} s")
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            if done % 100_000 < n:
                print(f"  rollups: {done} tickets", flush=True)

        rebuild(progress=progress)
        db.session.commit()
        rebuilt = time.perf_counter()
        print(f"stats rebuild: {rebuilt - seeded:.1f} s")
        # Planner statistics and (PostgreSQL) the visibility map, as autovacuum or PRAGMA optimize would.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(text("SET statement_timeout = 0"))
            connection.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
        print(f"analyze: {time.perf_counter() - rebuilt:.1f} s")


if __name__ == "__main__":
    main()
