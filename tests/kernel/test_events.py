"""Domain events: who hears a ticket change, in what order, and that what they write lives or dies with it."""

from typing import Any

import pytest

from auth import service as accounts
from dashboards.rollups import incremental
from grid.events import UnitRemoving
from kernel.events import EventBus, bus_of
from notifications.outbox import service as outbox
from notifications.webhooks import service as webhooks
from party.activities.events import AttendanceChanged
from party.checkins import records as service_records
from party.lists import ratings as lists_ratings
from party.points import service as points
from tasks.tickets.events import TicketChanged, TicketsMerging
from tests.support.http import assert_error


def test_each_event_is_heard_by_its_handlers_in_the_documented_order(app):
    bus = bus_of(app)
    assert bus.handlers_of(TicketChanged) == (
        incremental.count_ticket_change,
        webhooks.owe_for_ticket_change,
        outbox.owe_for_ticket_change,
        points.on_ticket_changed,
        service_records.on_ticket_changed,
        lists_ratings.on_ticket_changed,
    )
    assert bus.handlers_of(AttendanceChanged) == (points.on_attendance_changed, service_records.on_attendance_changed)
    assert bus.handlers_of(TicketsMerging) == (webhooks.owe_for_merge, outbox.owe_for_merge)
    assert bus.handlers_of(UnitRemoving) == (accounts.hold_unit_with_accounts,)


def test_handlers_run_in_subscription_order_and_an_unheard_event_is_a_no_op():
    bus, heard = EventBus(), []
    bus.subscribe(str, lambda event: heard.append(("first", event)))
    bus.subscribe(str, lambda event: heard.append(("second", event)))
    bus.publish("changed")
    bus.publish(42)  # nobody subscribed to int
    assert heard == [("first", "changed"), ("second", "changed")]


def _notifications(world: Any) -> int:
    response = world.client.get("/api/v1/notifications", query_string={"limit": 100}, headers=world.headers["admin"])
    assert response.status_code == 200
    return len(response.get_json()["items"])


def _events(world: Any, ticket_id: str) -> list[str]:
    response = world.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=world.headers["admin"])
    assert response.status_code == 200
    return [event["action"] for event in response.get_json()["items"]]


@pytest.fixture
def failing_last_handler(app, monkeypatch) -> None:
    """A handler of ticket changes, subscribed after the others, that fails on an urge."""

    def fail(change: TicketChanged) -> None:
        if change.action == "urge":
            raise RuntimeError("the last handler of the urge failed")

    bus = bus_of(app)
    handlers = {**bus._handlers, TicketChanged: [*bus._handlers[TicketChanged], fail]}
    monkeypatch.setattr(bus, "_handlers", handlers)


def test_a_failing_handler_leaves_the_action_its_event_and_the_owed_messages_unwritten(world, failing_last_handler):
    ticket = world.in_progress()
    before = world.get("admin", ticket).get_json()
    events, owed = _events(world, ticket["id"]), _notifications(world)

    response = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/urge", json={"note": "请尽快处理"}, headers=world.headers["supervisor"]
    )

    assert_error(response, 500, "internal_error")
    after = world.get("admin", ticket).get_json()
    assert (after["urge_count"], after["updated_at"]) == (before["urge_count"], before["updated_at"])
    assert _events(world, ticket["id"]) == events
    assert _notifications(world) == owed
