"""The hand-written ticket document (`tasks.tickets.schemas.ticket_document`) against the declared TicketSchema.

TicketSchema's fields are the contract (the OpenAPI document comes from them); `TicketSchema.dump` writes the
same document by hand for speed. Here both write tickets in every state, seen by every kind of caller, in
every coordinate system, tombstones included, and must agree to the byte; and what the HTTP API serves is
the declared document.
"""

from dataclasses import fields
from datetime import timedelta

import pytest

from auth.models import Account
from grid.coords import CoordSystem
from grid.schemas import use_output_coord_system
from kernel import clock
from kernel.extensions import db
from tasks.tickets import rows, visibility
from tasks.tickets import views as ticket_views
from tasks.tickets.models import Ticket
from tasks.tickets.schemas import TicketSchema

LNG, LAT = 112.53, 32.99
VIEWERS = ("admin", "supervisor", "far_supervisor", "worker", "other_worker", "volunteer")


@pytest.fixture
def tickets_in_every_state(world, app):
    """Pending with a location, assigned, in progress and urged, resolved, closed and rated, reopened,
    escalated, claimable, merged into another, and overdue."""
    tickets = {"pending": world.ticket(location={"lat": LAT, "lng": LNG, "coord_system": "wgs84"})}
    assigned = world.ticket(reporter={"name": None, "phone": None})
    world.act("supervisor", assigned, "dispatch", assignee_id=world.id_of("worker"))
    tickets["assigned"] = assigned
    urged = world.in_progress()
    world.act("supervisor", urged, "urge", note="居民多次反映")
    tickets["in progress, urged"] = urged
    tickets["resolved"] = world.resolved()
    closed = world.resolved()
    world.act("supervisor", closed, "feedback", rating=5, channel="visit")
    tickets["closed"] = closed
    reopened = world.resolved()
    world.act("supervisor", reopened, "feedback", rating=1, comment="没有处理干净", channel="visit")
    tickets["reopened"] = reopened
    escalated = world.in_progress()
    world.act("worker", escalated, "escalate", reason="需要社区协调")
    tickets["escalated"] = escalated
    tickets["claimable"] = world.ticket(category_code="SERVICE.ELDERLY")
    survivor, duplicate = world.ticket(), world.ticket()
    world.act("supervisor", duplicate, "cancel", reason="重复工单", merged_into=survivor["id"])
    tickets["merged"] = duplicate
    clock.travel(timedelta(days=3))  # the open ones are now warned or overdue
    yield {name: int(ticket["id"]) for name, ticket in tickets.items()}
    clock.travel(timedelta(0))


def test_the_hand_written_document_is_the_declared_one(app, world, tickets_in_every_state):
    schema = TicketSchema()
    compared = 0
    with app.test_request_context():
        for who in VIEWERS:
            viewer = visibility.Viewer.of(db.session.get(Account, world.accounts[who].id))
            for name, ticket_id in tickets_in_every_state.items():
                ticket = db.session.get(Ticket, ticket_id)
                views = [ticket_views.view_of(viewer, ticket), ticket_views._tombstone(ticket)]
                for system in CoordSystem:
                    use_output_coord_system(system)
                    for view in views:
                        assert schema.dump(view) == schema.reference_dump(view), (who, name, system)
                        assert app.json.dumps(schema.dump(view)) == app.json.dumps(schema.reference_dump(view))
                        compared += 1
                    assert schema.dump(views, many=True) == schema.reference_dump(views, many=True)
    assert compared == len(VIEWERS) * len(tickets_in_every_state) * len(CoordSystem) * 2


def test_a_ticket_read_as_a_row_is_the_ticket_loaded_as_an_entity(app, world, tickets_in_every_state):
    """One ticket's GET and the rendering of list pages read plain rows (`tasks.tickets.rows`), not entities: the
    same visibility, the same document and the same moments of change, for every viewer and state."""
    schema = TicketSchema()
    seen = set()
    with app.test_request_context():
        now = clock.utcnow()
        listed = {row.id: row for row in rows.ticket_rows(list(tickets_in_every_state.values()))}
        assert set(listed) == set(tickets_in_every_state.values())
        for who in VIEWERS:
            viewer = visibility.Viewer.of(db.session.get(Account, world.accounts[who].id))
            for name, ticket_id in tickets_in_every_state.items():
                ticket, row = db.session.get(Ticket, ticket_id), rows.find_ticket_row(ticket_id)
                assert visibility.can_see(viewer, row) == visibility.can_see(viewer, ticket), (who, name)
                seen.add(visibility.can_see(viewer, row))
                assert ticket_views.view_changes_at(row, now) == ticket_views.view_changes_at(ticket, now)
                for system in CoordSystem:
                    use_output_coord_system(system)
                    expected = schema.reference_dump(ticket_views.view_of(viewer, ticket, now))
                    assert schema.dump(ticket_views.view_of(viewer, row, now)) == expected, (who, name, system)
                    assert schema.dump(ticket_views.view_of(viewer, listed[ticket_id], now)) == expected
        assert rows.find_ticket_row(max(tickets_in_every_state.values()) + 100) is None
    assert seen == {True, False}


def test_a_ticket_read_to_change_is_the_ticket_the_orm_loads(app, world, tickets_in_every_state):
    """Actions read their ticket by one compiled select into an entity of the session (`rows.find_ticket_to_change`),
    its related rows plain: the same columns, units, category rules and assignee as the ORM's load, unchanged, and
    the same document for every viewer."""
    schema = TicketSchema()
    with app.test_request_context():
        now = clock.utcnow()
        for name, ticket_id in tickets_in_every_state.items():
            db.session.expunge_all()
            loaded = db.session.get(Ticket, ticket_id)  # the ORM's load, its relations joined
            db.session.expunge_all()
            built = rows.find_ticket_to_change(ticket_id)
            assert built in db.session and not db.session.is_modified(built), name
            for column in Ticket.__table__.columns:
                assert getattr(built, column.key) == getattr(loaded, column.key), (name, column.key)
            for unit in ("grid", "first_unit"):
                for field in ("id", "code", "name", "level", "parent_id", "path"):
                    assert getattr(getattr(built, unit), field) == getattr(getattr(loaded, unit), field), (name, unit)
                assert getattr(built, unit).ancestor_ids() == getattr(loaded, unit).ancestor_ids()
            for field in (rule.name for rule in fields(rows.CategoryRules)):
                assert getattr(built.category, field) == getattr(loaded.category, field), (name, field)
            assert (built.assignee is None) == (loaded.assignee is None), name
            if loaded.assignee is not None:
                for field in ("id", "display_name", "role", "party_member"):
                    assert getattr(built.assignee, field) == getattr(loaded.assignee, field), (name, field)
            for who in VIEWERS:
                viewer = visibility.Viewer.of(db.session.get(Account, world.accounts[who].id))
                expected = schema.reference_dump(ticket_views.view_of(viewer, loaded, now))
                assert schema.dump(ticket_views.view_of(viewer, built, now)) == expected, (who, name)
            assert rows.find_ticket_to_change(ticket_id) is built  # the session's own, once it holds it
        assert rows.find_ticket_to_change(max(tickets_in_every_state.values()) + 100) is None


def test_the_states_above_are_really_different(world, tickets_in_every_state):
    """The control for the comparison: the fixture's tickets cover the statuses and the optional parts."""
    seen = [world.get("admin", str(ticket_id)).get_json() for ticket_id in tickets_in_every_state.values()]
    assert {ticket["status"] for ticket in seen} >= {
        "pending",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
        "cancelled",
    }
    assert any(ticket["location"] for ticket in seen) and any(ticket["location"] is None for ticket in seen)
    assert any(ticket["assignee"] for ticket in seen) and any(ticket["assignee"] is None for ticket in seen)
    assert any(ticket["merged_into_id"] for ticket in seen)
    assert any(ticket["urge_count"] for ticket in seen) and any(ticket["reopen_count"] for ticket in seen)
    assert any(ticket["overdue"] for ticket in seen) and any(ticket["volunteer_claimable"] for ticket in seen)


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_the_api_serves_the_declared_document(app, world, tickets_in_every_state, system):
    headers = world.headers["worker"]
    listed = world.client.get(f"/api/v1/tickets?assignee=me&limit=100&coord_system={system}", headers=headers)
    pending = tickets_in_every_state["pending"]
    one = world.client.get(f"/api/v1/tickets/{pending}?coord_system={system}", headers=headers)
    assert listed.status_code == 200 and one.status_code == 200
    items = listed.get_json()["items"]
    assert len(items) >= 4
    with app.test_request_context():
        use_output_coord_system(CoordSystem(system))
        viewer = visibility.Viewer.of(db.session.get(Account, world.accounts["worker"].id))
        for served in [*items, one.get_json()]:
            view = ticket_views.view_of(viewer, db.session.get(Ticket, int(served["id"])))
            assert served == TicketSchema().reference_dump(view)
