"""the working-day calendar (holidays 休 and make-up working days 班, seeded from chinesecalendar), SLAs in working
time on categories, which clocks of a ticket count working time, and 退单审核 (a return reviewed: the ticket's
request and counts, the rollups' `returns`, `returns_refused` and `return_review`)

Revision ID: 0020_working_days
Revises: 0019_sms_intake
Create Date: 2026-12-06 12:00:00.000000

"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020_working_days"
down_revision = "0019_sms_intake"
branch_labels = None
depends_on = None

# Returns are counted from this version on: earlier (direct) returns stay uncounted, in the tickets and the rollups
# alike, so the incremental rollups and a rebuild agree.
COUNTER_TABLES = ('stats_daily', 'stats_worker_daily', 'stats_worker_monthly')
COUNTERS = ('returns', 'returns_refused', 'return_review', 'extended', 'suspended', 'suspended_seconds')

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def upgrade():
    years = op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    days = op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["year"], ["calendar_years.year"], name=op.f("fk_calendar_days_year_calendar_years")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_days_year"), ["year"], unique=False)
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accept_working_hours", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolve_working_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("suspend_needs_approval", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accept_in_working_time", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("resolve_in_working_time", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("calendar_missing", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("returned_from", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("return_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("return_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("returns_refused", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("extension_requested_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extension_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extension_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("suspend_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suspended_seconds", sa.Integer(), server_default="0", nullable=False))
    for table in COUNTER_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in COUNTERS:
                kind = sa.BigInteger() if name == "suspended_seconds" else sa.Integer()
                batch_op.add_column(sa.Column(name, kind, server_default="0", nullable=False))
    _seed(years, days)


def _seed(years, days):
    """The years the pinned chinesecalendar knows, as exceptions to Monday–Friday (`flask calendar seed` adds the
    years a newer package knows)."""
    from chinese_calendar import constants

    rows = {}
    for day, name in constants.holidays.items():
        if day.weekday() < 5:
            rows[day] = ("rest", name)
    for day, name in constants.workdays.items():
        if day.weekday() >= 5:
            rows[day] = ("work", name)
    now = datetime.now(timezone.utc)
    known = sorted({day.year for day in rows})
    op.bulk_insert(years, [{"year": year, "source": "chinesecalendar", "updated_at": now} for year in known])
    op.bulk_insert(
        days,
        [
            {"day": day, "year": day.year, "kind": kind, "name": HOLIDAY_NAMES.get(str(name), str(name))[:32]}
            for day, (kind, name) in sorted(rows.items())
        ],
    )


def downgrade():
    for table in COUNTER_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(COUNTERS):
                batch_op.drop_column(name)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("suspended_seconds")
        batch_op.drop_column("suspended_until")
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("suspend_reason")
        batch_op.drop_column("extension_count")
        batch_op.drop_column("extension_requested_at")
        batch_op.drop_column("extension_requested_until")
        batch_op.drop_column("returns_refused")
        batch_op.drop_column("return_count")
        batch_op.drop_column("return_requested_at")
        batch_op.drop_column("returned_from")
        batch_op.drop_column("calendar_missing")
        batch_op.drop_column("resolve_in_working_time")
        batch_op.drop_column("accept_in_working_time")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("suspend_needs_approval")
        batch_op.drop_column("resolve_working_days")
        batch_op.drop_column("accept_working_hours")
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_days_year"))
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
