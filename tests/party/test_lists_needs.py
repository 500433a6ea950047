"""Needs (需求清单) over HTTP: who raises and reads them, promotion from tickets, and the need's life as a table
(each action allowed and refused by status and caller). The people and places: tests/support/lists.py."""

import pytest

from kernel.config import ROOT
from party.lists import lifecycle
from tests.support.http import assert_error
from tests.support.lists import NEEDS, PROJECTS, build_lists
from tests.support.lists import need_at_status as at_status


@pytest.fixture
def lists(app, world, make_account, auth):
    yield from build_lists(app, world, make_account, auth)


# --- raising ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "supervisor", "community_supervisor"])
def test_supervisors_over_the_unit_raise_a_need(lists, who):
    need = lists.need(who, alliance_id=None)
    assert need["status"] == "open"
    assert need["raised_by_org_id"] is None
    assert need["allowed_actions"] == ["assign", "publish", "withdraw"]


def test_a_supervisor_elsewhere_cannot_raise_a_need_here(lists):
    response = lists.post(
        NEEDS, "far_supervisor", title="t", description="d", category="other", grid_id=lists.unit("G1a")
    )
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_workers_and_volunteers_cannot_raise_needs(lists, who):
    response = lists.post(NEEDS, who, title="t", description="d", category="other", grid_id=lists.unit("G1a"))
    assert_error(response, 403, "forbidden")


def test_party_staff_raise_a_need_for_their_organisation_in_its_territory(lists):
    need = lists.need("lead_staff", alliance_id=None, raised_by_org_id=lists.org("street"))
    assert need["raised_by_org_id"] == lists.org("street")


def test_a_host_organisation_raises_a_need_only_through_its_alliance(lists):
    assert lists.need("hospital_staff", raised_by_org_id=lists.org("hospital"))["alliance_id"] == str(lists.alliance_id)
    response = lists.post(
        NEEDS,
        "hospital_staff",
        title="t",
        description="d",
        category="other",
        grid_id=lists.unit("G1a"),
        raised_by_org_id=lists.org("hospital"),
    )
    assert_error(response, 403, "forbidden")


def test_party_staff_cannot_raise_for_an_organisation_they_do_not_act_for(lists):
    response = lists.post(
        NEEDS,
        "far_staff",
        title="t",
        description="d",
        category="other",
        grid_id=lists.unit("G1a"),
        raised_by_org_id=lists.org("hospital"),
        alliance_id=str(lists.alliance_id),
    )
    assert_error(response, 403, "forbidden")


def test_a_need_outside_the_alliance_territory_is_refused(lists):
    response = lists.post(
        NEEDS,
        "admin",
        title="t",
        description="d",
        category="other",
        grid_id=lists.unit("G2a"),
        alliance_id=str(lists.alliance_id),
    )
    assert assert_error(response, 422, "validation_error")["details"]["grid_id"]


def test_an_unknown_category_is_refused(lists):
    response = lists.post(NEEDS, "admin", title="t", description="d", category="nope", grid_id=lists.unit("G1a"))
    assert assert_error(response, 422, "validation_error")["details"]["category"]


# --- reading ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("supervisor", 200),
        ("community_supervisor", 200),
        ("worker", 200),
        ("lead_staff", 200),  # the 大工委's territory, and the alliance's lead
        ("hospital_staff", 200),  # a live member of the need's alliance
        ("far_supervisor", 404),
        ("far_worker", 404),
        ("far_staff", 404),
    ],
)
def test_who_reads_a_need(lists, who, status):
    need = lists.need()
    assert lists.get(f"{NEEDS}/{need['id']}", who).status_code == status


def test_the_list_keeps_the_callers_needs(lists):
    here = lists.need(alliance_id=None)
    lists.need("far_supervisor", alliance_id=None, grid_id=lists.unit("G2a"))
    ids = [item["id"] for item in lists.ok(lists.get(NEEDS, "supervisor"))["items"]]
    assert ids == [here["id"]]


# --- promotion from tickets -------------------------------------------------------------------------------


def test_tickets_about_one_problem_become_one_need_and_link_to_it(lists):
    first, second = lists.world.ticket(), lists.world.ticket(description="楼道没有扶手，老人摔倒了")
    need = lists.need(ticket_ids=[first["id"], second["id"]], beneficiaries=None)
    assert need["ticket_ids"] == sorted([first["id"], second["id"]], key=int)
    assert need["beneficiaries"] == 2
    events = lists.ok(lists.get(f"{NEEDS}/{need['id']}/events", "supervisor"))["items"]
    assert [(e["action"], e["to_status"]) for e in events] == [("promote", "open")]
    again = lists.post(
        NEEDS,
        "supervisor",
        title="t",
        description="d",
        category="other",
        grid_id=lists.unit("G1a"),
        ticket_ids=[first["id"]],
    )
    assert_error(again, 409, "conflict")


def test_tickets_are_promoted_by_a_supervisor_over_them(lists):
    ticket = lists.world.ticket()
    response = lists.post(
        NEEDS,
        "lead_staff",
        title="t",
        description="d",
        category="other",
        grid_id=lists.unit("G1a"),
        raised_by_org_id=lists.org("street"),
        ticket_ids=[ticket["id"]],
    )
    assert_error(response, 403, "forbidden")


def test_a_ticket_outside_the_needs_unit_is_refused(lists):
    ticket = lists.world.ticket("supervisor", grid_id=lists.unit("G1b"))
    response = lists.post(
        NEEDS,
        "supervisor",
        title="t",
        description="d",
        category="other",
        grid_id=lists.unit("G1a"),
        ticket_ids=[ticket["id"]],
    )
    assert assert_error(response, 422, "validation_error")["details"]["ticket_ids"]


# --- the life table ---------------------------------------------------------------------------------------

ALLOWED = [
    ("open", "publish", "supervisor", {}),
    ("open", "publish", "lead_staff", {}),  # the alliance's lead organisation dispatches
    ("open", "assign", "supervisor", {"org_id": "school"}),
    ("published", "assign", "lead_staff", {"org_id": "hospital"}),
    ("published", "take", "school_staff", {"org_id": "school"}),
    ("open", "withdraw", "community_supervisor", {"reason": "已由社区解决"}),
    ("matched", "withdraw", "admin", {"reason": "已由社区解决"}),
]


@pytest.mark.parametrize(("status", "action", "who", "body"), ALLOWED)
def test_an_action_allowed_from_its_status_to_its_party(lists, status, action, who, body):
    need = at_status(lists, status)
    assert action in lists.ok(lists.get(f"{NEEDS}/{need['id']}", who))["allowed_actions"]
    body = {k: lists.org(v) if k == "org_id" else v for k, v in body.items()}
    expected = 201 if action == "take" else 200
    lists.ok(lists.post(f"{NEEDS}/{need['id']}/{action}", who, **body), expected)
    after = lists.ok(lists.get(f"{NEEDS}/{need['id']}", "admin"))
    assert after["status"] == lifecycle.TRANSITIONS[lifecycle.Action(action)].target
    events = lists.ok(lists.get(f"{NEEDS}/{need['id']}/events", "admin"))["items"]
    assert events[-1]["action"] == action and events[-1]["from_status"] == status


WRONG_STATUS = [
    ("published", "publish", "supervisor", {}),
    ("matched", "assign", "supervisor", {"org_id": "school"}),
    ("open", "take", "school_staff", {"org_id": "school"}),
    ("in_project", "withdraw", "supervisor", {"reason": "不再需要了"}),
    ("met", "publish", "supervisor", {}),
    ("withdrawn", "assign", "supervisor", {"org_id": "school"}),
    ("open", "claim", "worker", {}),  # a need is not a wish
]


@pytest.mark.parametrize(("status", "action", "who", "body"), WRONG_STATUS)
def test_an_action_refused_from_a_status_the_table_does_not_name(lists, status, action, who, body):
    need = at_status(lists, status)
    body = {k: lists.org(v) if k == "org_id" else v for k, v in body.items()}
    error = assert_error(lists.post(f"{NEEDS}/{need['id']}/{action}", who, **body), 409, "invalid_transition")
    assert error["details"]["status"] == status
    assert action not in error["details"]["allowed_actions"]


WRONG_PARTY = [
    ("open", "publish", "hospital_staff", {}, 403),  # a member, not the lead
    ("open", "assign", "worker", {"org_id": "school"}, 403),
    ("published", "take", "lead_staff", {"org_id": "c1"}, 403),  # C1's branch is no member of the alliance
    ("published", "take", "hospital_staff", {"org_id": "school"}, 403),  # not an organisation it acts for
    ("published", "take", "far_staff", {"org_id": "far"}, 404),  # cannot even read it
    ("open", "publish", "far_supervisor", {}, 404),
    ("open", "withdraw", "school_staff", {"reason": "不再需要了"}, 403),
]


@pytest.mark.parametrize(("status", "action", "who", "body", "code"), WRONG_PARTY)
def test_an_action_refused_to_a_caller_outside_its_parties(lists, status, action, who, body, code):
    need = at_status(lists, status)
    body = {k: lists.org(v) if k == "org_id" else v for k, v in body.items()}
    response = lists.post(f"{NEEDS}/{need['id']}/{action}", who, **body)
    assert_error(response, code, "forbidden" if code == 403 else "not_found")
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "admin"))["status"] == status


def test_assigning_to_an_organisation_outside_the_alliance_is_refused(lists):
    need = at_status(lists, "open")
    response = lists.post(f"{NEEDS}/{need['id']}/assign", "supervisor", org_id=lists.org("far"))
    assert assert_error(response, 422, "validation_error")["details"]["org_id"]


def test_allowed_actions_follow_the_caller(lists):
    need = at_status(lists, "published")
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "school_staff"))["allowed_actions"] == ["take"]
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "supervisor"))["allowed_actions"] == ["assign", "withdraw"]
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "worker"))["allowed_actions"] == []


def test_the_assigned_organisation_opens_the_project(lists):
    need = at_status(lists, "matched")
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "school_staff"))["allowed_actions"] == ["open_project"]
    project = lists.ok(lists.post(PROJECTS, "school_staff", need_id=need["id"], goal="两周内装好扶手"), 201)
    assert project["owner_org_id"] == lists.org("school")
    after = lists.ok(lists.get(f"{NEEDS}/{need['id']}", "admin"))
    assert (after["status"], after["project_id"]) == ("in_project", project["id"])
    refused = lists.post(PROJECTS, "hospital_staff", need_id=need["id"])
    assert_error(refused, 409, "invalid_transition")


def test_withdraw_needs_a_reason(lists):
    need = at_status(lists, "open")
    assert_error(lists.post(f"{NEEDS}/{need['id']}/withdraw", "supervisor"), 422, "validation_error")


# --- the table itself -------------------------------------------------------------------------------------


def test_every_status_but_the_ends_has_a_way_on():
    ends = {"met", "withdrawn"}
    sources = set().union(*(rule.sources for rule in lifecycle.TRANSITIONS.values() if rule.target is not None))
    assert {status.value for status in sources} >= {
        "open",
        "published",
        "matched",
        "in_project",
        "claimed",
        "fulfilled",
    }
    assert not ends & {status.value for status in sources}


def test_the_table_is_described_for_the_docs():
    text = lifecycle.describe()
    assert text.count("\n") == len(lifecycle.TRANSITIONS) + 1
    assert "| `take` | need | published | in_project | taker |" in text


# --- categories -------------------------------------------------------------------------------------------

CATEGORIES = "/api/v1/party/need-categories"


def test_categories_are_data_with_the_kinds_that_fit(lists):
    items = lists.ok(lists.get(CATEGORIES, "worker", limit=100))["items"]
    assert items[0] == {
        "code": "elderly",
        "name": "助老服务",
        "resource_kinds": ["volunteers", "service", "expertise"],
        "position": 1,
        "active": True,
    }


def test_an_admin_adds_and_deactivates_a_category_no_new_need_then_takes(lists):
    lists.ok(lists.post(CATEGORIES, "admin", code="employment", name="就业创业", resource_kinds=["expertise"]), 201)
    response = lists.client.patch(f"{CATEGORIES}/employment", json={"active": False}, headers=lists.headers["admin"])
    assert lists.ok(response)["active"] is False
    refused = lists.post(NEEDS, "admin", title="t", description="d", category="employment", grid_id=lists.unit("G1a"))
    assert_error(refused, 422, "validation_error")


@pytest.mark.parametrize("who", ["supervisor", "lead_staff", "worker"])
def test_only_admins_change_categories(lists, who):
    assert_error(lists.post(CATEGORIES, who, code="x", name="x", resource_kinds=["funds"]), 403, "forbidden")


def test_a_category_with_an_unknown_resource_kind_is_refused(lists):
    assert_error(lists.post(CATEGORIES, "admin", code="x", name="x", resource_kinds=["magic"]), 422, "validation_error")


def test_the_docs_show_the_table_as_it_is():
    assert lifecycle.describe() in (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
