"""Monthly partitions of the append-mostly tables on PostgreSQL: created ahead, dropped whole by retention.

Migration 0023_partitions made `ticket_events`, `position_pings` and `notifications` range-partitioned by month
on their time column (SQLite keeps plain tables, and every function here does nothing there). Each month is a
partition `<table>_pYYYYMM`; a row whose month has none lands in `<table>_default`. `ensure` creates the months
ahead (run daily from cron, `flask partitions ensure`), moving any rows the default partition holds for a month
into that month's partition first; `drop_older_than` drops the partitions wholly older than a retention period,
which costs nothing like deleting their rows.

Migration 0029_rollup_partitions did the same for the daily rollups, `stats_daily` and `stats_worker_daily`, by
the Beijing `day` (a date) of their rows (`ROLLUPS`): a month's `stats rebuild` deletes and sums one partition.
`ensure` creates their months ahead with the others; retention never drops them (they are the dashboards' history:
a month's figures outlive the events dropped under them).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text

# Table -> the column it is partitioned by (part of its primary key there: (id, column)).
PARTITIONED = {"ticket_events": "created_at", "position_pings": "recorded_at", "notifications": "created_at"}
# Derived tables -> their date column (in their primary key); a month is its days [1st, next 1st).
ROLLUPS = {"stats_daily": "day", "stats_worker_daily": "day"}


@dataclass(frozen=True)
class Partition:
    table: str
    month: date  # its first day

    @property
    def name(self) -> str:
        return f"{self.table}_p{self.month:%Y%m}"

    @property
    def bounds(self) -> tuple[date, date]:
        """[start, end): UTC midnight of the 1st, or for a rollup by day the 1st itself."""
        following = add_months(self.month, 1)
        if self.table in ROLLUPS:
            return self.month, following
        return _utc(self.month), _utc(following)


def is_partition(name: str) -> bool:
    """A partition's table (`<table>_pYYYYMM` or `<table>_default`): the models describe only the parent."""
    for table in (*PARTITIONED, *ROLLUPS):
        suffix = name.removeprefix(f"{table}_")
        if suffix != name and (suffix == "default" or (len(suffix) == 7 and suffix[0] == "p" and suffix[1:].isdigit())):
            return True
    return False


def include_in_autogenerate(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's `include_object`: partitions are not tables of their own to it."""
    return not (type_ == "table" and reflected and name is not None and is_partition(name))


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def is_partitioned(connection: Connection, table: str) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    found = connection.execute(
        text("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = :t"),
        {"t": table},
    )
    return found.first() is not None


def existing(connection: Connection, table: str) -> list[Partition]:
    """The monthly partitions of `table`, oldest first (the default partition is not one)."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t ORDER BY c.relname"
        ),
        {"t": table},
    ).scalars()
    prefix = f"{table}_p"
    return [
        Partition(table, date(int(name[-6:-2]), int(name[-2:]), 1))
        for name in names
        if name.startswith(prefix) and len(name) == len(prefix) + 6 and name[-6:].isdigit()
    ]


def ensure(connection: Connection, today: date, months_ahead: int) -> list[Partition]:
    """Create the partitions from `today`'s month to `months_ahead` months after it; returns those created.

    Idempotent. Rows already in the default partition for a new month move into it (ATTACH checks that the
    default partition keeps none of the month's rows)."""
    created = []
    first = today.replace(day=1)
    for table in (*PARTITIONED, *ROLLUPS):
        if not is_partitioned(connection, table):
            continue
        have = {partition.month for partition in existing(connection, table)}
        for ahead in range(months_ahead + 1):
            partition = Partition(table, add_months(first, ahead))
            if partition.month not in have:
                create(connection, partition)
                created.append(partition)
    return created


def create(connection: Connection, partition: Partition) -> None:
    """Create and attach one month, with whatever rows of it the default partition holds."""
    table, name = partition.table, partition.name
    column = PARTITIONED.get(table) or ROLLUPS[table]
    start, end = partition.bounds
    bounds = {"start": start, "end": end}
    connection.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    # Names from PARTITIONED, never input.
    moved = f"DELETE FROM {table}_default WHERE {column} >= :start AND {column} < :end RETURNING *"  # noqa: S608
    connection.execute(text(f"WITH moved AS ({moved}) INSERT INTO {name} SELECT * FROM moved"), bounds)  # noqa: S608
    # Literal bounds: ATTACH PARTITION takes no parameters.
    values = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    connection.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {values}"))


def drop_older_than(connection: Connection, today: date, months: int, tables: list[str]) -> list[Partition]:
    """Drop the partitions of `tables` whose whole month is more than `months` months before `today`'s month;
    rows that old in the default partition are deleted. Returns the partitions dropped."""
    cutoff = add_months(today.replace(day=1), -months)
    dropped = []
    for table in tables:
        if not is_partitioned(connection, table):
            continue
        for partition in existing(connection, table):
            if partition.month < cutoff:
                connection.execute(text(f"DROP TABLE {partition.name}"))
                dropped.append(partition)
        connection.execute(
            text(f"DELETE FROM {table}_default WHERE {PARTITIONED[table]} < :cutoff"),  # noqa: S608 (names from PARTITIONED)
            {"cutoff": _utc(cutoff)},
        )
    return dropped
