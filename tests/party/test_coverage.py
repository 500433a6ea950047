"""两个覆盖 through the HTTP API, against a hand-worked example.

The `tree` fixture: D › S1, S2; C1 in S1, C2 in S2; cells G1a, G1b in C1, G2a in C2. The organisations:

    street committee on S1                      (0 members)
    └ community committee on C1                 (2 members)
      ├ branch on G1a                           (1 member, and one who left)
      │ └ group (no unit)                       (1 member)
      ├ a school's branch (host)                (3 members)
      └ branch on G1b, dissolved (inactive)     (1 member)
    street committee on S2                      (0 members)
    └ branch on G2a                             (0 members)

Covered cells: G1a and G2a (G1b's branch is dissolved); covered communities: C1 (C2 has none).
"""

import pytest

from tests.support.http import assert_error
from tests.support.party_orgs import make_member, make_org, place

COVERAGE = "/api/v1/party/coverage"


@pytest.fixture
def example(app, tree):
    ids = {}
    ids["S1"] = make_org(app, "party_committee", grid=tree["S1"], name="一街道大工委")
    ids["C1"] = make_org(app, "party_committee", parent=ids["S1"], grid=tree["C1"], name="社区大党委")
    ids["G1a"] = make_org(app, "branch", parent=ids["C1"], grid=tree["G1a"], name="一网格支部")
    ids["group"] = make_org(app, "group", parent=ids["G1a"], name="党小组")
    ids["school"] = make_org(app, "branch", parent=ids["C1"], host="第一中学", name="中学支部")
    ids["G1b"] = make_org(app, "branch", parent=ids["C1"], grid=tree["G1b"], name="二网格支部", active=False)
    ids["S2"] = make_org(app, "party_committee", grid=tree["S2"], name="二街道大工委")
    ids["G2a"] = make_org(app, "branch", parent=ids["S2"], grid=tree["G2a"], name="三网格支部")
    for org, count in [("C1", 2), ("G1a", 1), ("group", 1), ("school", 3), ("G1b", 1)]:
        for _ in range(count):
            make_member(app, ids[org])
    make_member(app, ids["G1a"], active=False)
    return ids


def unit_refs(tree, *codes):
    return [{"id": str(tree[code].id), "code": code, "name": f"单元{code}"} for code in codes]


def level(tree, covered, uncovered):
    return {
        "total": len(covered) + len(uncovered),
        "covered_count": len(covered),
        "uncovered_count": len(uncovered),
        "covered": unit_refs(tree, *covered),
        "uncovered": unit_refs(tree, *uncovered),
    }


def org_counts(body):
    return [(org["name"], org["member_count"]) for org in body["orgs"]]


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


def test_an_admin_sees_the_whole_territory_by_default(client, tree, example, admin):
    response = client.get(COVERAGE, headers=admin)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["grid"] is None
    assert body["cells"] == level(tree, ["G1a", "G2a"], ["G1b"])
    assert body["communities"] == level(tree, ["C1"], ["C2"])
    assert org_counts(body) == [
        ("一街道大工委", 0),
        ("社区大党委", 2),
        ("一网格支部", 1),
        ("党小组", 1),
        ("中学支部", 3),
        ("二街道大工委", 0),
        ("三网格支部", 0),
    ]


def test_the_coverage_of_a_community(client, tree, example, admin):
    body = client.get(f"{COVERAGE}?grid_id={tree['C1'].id}", headers=admin).json
    assert body["grid"] == {**unit_refs(tree, "C1")[0], "level": "community"}
    assert body["cells"] == level(tree, ["G1a"], ["G1b"])
    assert body["communities"] == level(tree, ["C1"], [])
    assert org_counts(body) == [("社区大党委", 2), ("一网格支部", 1), ("党小组", 1), ("中学支部", 3)]


def test_a_unit_with_no_organisation_is_all_uncovered(client, tree, example, admin):
    body = client.get(f"{COVERAGE}?grid_id={tree['C2'].id}", headers=admin).json
    assert body["cells"] == level(tree, ["G2a"], [])
    assert body["communities"] == level(tree, [], ["C2"])
    assert org_counts(body) == [("三网格支部", 0)]


def test_a_supervisor_sees_their_own_subtree_by_default(client, tree, example, make_account, auth):
    headers = auth(make_account("supervisor", unit=tree["S2"]))
    body = client.get(COVERAGE, headers=headers).json
    assert body["cells"] == level(tree, ["G2a"], [])
    assert body["communities"] == level(tree, [], ["C2"])
    assert org_counts(body) == [("二街道大工委", 0), ("三网格支部", 0)]


def test_a_supervisor_gets_404_for_a_unit_outside_their_subtree(client, tree, example, make_account, auth):
    headers = auth(make_account("supervisor", unit=tree["S2"]))
    assert_error(client.get(f"{COVERAGE}?grid_id={tree['C1'].id}", headers=headers), 404, "not_found")


def test_party_staff_see_the_units_their_organisations_are_built_on(client, app, tree, example, make_account, auth):
    account = make_account("party_staff")
    place(app, account.id, example["C1"])
    headers = auth(account)
    body = client.get(COVERAGE, headers=headers).json
    assert body["cells"] == level(tree, ["G1a"], ["G1b"])
    assert body["communities"] == level(tree, ["C1"], [])
    assert org_counts(body) == [("社区大党委", 2), ("一网格支部", 1), ("党小组", 1), ("中学支部", 3)]
    assert client.get(f"{COVERAGE}?grid_id={tree['G1a'].id}", headers=headers).status_code == 200
    assert_error(client.get(f"{COVERAGE}?grid_id={tree['S1'].id}", headers=headers), 404, "not_found")


def test_party_staff_of_a_host_organisation_cover_no_territory(client, app, tree, example, make_account, auth):
    account = make_account("party_staff")
    place(app, account.id, example["school"])
    body = client.get(COVERAGE, headers=auth(account)).json
    assert body["cells"] == level(tree, [], [])
    assert body["orgs"] == []


def test_an_unknown_unit_is_404(client, example, admin):
    assert_error(client.get(f"{COVERAGE}?grid_id=987654", headers=admin), 404, "not_found")


@pytest.mark.parametrize("role", ["worker", "volunteer"])
def test_workers_and_volunteers_are_refused_the_coverage(client, tree, example, make_account, auth, role):
    account = make_account(role, unit=tree["C1"]) if role == "volunteer" else make_account(role, cells=[tree["G1a"]])
    assert_error(client.get(COVERAGE, headers=auth(account)), 403, "forbidden")
