"""Monthly partitions (PostgreSQL): rows land in their month, `partitions ensure` creates months ahead and
adopts rows the default partition caught, `partitions drop-older-than` drops whole months. SQLite has plain tables.

Run on PostgreSQL with `TEST_DATABASE_URL=postgresql+psycopg://...`; the rest of the suite on PostgreSQL checks
the app behaves the same on the partitioned tables.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from kernel import clock
from kernel.extensions import db
from kernel.partitions import PARTITIONED, Partition, add_months, existing
from tests.support.partitions import as_migrated
from tests.support.workforce import LAT, LNG, build_staff, iso


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


def this_month(offset: int = 0) -> date:
    return add_months(clock.utcnow().date().replace(day=1), offset)


def partitions_holding(app, table: str, column: str, value: object) -> set[str]:
    with app.app_context():
        found = db.session.execute(
            text(f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE {column} = :v"),  # noqa: S608
            {"v": value},
        )
        return set(found.scalars())


def months_of(app, table: str) -> list[date]:
    with app.app_context():
        return [partition.month for partition in existing(db.session.connection(), table)]


def test_a_tickets_events_and_messages_land_in_this_months_partition(app, postgres, world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    ticket_id = int(ticket["id"])
    assert partitions_holding(app, "ticket_events", "ticket_id", ticket_id) == {
        Partition("ticket_events", this_month()).name
    }
    # The dispatch owed the worker an inbox message (and the resident an SMS, if any).
    assert partitions_holding(app, "notifications", "ticket_id", ticket_id) == {
        Partition("notifications", this_month()).name
    }


def test_a_workers_ping_lands_in_the_month_it_was_recorded(app, client, auth, tree, make_account, postgres):
    staff = build_staff(app, tree, make_account)
    recorded = clock.utcnow() - timedelta(minutes=5)
    ping = {"lat": LAT, "lng": LNG, "recorded_at": iso(recorded)}
    response = client.post("/api/v1/workers/me/location", json={"pings": [ping]}, headers=auth(staff.worker))
    assert response.json["accepted"] == 1, response.json
    month = date(recorded.year, recorded.month, 1)
    assert partitions_holding(app, "position_pings", "worker_id", int(staff.worker_id)) == {
        Partition("position_pings", month).name
    }


def test_ensure_creates_the_months_ahead_once(app, postgres):
    first = run(app, "ensure", "--months-ahead", "5")
    for table in PARTITIONED:
        assert Partition(table, this_month(5)).name in first
        assert set(months_of(app, table)) >= {this_month(ahead) for ahead in range(6)}
    assert "created 0 partitions" in run(app, "ensure", "--months-ahead", "5")


def test_a_row_of_a_month_without_partition_waits_in_the_default_one_until_ensure(app, postgres, world, client):
    clock.travel(timedelta(days=200))  # past the months the migration created
    ticket = world.ticket()
    ticket_id = int(ticket["id"])
    assert partitions_holding(app, "ticket_events", "ticket_id", ticket_id) == {"ticket_events_default"}

    assert Partition("ticket_events", this_month()).name in run(app, "ensure", "--months-ahead", "0")

    assert partitions_holding(app, "ticket_events", "ticket_id", ticket_id) == {
        Partition("ticket_events", this_month()).name
    }
    history = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=world.headers["supervisor"])
    assert [event["action"] for event in history.json["items"]] == ["create"]


def test_retention_drops_whole_months_and_keeps_the_tickets(app, postgres, world, client):
    ticket = world.ticket()
    filed_in = this_month()
    clock.travel(timedelta(days=37 * 31))  # 37 months on, and a few days

    output = run(app, "drop-older-than", "--months", "36", "--table", "ticket_events")

    assert Partition("ticket_events", filed_in).name in output
    assert all(month >= add_months(this_month(), -36) for month in months_of(app, "ticket_events"))
    assert filed_in in months_of(app, "notifications")  # not asked for
    history = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["supervisor"])
    assert history.status_code == 200
    assert history.json["items"] == []
    assert world.get("supervisor", ticket).status_code == 200


def test_retention_deletes_old_rows_the_default_partition_caught(app, postgres, world):
    clock.travel(timedelta(days=-3 * 366))  # before any partition: the events go to the default one
    ticket_id = int(world.ticket()["id"])
    assert partitions_holding(app, "ticket_events", "ticket_id", ticket_id) == {"ticket_events_default"}
    clock.travel(timedelta(0))

    run(app, "drop-older-than", "--months", "24", "--table", "ticket_events")

    assert partitions_holding(app, "ticket_events", "ticket_id", ticket_id) == set()


def test_on_sqlite_the_commands_have_nothing_to_do(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("checks SQLite, where the commands have nothing to do")
    assert "nothing to do" in run(app, "ensure")
    assert "nothing to do" in run(app, "drop-older-than", "--months", "36")


def test_partitions_split_at_utc_midnight_of_the_first():
    start, end = Partition("ticket_events", date(2026, 12, 1)).bounds
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert Partition("notifications", date(2027, 3, 1)).name == "notifications_p202703"
