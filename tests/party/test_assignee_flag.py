"""党员亮身份: a ticket's assignee shows `party_member`, read with the assignee's account (no query of its own)."""

import pytest
from sqlalchemy import event

from auth.models import Account
from kernel.extensions import db
from tasks.tickets import views as ticket_views
from tasks.tickets import visibility
from tasks.tickets.models import Ticket
from tasks.tickets.schemas import TicketSchema
from tests.support.party import make_org, register_member


@pytest.fixture
def branch(app, world):
    return make_org(app, "C1党支部", grid=world.tree["C1"])


def assignee_of(world, ticket, who="admin"):
    return world.get(who, ticket["id"]).get_json()["assignee"]


def test_a_volunteer_who_is_a_member_shows_as_one_on_the_ticket_they_claim(app, world, branch):
    register_member(app, branch, "陈志愿者", account=world.accounts["volunteer"])
    ticket = world.ticket(category_code="SERVICE.ELDERLY")
    world.act("volunteer", ticket, "claim")
    assert assignee_of(world, ticket) == {
        "id": world.id_of("volunteer"),
        "display_name": "陈志愿者",
        "role": "volunteer",
        "party_member": True,
    }


def test_an_assignee_without_a_member_record_is_not_shown_as_one(world, branch):
    assert assignee_of(world, world.in_progress())["party_member"] is False


def test_the_flag_follows_the_register_in_a_cached_queue_page(app, world, branch):
    ticket = world.in_progress()
    queue = "/api/v1/tickets?assignee=me"
    assert (
        world.client.get(queue, headers=world.headers["worker"]).get_json()["items"][0]["assignee"]["party_member"]
        is False
    )
    member = register_member(app, branch, "李网格员", account=world.accounts["worker"])
    listed = world.client.get(queue, headers=world.headers["worker"]).get_json()["items"]
    assert [(item["id"], item["assignee"]["party_member"]) for item in listed] == [(ticket["id"], True)]
    left = world.client.patch(
        f"/api/v1/party/members/{member}",
        json={"left_on": "2026-06-30", "active": False},
        headers=world.headers["admin"],
    )
    assert left.status_code == 200, left.get_json()
    listed = world.client.get(queue, headers=world.headers["worker"]).get_json()["items"]
    assert listed[0]["assignee"]["party_member"] is False


def test_reading_the_flag_costs_no_query(app, world, branch):
    """A ticket is read with as many statements once its assignee is a registered member as before."""
    ticket = world.in_progress()

    def statements(ticket):
        count = 0

        def counted(*_args):
            nonlocal count
            count += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counted)
        try:
            assert world.get("admin", ticket["id"]).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return count

    statements(ticket)  # warm the per-process caches
    before = statements(ticket)
    register_member(app, branch, "李网格员", account=world.accounts["worker"])
    assert assignee_of(world, ticket)["party_member"] is True
    assert statements(ticket) == before


def test_the_hand_written_document_agrees_with_the_declared_one_for_a_member_assignee(app, world, branch):
    register_member(app, branch, "李网格员", account=world.accounts["worker"])
    ticket_id = int(world.in_progress()["id"])
    with app.test_request_context():
        viewer = visibility.Viewer.of(db.session.get(Account, world.accounts["admin"].id))
        view = ticket_views.view_of(viewer, db.session.get(Ticket, ticket_id))
        assert TicketSchema().dump(view) == TicketSchema().reference_dump(view)
        assert TicketSchema().dump(view)["assignee"]["party_member"] is True
