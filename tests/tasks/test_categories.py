"""Categories through the HTTP API: reading and syncing the tree, admins editing it, the seed command."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kernel import clock
from kernel.extensions import db
from tasks.categories.models import Category
from tasks.categories.service import DEFAULT_CATEGORIES, is_valid_code
from tests.support.http import assert_error

URL = "/api/v1/categories"
FIELDS = {
    "code",
    "name",
    "parent_code",
    "accept_minutes",
    "resolve_hours",
    "accept_working_hours",
    "resolve_working_days",
    "suspend_needs_approval",
    "default_priority",
    "volunteer_claimable",
    "active",
    "attributes",
    "created_at",
    "updated_at",
}
ROLES = ["admin", "supervisor", "worker", "volunteer"]
NOT_ADMINS = ["supervisor", "worker", "volunteer"]
NEW = {"code": "CITY.SNOW", "name": "积雪清扫", "parent_code": "CITY", "accept_minutes": 60, "resolve_hours": 12}


@pytest.fixture
def headers(make_account, auth):
    """Authorization headers by role; none of them needs a grid scope to read categories."""
    return {role: auth(make_account(role)) for role in ROLES}


@pytest.fixture
def admin(headers):
    return headers["admin"]


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["code"] for item in response.json["items"]]


def patch(client, headers, target, **changes):
    return client.patch(f"{URL}/{target}", json=changes, headers=headers)


def stored(app, code: str) -> Category | None:
    with app.app_context():
        return db.session.get(Category, code)


# --- reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_lists_the_whole_tree_by_code(client, categories, headers, role):
    listed = codes(client.get(f"{URL}?limit=100", headers=headers[role]))
    assert listed == sorted(default.code for default in DEFAULT_CATEGORIES)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_one_category(client, categories, headers, role):
    response = client.get(f"{URL}/FACILITY.ELEVATOR", headers=headers[role])
    assert response.status_code == 200
    assert response.json == {
        **response.json,
        "code": "FACILITY.ELEVATOR",
        "name": "电梯故障",
        "parent_code": "FACILITY",
        "accept_minutes": 15,
        "resolve_hours": 6,
        "default_priority": "urgent",
        "volunteer_claimable": False,
        "active": True,
    }
    assert set(response.json) == FIELDS
    assert response.json["updated_at"].endswith("Z")


def test_reading_categories_needs_a_token(client, categories):
    assert_error(client.get(URL), 401, "unauthorized")
    assert_error(client.get(f"{URL}/CITY"), 401, "unauthorized")


def test_an_unknown_category_is_404(client, categories, admin):
    assert_error(client.get(f"{URL}/NOPE", headers=admin), 404, "not_found")


@pytest.mark.parametrize("code", ["city", "A", "CITY..X", "%00", "CITY.GARBAGE%0A", "X" * 33])
def test_a_malformed_code_in_the_path_is_404(client, categories, admin, code):
    assert_error(client.get(f"{URL}/{code}", headers=admin), 404, "not_found")
    assert_error(patch(client, admin, code, name="x"), 404, "not_found")


def test_pages_follow_the_cursor_through_the_whole_tree_without_repeats(client, categories, admin):
    seen, cursor, pages = [], None, 0
    while True:
        query = f"{URL}?limit=5" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(query, headers=admin)
        seen.extend(codes(response))
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(default.code for default in DEFAULT_CATEGORIES)
    assert pages == -(-len(DEFAULT_CATEGORIES) // 5)


def test_a_cursor_only_continues_the_list_that_issued_it(client, categories, admin):
    cursor = client.get(f"{URL}?limit=2", headers=admin).json["next_cursor"]
    response = client.get(f"{URL}?limit=2&parent_code=CITY&cursor={cursor}", headers=admin)
    assert "cursor" in assert_error(response, 400, "bad_request")["details"]


def test_a_page_larger_than_100_is_refused(client, categories, admin):
    assert "limit" in assert_error(client.get(f"{URL}?limit=101", headers=admin), 422, "validation_error")["details"]


def test_an_unknown_filter_is_refused(client, categories, admin):
    assert "parent" in assert_error(client.get(f"{URL}?parent=CITY", headers=admin), 422, "validation_error")["details"]


def test_parent_code_lists_the_direct_subcategories(client, categories, admin):
    assert codes(client.get(f"{URL}?parent_code=CITY", headers=admin)) == ["CITY.GARBAGE", "CITY.GREEN", "CITY.LITTER"]


def test_a_malformed_parent_code_filter_is_422(client, categories, admin):
    response = client.get(f"{URL}?parent_code=city", headers=admin)
    assert "parent_code" in assert_error(response, 422, "validation_error")["details"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("电梯", ["FACILITY.ELEVATOR"]),
        ("garbage", ["CITY.GARBAGE"]),
        ("dispute.w", ["DISPUTE.WAGES"]),
        ("%", []),
        ("_", []),
    ],
)
def test_q_matches_code_or_name_ignoring_case_and_wildcards(client, categories, admin, q, expected):
    assert codes(client.get(URL, query_string={"q": q}, headers=admin)) == expected


def test_active_filters_inactive_categories(client, categories, admin):
    assert patch(client, admin, "OTHER", active=False).status_code == 200
    assert codes(client.get(f"{URL}?active=false", headers=admin)) == ["OTHER"]
    assert "OTHER" not in codes(client.get(f"{URL}?active=true&limit=100", headers=admin))


def test_updated_since_returns_what_changed_deactivations_included(client, categories, admin):
    clock.travel(timedelta(hours=2))
    patch(client, admin, "CITY.GREEN", resolve_hours=96)
    patch(client, admin, "OTHER", active=False)
    since = (clock.utcnow() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    changed = client.get(URL, query_string={"updated_since": since}, headers=admin)
    assert codes(changed) == ["CITY.GREEN", "OTHER"]
    assert [item["active"] for item in changed.json["items"]] == [True, False]


def test_updated_since_must_be_a_time(client, categories, admin):
    response = client.get(f"{URL}?updated_since=yesterday", headers=admin)
    assert "updated_since" in assert_error(response, 422, "validation_error")["details"]


def test_an_unchanged_category_answers_304_to_its_etag(client, categories, admin):
    first = client.get(f"{URL}/CITY", headers=admin)
    assert first.headers["ETag"]
    again = client.get(f"{URL}/CITY", headers={**admin, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_changed_category_gets_a_new_etag(client, categories, admin):
    etag = client.get(f"{URL}/CITY", headers=admin).headers["ETag"]
    patch(client, admin, "CITY", name="城市管理")
    response = client.get(f"{URL}/CITY", headers={**admin, "If-None-Match": etag})
    assert response.status_code == 200
    assert response.json["name"] == "城市管理"


# --- creating --------------------------------------------------------------------------------------


def test_an_admin_creates_a_category(client, app, categories, admin):
    response = client.post(URL, json=NEW, headers=admin)
    assert response.status_code == 201, response.json
    assert set(response.json) == FIELDS
    assert response.json == {
        **response.json,
        **NEW,
        "default_priority": "normal",
        "volunteer_claimable": False,
        "active": True,
    }
    assert client.get(f"{URL}/CITY.SNOW", headers=admin).json == response.json
    assert stored(app, "CITY.SNOW").resolve_hours == 12


def test_an_admin_creates_a_root_category_with_every_field(client, categories, admin):
    body = {
        "code": "EPIDEMIC",
        "name": "疫情防控",
        "parent_code": None,
        "accept_minutes": 10,
        "resolve_hours": 4,
        "default_priority": "urgent",
        "volunteer_claimable": True,
        "active": False,
    }
    response = client.post(URL, json=body, headers=admin)
    assert response.status_code == 201, response.json
    assert response.json == {**response.json, **body}


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_other_roles_cannot_create_categories(client, app, categories, headers, role):
    assert_error(client.post(URL, json=NEW, headers=headers[role]), 403, "forbidden")
    assert stored(app, "CITY.SNOW") is None


def test_creating_needs_a_token(client, categories):
    assert_error(client.post(URL, json=NEW), 401, "unauthorized")


def test_a_taken_code_is_409(client, categories, admin):
    response = client.post(URL, json={**NEW, "code": "CITY.GARBAGE"}, headers=admin)
    assert "code" in assert_error(response, 409, "conflict")["details"]


def test_an_unknown_parent_is_422(client, app, categories, admin):
    response = client.post(URL, json={**NEW, "parent_code": "NOPE"}, headers=admin)
    assert "parent_code" in assert_error(response, 422, "validation_error")["details"]
    assert stored(app, "CITY.SNOW") is None


def test_an_active_category_under_an_inactive_parent_is_422(client, categories, admin):
    client.post(URL, json={**NEW, "code": "PILOT", "parent_code": None, "active": False}, headers=admin)
    response = client.post(URL, json={**NEW, "code": "PILOT.ONE", "parent_code": "PILOT"}, headers=admin)
    assert "parent_code" in assert_error(response, 422, "validation_error")["details"]
    inactive_child = client.post(
        URL, json={**NEW, "code": "PILOT.TWO", "parent_code": "PILOT", "active": False}, headers=admin
    )
    assert inactive_child.status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "city.snow"),
        ("code", "C"),
        ("code", "X" * 33),
        ("code", "CITY..SNOW"),
        ("code", ".SNOW"),
        ("code", "CITY.SNOW\n"),
        ("code", "城市"),
        ("code", 42),
        ("name", ""),
        ("name", "   "),
        ("name", "名" * 65),
        ("name", None),
        ("parent_code", "city"),
        ("accept_minutes", "60"),
        ("accept_minutes", True),
        ("accept_minutes", 60.0),
        ("accept_minutes", 0),
        ("accept_minutes", 10081),
        ("resolve_hours", "12"),
        ("resolve_hours", False),
        ("resolve_hours", 8761),
        ("resolve_hours", -1),
        ("default_priority", "high"),
        ("volunteer_claimable", "yes"),
        ("volunteer_claimable", 1),
        ("active", "true"),
        ("color", "red"),
    ],
)
def test_a_bad_field_is_422_naming_it(client, app, categories, admin, field, value):
    response = client.post(URL, json={**NEW, field: value}, headers=admin)
    assert field in assert_error(response, 422, "validation_error")["details"]
    assert stored(app, "CITY.SNOW") is None


@pytest.mark.parametrize("field", ["code", "name", "accept_minutes", "resolve_hours"])
def test_a_missing_required_field_is_422_naming_it(client, categories, admin, field):
    body = {key: value for key, value in NEW.items() if key != field}
    assert field in assert_error(client.post(URL, json=body, headers=admin), 422, "validation_error")["details"]


def test_a_replayed_create_returns_the_first_response_and_adds_nothing(client, app, categories, admin):
    keyed = {**admin, "Idempotency-Key": "create-snow-1"}
    first = client.post(URL, json=NEW, headers=keyed)
    again = client.post(URL, json=NEW, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Category)) == len(DEFAULT_CATEGORIES) + 1


# --- changing --------------------------------------------------------------------------------------


def test_an_admin_changes_the_sla_and_flags(client, app, categories, admin):
    before = client.get(f"{URL}/CITY.GREEN", headers=admin).json
    clock.travel(timedelta(minutes=5))
    changes = {"accept_minutes": 180, "resolve_hours": 96, "default_priority": "urgent", "volunteer_claimable": True}
    response = patch(client, admin, "CITY.GREEN", **changes)
    assert response.status_code == 200, response.json
    assert response.json == {**before, **changes, "updated_at": response.json["updated_at"]}
    assert response.json["updated_at"] > before["updated_at"]
    assert stored(app, "CITY.GREEN").accept_minutes == 180


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_other_roles_cannot_change_categories(client, app, categories, headers, role):
    assert_error(patch(client, headers[role], "CITY", name="改名"), 403, "forbidden")
    assert stored(app, "CITY").name == "市容环境"


def test_changing_an_unknown_category_is_404(client, categories, admin):
    assert_error(patch(client, admin, "NOPE", name="x"), 404, "not_found")


def test_the_code_cannot_change(client, app, categories, admin):
    response = patch(client, admin, "CITY.GREEN", code="CITY.PARKS")
    assert "code" in assert_error(response, 422, "validation_error")["details"]
    assert stored(app, "CITY.PARKS") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("accept_minutes", "30"), ("resolve_hours", True), ("name", ""), ("active", 0), ("default_priority", None)],
)
def test_a_bad_change_is_422_naming_the_field(client, app, categories, admin, field, value):
    response = patch(client, admin, "CITY.GREEN", **{field: value})
    assert field in assert_error(response, 422, "validation_error")["details"]


def test_a_category_moves_to_another_parent_and_to_the_root(client, categories, admin):
    moved = patch(client, admin, "SERVICE.POLICY", parent_code="OTHER")
    assert moved.status_code == 200, moved.json
    assert moved.json["parent_code"] == "OTHER"
    assert codes(client.get(f"{URL}?parent_code=OTHER", headers=admin)) == ["SERVICE.POLICY"]
    assert patch(client, admin, "SERVICE.POLICY", parent_code=None).json["parent_code"] is None


def test_a_move_under_an_unknown_parent_is_422(client, categories, admin):
    response = patch(client, admin, "CITY.GREEN", parent_code="NOPE")
    assert "parent_code" in assert_error(response, 422, "validation_error")["details"]


@pytest.mark.parametrize(
    ("code", "parent"), [("CITY", "CITY"), ("CITY", "CITY.GARBAGE"), ("CITY", "CITY.GARBAGE.BINS")]
)
def test_a_move_that_would_make_a_cycle_is_422(client, app, categories, admin, code, parent):
    client.post(URL, json={**NEW, "code": "CITY.GARBAGE.BINS", "parent_code": "CITY.GARBAGE"}, headers=admin)
    response = patch(client, admin, code, parent_code=parent)
    assert "parent_code" in assert_error(response, 422, "validation_error")["details"]
    assert stored(app, code).parent_code is None


def test_a_category_with_active_subcategories_cannot_be_deactivated(client, app, categories, admin):
    error = assert_error(patch(client, admin, "CITY", active=False), 409, "conflict")
    assert error["details"]["children"] == ["CITY.GARBAGE", "CITY.GREEN", "CITY.LITTER"]
    assert stored(app, "CITY").active is True


def test_a_branch_is_deactivated_leaves_first_and_reactivated_root_first(client, categories, admin):
    for child in ("CITY.GARBAGE", "CITY.GREEN", "CITY.LITTER"):
        assert patch(client, admin, child, active=False).status_code == 200
    assert patch(client, admin, "CITY", active=False).json["active"] is False
    refused = patch(client, admin, "CITY.GREEN", active=True)
    assert "active" in assert_error(refused, 422, "validation_error")["details"]
    assert patch(client, admin, "CITY", active=True).json["active"] is True
    assert patch(client, admin, "CITY.GREEN", active=True).json["active"] is True


def test_an_active_category_cannot_move_under_an_inactive_one(client, categories, admin):
    patch(client, admin, "OTHER", active=False)
    response = patch(client, admin, "CITY.GREEN", parent_code="OTHER")
    assert "parent_code" in assert_error(response, 422, "validation_error")["details"]


def test_a_stale_if_match_is_412_and_changes_nothing(client, app, categories, admin):
    etag = client.get(f"{URL}/CITY.GREEN", headers=admin).headers["ETag"]
    patch(client, admin, "CITY.GREEN", name="先改")
    stale = client.patch(f"{URL}/CITY.GREEN", json={"name": "后改"}, headers={**admin, "If-Match": etag})
    assert_error(stale, 412, "precondition_failed")
    assert stored(app, "CITY.GREEN").name == "先改"


def test_a_current_if_match_is_honoured(client, categories, admin):
    etag = client.get(f"{URL}/CITY.GREEN", headers=admin).headers["ETag"]
    response = client.patch(f"{URL}/CITY.GREEN", json={"name": "园林绿化"}, headers={**admin, "If-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert (
        client.get(f"{URL}/CITY.GREEN", headers={**admin, "If-None-Match": response.headers["ETag"]}).status_code == 304
    )


def test_categories_have_no_delete(client, categories, admin):
    response = client.delete(f"{URL}/OTHER", headers=admin)
    assert_error(response, 405, "method_not_allowed")
    assert "PATCH" in response.headers["Allow"]


# --- the seed command ------------------------------------------------------------------------------


def count_categories(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Category))


def test_seed_categories_fills_an_empty_table_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tasks", "seed-categories"])
    assert first.exit_code == 0, first.output
    assert f"seeded {len(DEFAULT_CATEGORIES)}" in first.output
    assert count_categories(app) == len(DEFAULT_CATEGORIES)
    second = runner.invoke(args=["tasks", "seed-categories"])
    assert second.exit_code == 0, second.output
    assert "nothing seeded" in second.output
    assert count_categories(app) == len(DEFAULT_CATEGORIES)


def test_seed_categories_leaves_an_edited_tree_alone(app, client, categories, admin):
    patch(client, admin, "OTHER", name="其他事项")
    client.post(URL, json=NEW, headers=admin)
    result = app.test_cli_runner().invoke(args=["tasks", "seed-categories"])
    assert "nothing seeded" in result.output
    assert count_categories(app) == len(DEFAULT_CATEGORIES) + 1
    assert stored(app, "OTHER").name == "其他事项"


def test_the_default_tree_is_consistent():
    by_code = {default.code: default for default in DEFAULT_CATEGORIES}
    assert len(by_code) == len(DEFAULT_CATEGORIES)
    for default in DEFAULT_CATEGORIES:
        assert is_valid_code(default.code)
        assert default.parent_code is None or default.parent_code in by_code
        assert 1 <= default.accept_minutes <= 10080 and 1 <= default.resolve_hours <= 8760


# --- codes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("CITY", True),
        ("CITY.GARBAGE", True),
        ("A1", True),
        ("SERVICE.ELDERLY_CARE.V2", True),
        ("X" * 32, True),
        ("X" * 33, False),
        ("A", False),
        ("1CITY", False),
        ("city", False),
        ("CITY.", False),
        ("CITY..X", False),
        ("CITY-X", False),
        ("CITY\n", False),
        ("", False),
    ],
)
def test_is_valid_code(code, valid):
    assert is_valid_code(code) is valid
