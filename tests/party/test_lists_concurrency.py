"""Races the database settles for the lists: several organisations taking one published need at once (one
winner), and projects reserving one resource at once (its capacity never over-promised).

Requests run in threads through Flask's test client, released together (`fire_together`). Held, every take
first waits right after its checks passed, so all of them move the need from the same read: only the
compare-and-set on the status can then keep the winner single. On PostgreSQL:
`TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<yours> pytest <this file>`.
"""

import threading
from datetime import date
from typing import Any

import pytest

from kernel.extensions import db
from party.alliances.models import AllianceMember
from party.lists import needs
from party.lists.lifecycle import Action
from party.orgs.models import HostKind
from tests.support.lists import NEEDS, PROJECTS, RESOURCES, Lists, build_lists
from tests.support.party import make_org, place_staff
from tests.tasks.test_ticket_concurrency import TIMEOUT, fire_together

pytestmark = pytest.mark.slow

TAKERS = 8


@pytest.fixture
def lists(app, world, make_account, auth):
    yield from build_lists(app, world, make_account, auth)


@pytest.fixture
def takers(app, lists: Lists, make_account, auth) -> list[tuple[str, dict[str, str]]]:
    """TAKERS host organisations, live members of the alliance, each with its own party staff."""
    found = []
    for index in range(TAKERS):
        org = make_org(app, f"共建单位{index}", host=HostKind.NON_PUBLIC)
        with app.app_context():
            db.session.add(AllianceMember(alliance_id=lists.alliance_id, org_id=org.id, joined_on=date(2026, 1, 1)))
            db.session.commit()
        staff = make_account("party_staff")
        place_staff(app, staff, org)
        found.append((str(org.id), auth(staff)))
    return found


@pytest.fixture
def hold_after_check(monkeypatch):
    """Every take waits, once its checks passed, until all TAKERS have passed theirs."""
    barrier = threading.Barrier(TAKERS)
    original = needs.check

    def check_then_hold(caller: Any, need: Any, action: Action) -> None:
        original(caller, need, action)
        if action is Action.TAKE:
            barrier.wait(timeout=TIMEOUT)

    monkeypatch.setattr(needs, "check", check_then_hold)


def published(lists: Lists) -> dict[str, Any]:
    need = lists.need()
    lists.act(need, "publish", "supervisor")
    return need


def assert_taken_once(lists: Lists, need: dict[str, Any], outcomes: list[Any]) -> None:
    won = [outcome for outcome in outcomes if outcome.status == 201]
    assert len(won) == 1, [(o.status, o.body) for o in outcomes]
    assert all(o.status == 409 for o in outcomes if o.status != 201)
    after = lists.ok(lists.get(f"{NEEDS}/{need['id']}", "admin"))
    assert (after["status"], after["owner_org_id"]) == ("in_project", won[0].body["owner_org_id"])
    assert lists.ok(lists.get(PROJECTS, "admin"))["items"] == [won[0].body]
    takes = [e for e in lists.ok(lists.get(f"{NEEDS}/{need['id']}/events", "admin"))["items"] if e["action"] == "take"]
    assert len(takes) == 1


def test_several_organisations_taking_one_need_at_once_give_one_winner(app, lists, takers):
    need = published(lists)
    requests = [(f"{NEEDS}/{need['id']}/take", {"org_id": org_id}, headers) for org_id, headers in takers]
    assert_taken_once(lists, need, fire_together(app, requests))


def test_takes_that_all_passed_their_checks_still_give_one_winner(app, lists, takers, hold_after_check):
    need = published(lists)
    requests = [(f"{NEEDS}/{need['id']}/take", {"org_id": org_id}, headers) for org_id, headers in takers]
    outcomes = fire_together(app, requests)
    assert_taken_once(lists, need, outcomes)
    assert {o.body["error"]["code"] for o in outcomes if o.status == 409} == {"conflict"}


def test_projects_reserving_one_resource_at_once_never_exceed_its_capacity(app, lists, takers):
    resource = lists.resource(capacity=10)
    requests = []
    for org_id, headers in takers:  # each organisation takes a need of its own, reserving 3 of the 10
        need = published(lists)
        requests.append(
            (
                f"{NEEDS}/{need['id']}/take",
                {"org_id": org_id, "resources": [{"resource_id": resource["id"], "amount": 3}]},
                headers,
            )
        )
    outcomes = fire_together(app, requests)
    assert sorted(o.status for o in outcomes) == [201] * 3 + [409] * (TAKERS - 3)
    after = lists.ok(lists.get(f"{RESOURCES}/{resource['id']}", "hospital_staff"))
    assert (after["reserved"], after["remaining"]) == (9, 1)
    projects = lists.ok(lists.get(PROJECTS, "admin", limit=100))["items"]
    assert sum(r["amount"] for p in projects for r in p["resources"]) == 9
    assert len(projects) == 3  # a refused take kept nothing: no project, its need still published


def test_reservations_on_one_project_at_once_never_exceed_the_capacity(app, lists):
    resource = lists.resource(capacity=10)
    need = published(lists)
    project = lists.act(need, "take", "hospital_staff", 201, org_id=lists.org("hospital"))
    path = f"{PROJECTS}/{project['id']}/reservations"
    outcomes = fire_together(
        app, [(path, {"resource_id": resource["id"], "amount": 4}, lists.headers["hospital_staff"])] * 6
    )
    assert sorted(o.status for o in outcomes) == [200, 200, 409, 409, 409, 409]
    assert lists.ok(lists.get(f"{RESOURCES}/{resource['id']}", "hospital_staff"))["reserved"] == 8
