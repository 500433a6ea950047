"""the daily rollups partitioned by month on PostgreSQL (issue 28): stats_daily and stats_worker_daily
range-partitioned by their Beijing `day`, so a month's rebuild deletes and sums one partition instead of scanning
the whole tables (12 and 10 GB at 10M tickets); SQLite keeps plain tables

Revision ID: 0029_rollup_partitions
Revises: 0028_grid_outlines
Create Date: 2026-12-07 02:00:00.000000

Each table is rebuilt as 0023_partitions rebuilt ticket_events: the plain one renamed aside, the partitioned one
created like it (its primary key already holds `day`, so the upserts' ON CONFLICT keeps its target), a partition
`<table>_pYYYYMM` for every month from the oldest row's or the oldest ticket's (a rebuild writes those) to three
months ahead, and a default partition; the rows moved, the old table dropped. `flask partitions ensure` creates
the months after that (kernel.partitions). Downgrade rebuilds plain tables. Neither table has other indexes or
foreign keys (0027 dropped them).
"""

from datetime import UTC, date, datetime, timedelta, timezone

from alembic import op
from sqlalchemy import text

# revision identifiers, used by Alembic.
revision = "0029_rollup_partitions"
down_revision = "0028_grid_outlines"
branch_labels = None
depends_on = None

TABLES = {
    "stats_daily": "unit_id, day, category_code, channel",
    "stats_worker_daily": "unit_id, day, category_code, account_id",
}
MONTHS_AHEAD = 3
BEIJING = timezone(timedelta(hours=8))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, key in TABLES.items():
            _rebuild(table, key, partitioned=True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, key in TABLES.items():
            _rebuild(table, key, partitioned=False)


def _rebuild(table, key, partitioned):
    bind = op.get_bind()
    old = f"{table}_{'plain' if partitioned else 'partitioned'}"
    op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    if partitioned:
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (day)")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
        for month in _months(bind, old):
            following = _add_months(month, 1)
            op.execute(
                f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
            )
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")  # noqa: S608 (names from TABLES)
    else:
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
        # Rows first, then the key (faster than keeping the index up row by row).
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")  # noqa: S608
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
    op.execute(f"DROP TABLE {old}")  # with its partitions, when it had them
    op.execute(f"ANALYZE {table}")


def _months(bind, table):
    """Every month from the oldest of the table's days and the tickets' (a rebuild writes those) to MONTHS_AHEAD
    after the newest or this one, whichever is later."""
    oldest, newest = bind.execute(text(f"SELECT min(day), max(day) FROM {table}")).one()  # noqa: S608
    received = bind.execute(text("SELECT min(created_at), max(created_at) FROM tickets")).one()
    today = datetime.now(UTC).astimezone(BEIJING).date()
    days = [day for day in (oldest, newest, today) if day is not None]
    days += [moment.astimezone(BEIJING).date() for moment in received if moment is not None]
    first = min(days).replace(day=1)
    last = _add_months(max(days).replace(day=1), MONTHS_AHEAD)
    months = []
    while first <= last:
        months.append(first)
        first = _add_months(first, 1)
    return months


def _add_months(month, months):
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
