"""Matching a need with the resources list (GET /party/needs/{id}/suggestions) on a worked example.

The need: 设施改造 (facilities: funds, expertise, goods, best first) for cell G1a, in the alliance. Offered:

    R1 hospital  funds      S1  (2 levels up)  alliance  10000 left
    R2 C1 branch expertise  G1a (its own cell) no        40 left    (C1's branch is no member)
    R3 school    goods      C1  (1 level up)   alliance  30 left
    R4 school    funds      C1                 alliance  500 left
    R5 school    funds      C1                 alliance  2000 left
    -- left out: a venue (kind not in the category), funds serving C2 and serving G1b (not above G1a), funds
       whose availability ended, funds fully reserved by another project.

Expected order: alliance first (R5, R4, R3, R1 before R2); then nearer (R5, R4, R3 at C1 before R1 at S1); then
the kind's place (funds before goods: R5, R4 before R3); then more left (R5's 2000 before R4's 500).
"""

import pytest

from tests.support.lists import NEEDS, build_lists


@pytest.fixture
def lists(app, world, make_account, auth):
    yield from build_lists(app, world, make_account, auth)


def test_suggestions_rank_fitting_resources_and_say_why(lists):
    r1 = lists.resource()
    r2 = lists.resource(
        "lead_staff",
        kind="expertise",
        description="网格支部的水电维修党员",
        capacity=40,
        unit="hours/month",
        grid_id=lists.unit("G1a"),
        owner_org_id=lists.org("c1"),
    )
    school = {"owner_org_id": lists.org("school"), "grid_id": lists.unit("C1")}
    r3 = lists.resource("school_staff", kind="goods", description="学校闲置建材", capacity=30, unit="pieces", **school)
    r4 = lists.resource("school_staff", description="学校共建资金", capacity=500, **school)
    r5 = lists.resource("school_staff", description="学校家委会捐款", capacity=2000, **school)
    lists.resource(kind="venue", description="医院礼堂", capacity=20, unit="hours/month")
    lists.resource("far_staff", description="C2 支部资金", owner_org_id=lists.org("far"), grid_id=lists.unit("C2"))
    lists.resource(description="G1b 专项资金", grid_id=lists.unit("G1b"))
    lists.resource(description="去年的资金", available_to="2026-11-30")
    full = lists.resource(description="已用完的资金", capacity=100)
    other = lists.need(title="另一处扶手")
    lists.act(other, "publish", "supervisor")
    lists.act(
        other,
        "take",
        "hospital_staff",
        201,
        org_id=lists.org("hospital"),
        resources=[{"resource_id": full["id"], "amount": 100}],
    )
    need = lists.need()

    items = lists.ok(lists.get(f"{NEEDS}/{need['id']}/suggestions", "supervisor"))["items"]

    assert [item["resource"]["id"] for item in items] == [r5["id"], r4["id"], r3["id"], r1["id"], r2["id"]]
    assert [item["rank"] for item in items] == [1, 2, 3, 4, 5]
    first = items[0]
    assert (first["in_alliance"], first["distance"], first["kind_rank"], first["remaining"]) == (True, 1, 0, 2000)
    assert len(first["reasons"]) == 5  # alliance, distance, kind, capacity left, availability
    assert (items[-1]["in_alliance"], items[-1]["distance"]) == (False, 0)


def test_reasons_are_in_english_when_asked(lists):
    lists.resource()
    need = lists.need()
    response = lists.client.get(
        f"{NEEDS}/{need['id']}/suggestions", headers={**lists.headers["supervisor"], "Accept-Language": "en"}
    )
    (item,) = response.get_json()["items"]
    assert item["reasons"][:2] == ["offered within the need's alliance", "serves a unit 2 level(s) above the need's"]


@pytest.mark.parametrize(("who", "status"), [("worker", 403), ("far_supervisor", 404), ("far_staff", 404)])
def test_suggestions_are_for_the_needs_readers_among_staff(lists, who, status):
    need = lists.need()
    assert lists.get(f"{NEEDS}/{need['id']}/suggestions", who).status_code == status
