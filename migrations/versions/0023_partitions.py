"""monthly partitions on PostgreSQL: ticket_events, position_pings and notifications range-partitioned by month
(primary keys (id, time), notifications' message_id unique with its time, the SMS tables' references to
notifications kept without a foreign key); SQLite keeps plain tables

Revision ID: 0023_partitions
Revises: 0020_working_days
Create Date: 2026-12-06 14:00:00.000000

Each table is rebuilt: the plain one renamed aside, the partitioned one created like it with a partition for
every month its rows cover up to three months ahead and a default partition, the rows moved, the old table
dropped, then its indexes and foreign keys recreated (after the rows, which is faster). `flask partitions ensure`
creates the months after that (kernel.partitions). Downgrade rebuilds plain tables the same way.
"""

from datetime import date, datetime, timezone

from alembic import op
from sqlalchemy import text


# revision identifiers, used by Alembic.
revision = "0023_partitions"
down_revision = "0022_party_lists"
branch_labels = None
depends_on = None

PARTITIONED = {"ticket_events": "created_at", "position_pings": "recorded_at", "notifications": "created_at"}
# A unique constraint on a partitioned table must hold its partition key.
UNIQUE = {"notifications": ("uq_notifications_message_id", "message_id")}
# A foreign key into a partitioned table needs its whole key: these references keep their column and index only.
INCOMING = (
    ("sms_inbound", "fk_sms_inbound_answer_id_notifications", "answer_id"),
    ("sms_reports", "fk_sms_reports_notification_id_notifications", "notification_id"),
)
MONTHS_AHEAD = 3


def upgrade():
    # Both engines, so the models describe one schema: no foreign keys into notifications, message_id unique
    # with created_at.
    for table, name, _column in INCOMING:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        for table, column in PARTITIONED.items():
            _rebuild(table, column, partitioned=True)
    else:
        _swap_unique(["message_id", "created_at"])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, column in PARTITIONED.items():
            _rebuild(table, column, partitioned=False)
    else:
        _swap_unique(["message_id"])
    for table, name, column in INCOMING:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, "notifications", [column], ["id"])


def _swap_unique(columns):
    name, _column = UNIQUE["notifications"]
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(name, type_="unique")
        batch.create_unique_constraint(name, columns)


def _rebuild(table, column, partitioned):
    bind = op.get_bind()
    old = f"{table}_{'plain' if partitioned else 'partitioned'}"
    key = {"t": table}
    constraint_indexes = "SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u')"
    indexes = bind.execute(
        text(f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN ({constraint_indexes})"),
        key,
    ).all()
    foreign_keys = bind.execute(
        text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"),
        key,
    ).all()
    sequence = bind.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), key).scalar()
    # Out of the way of the new table's names: index and primary key names are schema-wide.
    for name, _definition in indexes:
        op.execute(f"DROP INDEX {name}")
    if table in UNIQUE:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {UNIQUE[table][0]}")
    op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")

    if partitioned:
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({column})")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, {column})")
        for month in _months(bind, old, column):
            _create_partition(table, month)
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    else:
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    if sequence:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old}")  # with its partitions, when it had them

    for _name, definition in indexes:
        op.execute(definition)
    if table in UNIQUE:
        name, unique_column = UNIQUE[table]
        columns = f"{unique_column}, {column}" if partitioned else unique_column
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({columns})")
    for name, definition in foreign_keys:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    op.execute(f"ANALYZE {table}")


def _months(bind, table, column):
    """Every month from the oldest row's to MONTHS_AHEAD after the newest row's or this one, whichever is later."""
    oldest, newest = bind.execute(text(f"SELECT min({column}), max({column}) FROM {table}")).one()
    now = datetime.now(timezone.utc)
    first = _month(oldest or now)
    last = _add_months(_month(max(newest or now, now)), MONTHS_AHEAD)
    months = []
    while first <= last:
        months.append(first)
        first = _add_months(first, 1)
    return months


def _month(moment):
    moment = moment.astimezone(timezone.utc)
    return date(moment.year, moment.month, 1)


def _add_months(month, months):
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _create_partition(table, month):
    """`<table>_pYYYYMM`, as kernel.partitions names and bounds them (UTC midnight of the 1st)."""
    following = _add_months(month, 1)
    op.execute(
        f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{following.isoformat()} 00:00:00+00')"
    )
