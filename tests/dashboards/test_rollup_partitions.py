"""The daily rollups partitioned by month (PostgreSQL, migration 0029): `partitions ensure` creates their months
ahead, a ticket's rows land in its Beijing month's partition (or wait in the default one until `ensure`), and the
dashboards and later changes of the ticket read and update them there. SQLite keeps plain tables.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from kernel import clock
from kernel.extensions import db
from kernel.partitions import ROLLUPS, Partition, add_months
from tests.support.partitions import as_migrated
from tests.support.stats import travel_to


@pytest.fixture
def postgres(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("monthly partitions exist on PostgreSQL only (SQLite keeps plain tables)")
    as_migrated(app)
    yield
    as_migrated(app)  # for the tests that follow in this database


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["partitions", *args])
    assert result.exit_code == 0, result.output
    return result.output


def partitions_holding(app, table: str) -> set[str]:
    with app.app_context():
        found = db.session.execute(text(f"SELECT DISTINCT tableoid::regclass::text FROM {table}"))  # noqa: S608
        return set(found.scalars())


def summary(world, **query):
    response = world.client.get("/api/v1/stats/summary", query_string=query, headers=world.headers["supervisor"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_ensure_creates_the_rollups_months_ahead_with_the_others(app, postgres):
    month = clock.utcnow().date().replace(day=1)
    output = run(app, "ensure", "--months-ahead", "6")
    for table in ROLLUPS:
        assert Partition(table, add_months(month, 6)).name in output
    assert "created 0 partitions" in run(app, "ensure", "--months-ahead", "6")


def test_a_ticket_of_a_month_without_partition_is_counted_and_moves_into_its_month_with_ensure(app, postgres, world):
    # Noon UTC on the 15th, eight months on: past the months the migration made, the same month in Beijing.
    month = add_months(datetime.now(UTC).date().replace(day=1), 8)
    travel_to(datetime(month.year, month.month, 15, 12, 0, tzinfo=UTC))
    this_month = {"from": month.isoformat(), "to": (add_months(month, 1) - timedelta(days=1)).isoformat()}
    ticket = world.ticket()
    assert partitions_holding(app, "stats_daily") == {"stats_daily_default"}
    assert summary(world, **this_month)["received"] == 1

    assert Partition("stats_daily", month).name in run(app, "ensure", "--months-ahead", "0")

    assert partitions_holding(app, "stats_daily") == {Partition("stats_daily", month).name}
    # The next change upserts onto the rows where they now are (ON CONFLICT through the partitioned key).
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    assert partitions_holding(app, "stats_daily") == {Partition("stats_daily", month).name}
    assert partitions_holding(app, "stats_worker_daily") == {Partition("stats_worker_daily", month).name}
    figures = summary(world, **this_month)
    assert (figures["received"], figures["response_rate"]["denominator"]) == (1, 1)


def test_a_ticket_of_this_month_lands_in_this_months_partitions(app, postgres, world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    with app.app_context():
        day = db.session.execute(text("SELECT day FROM stats_ticket_facts")).scalar_one()
    month = day.replace(day=1)
    assert partitions_holding(app, "stats_daily") == {Partition("stats_daily", month).name}
    assert partitions_holding(app, "stats_worker_daily") == {Partition("stats_worker_daily", month).name}
