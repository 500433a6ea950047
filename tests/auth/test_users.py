"""Accounts through the HTTP API: who manages whom, fields and validation, deactivation, lists, ETags.

The `tree` fixture: D › S1, S2; C1 in S1, C2 in S2; cells G1a, G1b in C1, G2a in C2.
The supervisor below covers S1, so S1, C1, G1a and G1b are within their reach.
"""

import base64
import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from auth import service
from auth.models import Account
from kernel.extensions import db
from tests.support.accounts import ACCOUNT_FIELDS, PASSWORD
from tests.support.http import assert_error, bearer

USERS = "/api/v1/users"
NEW_PASSWORD = "a-fresh-long-password"
MISSING_ID = "987654321"

# Accounts around a supervisor of S1: (role, unit in `tree`, within the supervisor's reach).
REACH = [
    ("worker", "G1a", True),
    ("worker", "C1", True),
    ("volunteer", "G1b", True),
    ("volunteer", "S1", True),
    ("worker", "G2a", False),
    ("volunteer", "S2", False),
    ("worker", "D", False),
    ("supervisor", "C1", False),
    ("supervisor", "S2", False),
    ("admin", None, False),
]
WITHIN = [(role, unit) for role, unit, within in REACH if within]
BEYOND = [(role, unit) for role, unit, within in REACH if not within]


def placed(role: str, unit: str | None) -> str:
    return f"{role}@{unit or 'everywhere'}"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def admin(make_account):
    return make_account("admin", username="root.admin")


@pytest.fixture
def supervisor(make_account, tree):
    return make_account("supervisor", unit=tree["S1"], username="sup.s1")


@pytest.fixture
def worker(make_account, tree):
    return make_account("worker", unit=tree["G1a"], username="worker.g1a", display_name="张三")


@pytest.fixture
def place(make_account, tree) -> Callable[..., Account]:
    """An account of `role` at the unit named `unit` in the tree (None for admins)."""

    def make(role: str, unit: str | None, **fields: Any) -> Account:
        return make_account(role, unit=tree[unit] if unit else None, **fields)

    return make


@pytest.fixture
def stored(app) -> Callable[[Any], dict[str, Any] | None]:
    """An account's row as stored (columns by name), or None."""

    def load(account_id: Any) -> dict[str, Any] | None:
        with app.app_context():
            account = db.session.get(Account, int(account_id))
            if account is None:
                return None
            return {column.key: getattr(account, column.key) for column in Account.__table__.columns}

    return load


@pytest.fixture
def usernames(app) -> Callable[[], set[str]]:
    """Every stored username."""

    def load() -> set[str]:
        with app.app_context():
            return set(db.session.scalars(select(Account.username)))

    return load


def new_account(tree, role: str = "worker", unit: str | None = "G1a", **fields: Any) -> dict[str, Any]:
    body = {
        "username": "new.account",
        "display_name": "李四",
        "role": role,
        "scope_grid_id": str(tree[unit].id) if unit else None,
        "password": NEW_PASSWORD,
    }
    body.update(fields)
    return body


def url(account: Account | str) -> str:
    return f"{USERS}/{account if isinstance(account, str) else account.id}"


def me(client, headers):
    return client.get("/api/v1/auth/me", headers=headers)


def login(client, username: str, password: str):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def list_ids(client, headers, **query: Any) -> list[str]:
    """Every id of a list, following next_cursor to the end."""
    ids, cursor = [], None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = client.get(USERS, query_string=params, headers=headers)
        assert response.status_code == 200, response.json
        ids += [item["id"] for item in response.json["items"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return ids


def first_cursor(client, headers, **query: Any) -> str:
    response = client.get(USERS, query_string={"limit": 1, **query}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["next_cursor"], "the arrangement needs a second page"
    return response.json["next_cursor"]


# --- authentication and roles -----------------------------------------------------------------

KINDS = ["list", "create", "read", "update"]


def call(client, kind: str, headers: dict[str, str], target: Account, tree) -> Any:
    """One request of each users endpoint, valid apart from who sends it."""
    if kind == "list":
        return client.get(USERS, headers=headers)
    if kind == "create":
        return client.post(USERS, json=new_account(tree), headers=headers)
    if kind == "read":
        return client.get(url(target), headers=headers)
    return client.patch(url(target), json={"display_name": "改过的名字"}, headers=headers)


@pytest.mark.parametrize("kind", KINDS)
def test_every_users_endpoint_refuses_a_request_without_a_token(client, tree, worker, usernames, stored, kind):
    response = call(client, kind, {}, worker, tree)
    assert_error(response, 401, "unauthorized")
    assert "new.account" not in usernames()
    assert stored(worker.id)["display_name"] == "张三"


@pytest.mark.parametrize("kind", KINDS)
def test_every_users_endpoint_refuses_a_malformed_token(client, tree, worker, kind):
    assert_error(call(client, kind, bearer("not.a.token"), worker, tree), 401, "unauthorized")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ["worker", "volunteer"])
def test_workers_and_volunteers_are_forbidden_every_users_endpoint(
    client, tree, place, auth, usernames, stored, role, kind
):
    caller = place(role, "G1a", display_name="张三")
    response = call(client, kind, auth(caller), caller, tree)
    assert_error(response, 403, "forbidden")
    assert "new.account" not in usernames()
    assert stored(caller.id)["display_name"] == "张三"


# --- reading one account ----------------------------------------------------------------------


def test_an_account_is_returned_with_its_fields_and_ids_as_strings(client, tree, admin, auth, make_account):
    account = make_account("worker", unit=tree["C1"], username="wang.wu", display_name="王五", phone="13812345678")
    response = client.get(url(account), headers=auth(admin))
    assert response.status_code == 200
    body = response.json
    assert set(body) == ACCOUNT_FIELDS
    assert body["id"] == str(account.id)
    assert (body["username"], body["display_name"], body["role"]) == ("wang.wu", "王五", "worker")
    assert (body["phone"], body["active"]) == ("13812345678", True)
    assert body["scope_grid_id"] == str(tree["C1"].id)
    assert body["scope_grid"] == {
        "id": str(tree["C1"].id),
        "code": "C1",
        "name": tree["C1"].name,
        "level": "community",
        "parent_id": str(tree["S1"].id),
    }
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")


def test_an_admin_account_has_no_scope_grid(client, admin, auth):
    body = client.get(url(admin), headers=auth(admin)).json
    assert (body["role"], body["scope_grid_id"], body["scope_grid"]) == ("admin", None, None)


@pytest.mark.parametrize(("role", "unit"), [(r, u) for r, u, _ in REACH], ids=[placed(r, u) for r, u, _ in REACH])
def test_an_admin_reads_any_account(client, admin, auth, place, role, unit):
    account = place(role, unit)
    response = client.get(url(account), headers=auth(admin))
    assert response.status_code == 200
    assert response.json["id"] == str(account.id)


@pytest.mark.parametrize(("role", "unit"), WITHIN, ids=[placed(*p) for p in WITHIN])
def test_a_supervisor_reads_an_account_within_their_subtree(client, supervisor, auth, place, role, unit):
    account = place(role, unit)
    response = client.get(url(account), headers=auth(supervisor))
    assert response.status_code == 200
    assert response.json["id"] == str(account.id)


@pytest.mark.parametrize(("role", "unit"), BEYOND, ids=[placed(*p) for p in BEYOND])
def test_a_supervisor_gets_404_for_an_account_beyond_their_reach(client, supervisor, auth, place, role, unit):
    account = place(role, unit)
    assert_error(client.get(url(account), headers=auth(supervisor)), 404, "not_found")


def test_a_supervisor_gets_404_for_their_own_account_which_is_not_theirs_to_manage(client, supervisor, auth):
    assert_error(client.get(url(supervisor), headers=auth(supervisor)), 404, "not_found")


@pytest.mark.parametrize("actor", ["admin", "supervisor"])
def test_an_unknown_account_is_404(client, admin, supervisor, auth, actor):
    caller = admin if actor == "admin" else supervisor
    assert_error(client.get(url(MISSING_ID), headers=auth(caller)), 404, "not_found")


def test_a_non_numeric_account_id_is_404(client, admin, auth):
    assert_error(client.get(url("abc"), headers=auth(admin)), 404, "not_found")


# --- secrets never leave ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "create", "read", "update", "reset"])
def test_no_response_carries_a_password_or_its_hash(client, tree, admin, worker, auth, kind):
    headers = auth(admin)
    if kind == "list":
        response = client.get(USERS, headers=headers)
    elif kind == "create":
        response = client.post(USERS, json=new_account(tree), headers=headers)
    elif kind == "read":
        response = client.get(url(worker), headers=headers)
    elif kind == "update":
        response = client.patch(url(worker), json={"display_name": "改名"}, headers=headers)
    else:
        response = client.patch(url(worker), json={"password": NEW_PASSWORD}, headers=headers)
    assert response.status_code in {200, 201}, response.json
    text = response.get_data(as_text=True).lower()
    assert "password" not in text
    assert "argon2" not in text
    assert NEW_PASSWORD not in text


# --- creating accounts ------------------------------------------------------------------------

ROLE_PLACES = [("admin", None), ("supervisor", "S1"), ("worker", "G1a"), ("volunteer", "C2")]


@pytest.mark.parametrize(("role", "unit"), ROLE_PLACES, ids=[placed(*p) for p in ROLE_PLACES])
def test_an_admin_creates_an_account_of_any_role_anywhere(client, tree, admin, auth, stored, role, unit):
    body = new_account(tree, role, unit, phone="13912345678")
    response = client.post(USERS, json=body, headers=auth(admin))
    assert response.status_code == 201, response.json
    created = response.json
    assert set(created) == ACCOUNT_FIELDS
    assert isinstance(created["id"], str)
    assert (created["username"], created["display_name"], created["role"]) == ("new.account", "李四", role)
    assert created["scope_grid_id"] == body["scope_grid_id"]
    assert (created["phone"], created["active"]) == ("13912345678", True)
    row = stored(created["id"])
    assert (row["username"], row["role"], row["active"]) == ("new.account", role, True)
    assert row["scope_grid_id"] == (tree[unit].id if unit else None)


def test_a_created_account_is_served_as_it_was_returned(client, tree, admin, auth):
    headers = auth(admin)
    created = client.post(USERS, json=new_account(tree), headers=headers).json
    assert client.get(url(created["id"]), headers=headers).json == created


def test_a_created_account_logs_in_with_its_password(client, tree, admin, auth):
    assert client.post(USERS, json=new_account(tree), headers=auth(admin)).status_code == 201
    response = login(client, "new.account", NEW_PASSWORD)
    assert response.status_code == 200
    assert response.json["user"]["username"] == "new.account"


def test_an_account_may_be_created_inactive(client, tree, admin, auth, stored):
    response = client.post(USERS, json=new_account(tree, active=False), headers=auth(admin))
    assert response.status_code == 201
    assert response.json["active"] is False
    assert stored(response.json["id"])["active"] is False


def test_a_username_is_stored_in_lowercase(client, tree, admin, auth, usernames):
    response = client.post(USERS, json=new_account(tree, username="Zhang.San-01"), headers=auth(admin))
    assert response.status_code == 201
    assert response.json["username"] == "zhang.san-01"
    assert "zhang.san-01" in usernames()


@pytest.mark.parametrize("username", ["taken.name", "TAKEN.NAME", "Taken.Name"])
def test_a_username_already_taken_in_any_case_is_409(client, tree, admin, auth, make_account, usernames, username):
    make_account("worker", unit=tree["G1a"], username="taken.name")
    before = usernames()
    response = client.post(USERS, json=new_account(tree, username=username), headers=auth(admin))
    error = assert_error(response, 409, "conflict")
    assert "username" in error["details"]
    assert usernames() == before


@pytest.mark.parametrize(
    "password",
    ["short-pw1", "123456789012", "new.account.x", "NEW.ACCOUNT.X"],
    ids=["under-10-characters", "only-digits", "the-username", "the-username-in-capitals"],
)
def test_a_weak_password_is_422_naming_password(client, tree, admin, auth, usernames, password):
    body = new_account(tree, username="new.account.x", password=password)
    error = assert_error(client.post(USERS, json=body, headers=auth(admin)), 422, "validation_error")
    assert list(error["details"]) == ["password"]
    assert "new.account.x" not in usernames()


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "+8613812345678", "138-1234-5678"])
def test_a_mainland_mobile_number_is_accepted_and_stored_as_11_digits(client, tree, admin, auth, stored, phone):
    response = client.post(USERS, json=new_account(tree, phone=phone), headers=auth(admin))
    assert response.status_code == 201, response.json
    assert response.json["phone"] == "13812345678"
    assert stored(response.json["id"])["phone"] == "13812345678"


@pytest.mark.parametrize("phone", ["12345", "010-12345678", "+1 650 253 0000", "1381234567", "telephone", ""])
def test_a_phone_that_is_not_a_mainland_mobile_is_422(client, tree, admin, auth, usernames, phone):
    response = client.post(USERS, json=new_account(tree, phone=phone), headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "phone" in error["details"]
    assert "new.account" not in usernames()


def test_an_account_may_be_created_without_a_phone(client, tree, admin, auth):
    response = client.post(USERS, json=new_account(tree), headers=auth(admin))
    assert response.status_code == 201
    assert response.json["phone"] is None


@pytest.mark.parametrize(
    "extra", [{"nickname": "x"}, {"password_hash": "x"}, {"id": "5"}, {"created_at": "2026-01-01T00:00:00Z"}]
)
def test_an_unknown_field_in_a_create_is_422(client, tree, admin, auth, usernames, extra):
    response = client.post(USERS, json=new_account(tree, **extra), headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert set(extra) <= set(error["details"])
    assert "new.account" not in usernames()


@pytest.mark.parametrize("field", ["username", "display_name", "role", "password"])
def test_a_create_missing_a_required_field_is_422(client, tree, admin, auth, usernames, field):
    body = new_account(tree)
    del body[field]
    error = assert_error(client.post(USERS, json=body, headers=auth(admin)), 422, "validation_error")
    assert field in error["details"]
    assert "new.account" not in usernames()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "has space"),
        ("username", "网格员"),
        ("username", "x" * 65),
        ("display_name", ""),
        ("display_name", "   "),
        ("display_name", "名" * 65),
        ("role", "superuser"),
        ("scope_grid_id", "abc"),
        ("active", "maybe"),
    ],
)
def test_a_create_with_an_invalid_value_is_422_naming_the_field(client, tree, admin, auth, usernames, field, value):
    response = client.post(USERS, json=new_account(tree, **{field: value}), headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert field in error["details"]
    assert "new.account" not in usernames()


def test_an_admin_account_with_a_scope_grid_is_422(client, tree, admin, auth, usernames):
    body = new_account(tree, "admin", "D")
    error = assert_error(client.post(USERS, json=body, headers=auth(admin)), 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert "new.account" not in usernames()


@pytest.mark.parametrize("role", ["supervisor", "worker", "volunteer"])
@pytest.mark.parametrize("omitted", [True, False], ids=["omitted", "null"])
def test_a_non_admin_account_without_a_scope_grid_is_422(client, tree, admin, auth, usernames, role, omitted):
    body = new_account(tree, role, None)
    if omitted:
        del body["scope_grid_id"]
    error = assert_error(client.post(USERS, json=body, headers=auth(admin)), 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert "new.account" not in usernames()


@pytest.mark.parametrize("actor", ["admin", "supervisor"])
def test_a_nonexistent_scope_grid_is_422(client, tree, admin, supervisor, auth, usernames, actor):
    body = new_account(tree, scope_grid_id=MISSING_ID)
    caller = admin if actor == "admin" else supervisor
    error = assert_error(client.post(USERS, json=body, headers=auth(caller)), 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert "new.account" not in usernames()


@pytest.mark.parametrize(("role", "unit"), WITHIN, ids=[placed(*p) for p in WITHIN])
def test_a_supervisor_creates_a_worker_or_volunteer_within_their_subtree(
    client, tree, supervisor, auth, stored, role, unit
):
    response = client.post(USERS, json=new_account(tree, role, unit), headers=auth(supervisor))
    assert response.status_code == 201, response.json
    assert (response.json["role"], response.json["scope_grid_id"]) == (role, str(tree[unit].id))
    assert stored(response.json["id"])["scope_grid_id"] == tree[unit].id


@pytest.mark.parametrize(("role", "unit"), BEYOND, ids=[placed(*p) for p in BEYOND])
def test_a_supervisor_may_not_create_an_account_beyond_their_reach(
    client, tree, supervisor, auth, usernames, role, unit
):
    response = client.post(USERS, json=new_account(tree, role, unit), headers=auth(supervisor))
    assert_error(response, 403, "forbidden")
    assert "new.account" not in usernames()


@pytest.mark.parametrize("role", ["admin", "supervisor"])
def test_a_supervisor_may_not_create_an_admin_or_supervisor_even_at_their_own_unit(
    client, tree, supervisor, auth, usernames, role
):
    response = client.post(USERS, json=new_account(tree, role, "S1"), headers=auth(supervisor))
    assert_error(response, 403, "forbidden")
    assert "new.account" not in usernames()


# --- changing accounts ------------------------------------------------------------------------


def test_an_admin_changes_a_display_name_and_phone(client, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"display_name": "张三丰", "phone": "13912345678"}, headers=auth(admin))
    assert response.status_code == 200
    assert (response.json["display_name"], response.json["phone"]) == ("张三丰", "13912345678")
    row = stored(worker.id)
    assert (row["display_name"], row["phone"]) == ("张三丰", "13912345678")


def test_a_patch_changes_only_the_fields_it_names(client, admin, worker, auth):
    headers = auth(admin)
    before = client.get(url(worker), headers=headers).json
    after = client.patch(url(worker), json={"display_name": "张三丰"}, headers=headers).json
    unchanged = ACCOUNT_FIELDS - {"display_name", "updated_at"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_a_phone_is_cleared_with_null(client, tree, admin, auth, make_account, stored):
    account = make_account("worker", unit=tree["G1a"], phone="13812345678")
    response = client.patch(url(account), json={"phone": None}, headers=auth(admin))
    assert response.status_code == 200
    assert response.json["phone"] is None
    assert stored(account.id)["phone"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "010-12345678"),
        ("phone", "+1 650 253 0000"),
        ("phone", "12345"),
        ("display_name", "  "),
        ("display_name", None),
        ("role", "superuser"),
        ("active", None),
        ("scope_grid_id", "abc"),
    ],
)
def test_a_patch_with_an_invalid_value_is_422_and_changes_nothing(client, admin, worker, auth, stored, field, value):
    before = stored(worker.id)
    response = client.patch(url(worker), json={field: value}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert field in error["details"]
    assert stored(worker.id) == before


@pytest.mark.parametrize("field", ["username", "id", "created_at", "password_hash", "nickname"])
def test_a_patch_with_an_unknown_or_read_only_field_is_422(client, admin, worker, auth, stored, field):
    before = stored(worker.id)
    response = client.patch(url(worker), json={field: "x", "display_name": "改名"}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert field in error["details"]
    assert stored(worker.id) == before


def test_patching_an_unknown_account_is_404(client, admin, auth):
    assert_error(client.patch(url(MISSING_ID), json={"display_name": "x"}, headers=auth(admin)), 404, "not_found")


@pytest.mark.parametrize(("role", "unit"), WITHIN, ids=[placed(*p) for p in WITHIN])
def test_a_supervisor_changes_an_account_within_their_subtree(client, supervisor, auth, place, stored, role, unit):
    account = place(role, unit)
    response = client.patch(url(account), json={"display_name": "改过的名字"}, headers=auth(supervisor))
    assert response.status_code == 200
    assert stored(account.id)["display_name"] == "改过的名字"


@pytest.mark.parametrize(("role", "unit"), BEYOND, ids=[placed(*p) for p in BEYOND])
def test_a_supervisor_gets_404_changing_an_account_beyond_their_reach(
    client, supervisor, auth, place, stored, role, unit
):
    account = place(role, unit)
    before = stored(account.id)
    response = client.patch(url(account), json={"active": False}, headers=auth(supervisor))
    assert_error(response, 404, "not_found")
    assert stored(account.id) == before


@pytest.mark.parametrize("target", ["worker", "volunteer"])
def test_a_supervisor_switches_an_account_between_worker_and_volunteer(client, supervisor, auth, place, stored, target):
    account = place("volunteer" if target == "worker" else "worker", "C1")
    response = client.patch(url(account), json={"role": target}, headers=auth(supervisor))
    assert response.status_code == 200
    assert response.json["role"] == target
    assert stored(account.id)["role"] == target


@pytest.mark.parametrize(
    "change",
    [{"role": "supervisor"}, {"role": "admin", "scope_grid_id": None}, {"role": "admin"}],
    ids=["to-supervisor", "to-admin", "to-admin-keeping-the-grid"],
)
def test_a_supervisor_may_not_promote_an_account(client, supervisor, worker, auth, stored, change):
    before = stored(worker.id)
    response = client.patch(url(worker), json=change, headers=auth(supervisor))
    assert_error(response, 403, "forbidden")
    assert stored(worker.id) == before


@pytest.mark.parametrize("unit", ["G1b", "C1", "S1"])
def test_a_supervisor_moves_an_account_within_their_subtree(client, tree, supervisor, worker, auth, stored, unit):
    response = client.patch(url(worker), json={"scope_grid_id": str(tree[unit].id)}, headers=auth(supervisor))
    assert response.status_code == 200
    assert response.json["scope_grid_id"] == str(tree[unit].id)
    assert response.json["scope_grid"]["code"] == unit
    assert stored(worker.id)["scope_grid_id"] == tree[unit].id


@pytest.mark.parametrize("unit", ["G2a", "C2", "S2", "D"])
def test_a_supervisor_may_not_move_an_account_beyond_their_subtree(
    client, tree, supervisor, worker, auth, stored, unit
):
    response = client.patch(url(worker), json={"scope_grid_id": str(tree[unit].id)}, headers=auth(supervisor))
    assert_error(response, 403, "forbidden")
    assert stored(worker.id)["scope_grid_id"] == tree["G1a"].id


def test_an_admin_moves_an_account_anywhere(client, tree, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"scope_grid_id": str(tree["G2a"].id)}, headers=auth(admin))
    assert response.status_code == 200
    assert stored(worker.id)["scope_grid_id"] == tree["G2a"].id


def test_moving_an_account_to_a_nonexistent_unit_is_422(client, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"scope_grid_id": MISSING_ID}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert stored(worker.id)["scope_grid_id"] == worker.scope_grid_id


def test_clearing_the_scope_grid_of_a_non_admin_is_422(client, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"scope_grid_id": None}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert stored(worker.id)["scope_grid_id"] == worker.scope_grid_id


def test_an_admin_promotes_a_worker_to_supervisor(client, tree, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"role": "supervisor"}, headers=auth(admin))
    assert response.status_code == 200
    assert (response.json["role"], response.json["scope_grid_id"]) == ("supervisor", str(tree["G1a"].id))
    assert stored(worker.id)["role"] == "supervisor"


def test_an_admin_promotes_a_worker_to_admin_by_clearing_its_scope_grid(client, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"role": "admin", "scope_grid_id": None}, headers=auth(admin))
    assert response.status_code == 200
    assert (response.json["role"], response.json["scope_grid_id"], response.json["scope_grid"]) == ("admin", None, None)
    row = stored(worker.id)
    assert (row["role"], row["scope_grid_id"]) == ("admin", None)


def test_promoting_to_admin_while_keeping_a_scope_grid_is_422(client, admin, worker, auth, stored):
    response = client.patch(url(worker), json={"role": "admin"}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert stored(worker.id)["role"] == "worker"


def test_giving_an_admin_a_scope_grid_is_422(client, tree, admin, make_account, auth, stored):
    other = make_account("admin")
    response = client.patch(url(other), json={"scope_grid_id": str(tree["D"].id)}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "scope_grid_id" in error["details"]
    assert stored(other.id)["scope_grid_id"] is None


# --- deactivation, deletion and the last admin ------------------------------------------------


def test_deactivating_an_account_ends_its_tokens_at_once(client, admin, worker, auth, tokens_for, stored):
    session = tokens_for(worker)
    assert me(client, bearer(session["access"])).status_code == 200
    response = client.patch(url(worker), json={"active": False}, headers=auth(admin))
    assert response.status_code == 200
    assert response.json["active"] is False
    assert stored(worker.id)["active"] is False
    assert_error(me(client, bearer(session["access"])), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(session["refresh"])), 401, "unauthorized")


def test_a_supervisor_deactivates_an_account_within_their_subtree_and_its_tokens_end(
    client, supervisor, worker, auth, stored
):
    worker_headers = auth(worker)
    response = client.patch(url(worker), json={"active": False}, headers=auth(supervisor))
    assert response.status_code == 200
    assert stored(worker.id)["active"] is False
    assert_error(me(client, worker_headers), 401, "unauthorized")


def test_a_deactivated_account_cannot_log_in(client, admin, worker, auth):
    client.patch(url(worker), json={"active": False}, headers=auth(admin))
    assert_error(login(client, "worker.g1a", PASSWORD), 401, "unauthorized")


def test_a_deactivated_account_stays_readable_by_its_managers(client, admin, worker, auth):
    headers = auth(admin)
    client.patch(url(worker), json={"active": False}, headers=headers)
    response = client.get(url(worker), headers=headers)
    assert response.status_code == 200
    assert response.json["active"] is False


def test_reactivating_an_account_lets_it_log_in_but_does_not_revive_old_tokens(client, admin, worker, auth, stored):
    worker_headers = auth(worker)
    headers = auth(admin)
    client.patch(url(worker), json={"active": False}, headers=headers)
    response = client.patch(url(worker), json={"active": True}, headers=headers)
    assert response.status_code == 200
    assert stored(worker.id)["active"] is True
    assert_error(me(client, worker_headers), 401, "unauthorized")
    assert login(client, "worker.g1a", PASSWORD).status_code == 200


# --- a token's holder is read afresh on every request ----------------------------------------------


def test_a_moved_supervisors_token_covers_their_new_subtree_at_once(client, tree, admin, supervisor, auth):
    supervisor_headers = auth(supervisor)
    assert client.get(f"/api/v1/grids/{tree['G1a'].id}", headers=supervisor_headers).status_code == 200
    assert_error(client.get(f"/api/v1/grids/{tree['G2a'].id}", headers=supervisor_headers), 404, "not_found")
    response = client.patch(url(supervisor), json={"scope_grid_id": str(tree["S2"].id)}, headers=auth(admin))
    assert response.status_code == 200
    assert client.get(f"/api/v1/grids/{tree['G2a'].id}", headers=supervisor_headers).status_code == 200
    assert_error(client.get(f"/api/v1/grids/{tree['G1a'].id}", headers=supervisor_headers), 404, "not_found")


def test_a_supervisor_made_a_worker_loses_the_managers_endpoints_at_once(client, tree, admin, supervisor, auth):
    supervisor_headers = auth(supervisor)
    assert client.get(USERS, headers=supervisor_headers).status_code == 200
    change = {"role": "worker", "scope_grid_id": str(tree["G1a"].id)}
    assert client.patch(url(supervisor), json=change, headers=auth(admin)).status_code == 200
    assert_error(client.get(USERS, headers=supervisor_headers), 403, "forbidden")
    assert me(client, supervisor_headers).json["role"] == "worker"


def test_me_shows_a_change_made_by_a_manager_at_once(client, tree, supervisor, worker, auth):
    worker_headers = auth(worker)
    assert me(client, worker_headers).json["display_name"] == "张三"
    change = {"display_name": "李四", "scope_grid_id": str(tree["G1b"].id)}
    assert client.patch(url(worker), json=change, headers=auth(supervisor)).status_code == 200
    body = me(client, worker_headers).json
    assert (body["display_name"], body["scope_grid_id"]) == ("李四", str(tree["G1b"].id))


@pytest.mark.parametrize(("path", "methods"), [("account", {"GET", "PATCH"}), ("collection", {"GET", "POST"})])
def test_accounts_are_never_deleted_delete_is_405_with_an_allow_header(
    client, admin, worker, auth, stored, path, methods
):
    response = client.delete(url(worker) if path == "account" else USERS, headers=auth(admin))
    assert_error(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert methods <= allowed
    assert "DELETE" not in allowed
    assert stored(worker.id) is not None


def test_the_last_active_admin_cannot_deactivate_themselves(client, admin, auth, stored):
    headers = auth(admin)
    response = client.patch(url(admin), json={"active": False}, headers=headers)
    error = assert_error(response, 409, "conflict")
    assert "active" in error["details"]
    assert stored(admin.id)["active"] is True
    assert me(client, headers).status_code == 200


def test_the_last_active_admin_cannot_demote_themselves(client, tree, admin, auth, stored):
    headers = auth(admin)
    change = {"role": "supervisor", "scope_grid_id": str(tree["D"].id)}
    assert_error(client.patch(url(admin), json=change, headers=headers), 409, "conflict")
    row = stored(admin.id)
    assert (row["role"], row["scope_grid_id"]) == ("admin", None)
    assert me(client, headers).status_code == 200


def test_an_inactive_admin_does_not_count_as_a_remaining_admin(client, admin, make_account, auth, stored):
    make_account("admin", active=False)
    assert_error(client.patch(url(admin), json={"active": False}, headers=auth(admin)), 409, "conflict")
    assert stored(admin.id)["active"] is True


def test_an_admin_is_deactivated_while_another_active_admin_remains(client, admin, make_account, auth, stored):
    other = make_account("admin")
    other_headers = auth(other)
    response = client.patch(url(other), json={"active": False}, headers=auth(admin))
    assert response.status_code == 200
    assert stored(other.id)["active"] is False
    assert_error(me(client, other_headers), 401, "unauthorized")


def test_an_admin_is_demoted_while_another_active_admin_remains(client, tree, admin, make_account, auth, stored):
    other = make_account("admin")
    change = {"role": "supervisor", "scope_grid_id": str(tree["S2"].id)}
    response = client.patch(url(other), json=change, headers=auth(admin))
    assert response.status_code == 200
    assert (response.json["role"], response.json["scope_grid_id"]) == ("supervisor", str(tree["S2"].id))
    assert stored(other.id)["role"] == "supervisor"


# --- password reset ---------------------------------------------------------------------------


def test_an_admin_resets_a_password_and_that_accounts_sessions_end(client, admin, worker, auth, tokens_for):
    session = tokens_for(worker)
    response = client.patch(url(worker), json={"password": NEW_PASSWORD}, headers=auth(admin))
    assert response.status_code == 200
    assert_error(me(client, bearer(session["access"])), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(session["refresh"])), 401, "unauthorized")


def test_after_a_reset_the_new_password_logs_in_and_the_old_one_does_not(client, admin, worker, auth):
    client.patch(url(worker), json={"password": NEW_PASSWORD}, headers=auth(admin))
    assert_error(login(client, "worker.g1a", PASSWORD), 401, "unauthorized")
    assert login(client, "worker.g1a", NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("password", ["short-pw1", "123456789012", "worker.g1a", "WORKER.G1A"])
def test_a_weak_reset_password_is_422_and_keeps_the_password_and_sessions(
    client, admin, worker, auth, stored, password
):
    worker_headers = auth(worker)
    before = stored(worker.id)
    response = client.patch(url(worker), json={"password": password}, headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "password" in error["details"]
    assert stored(worker.id) == before
    assert me(client, worker_headers).status_code == 200


def test_changing_other_fields_does_not_end_sessions(client, admin, worker, auth):
    worker_headers = auth(worker)
    client.patch(url(worker), json={"display_name": "新名字", "phone": "13812345678"}, headers=auth(admin))
    assert me(client, worker_headers).status_code == 200


# --- ETags ------------------------------------------------------------------------------------


def test_reading_an_account_sends_an_etag_and_if_none_match_gives_304(client, admin, worker, auth):
    headers = auth(admin)
    first = client.get(url(worker), headers=headers)
    etag = first.headers["ETag"]
    assert etag
    again = client.get(url(worker), headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag


def test_if_none_match_with_an_outdated_etag_gives_the_current_account(client, admin, worker, auth):
    headers = auth(admin)
    etag = client.get(url(worker), headers=headers).headers["ETag"]
    client.patch(url(worker), json={"display_name": "新名字"}, headers=headers)
    response = client.get(url(worker), headers={**headers, "If-None-Match": etag})
    assert response.status_code == 200
    assert response.json["display_name"] == "新名字"
    assert response.headers["ETag"] != etag


def test_a_patch_with_a_stale_if_match_is_412_and_changes_nothing(client, admin, worker, auth, stored):
    headers = auth(admin)
    stale = client.get(url(worker), headers=headers).headers["ETag"]
    assert client.patch(url(worker), json={"display_name": "第一次"}, headers=headers).status_code == 200
    response = client.patch(url(worker), json={"display_name": "第二次"}, headers={**headers, "If-Match": stale})
    assert_error(response, 412, "precondition_failed")
    assert stored(worker.id)["display_name"] == "第一次"


def test_a_patch_with_the_current_if_match_succeeds_with_a_new_etag(client, admin, worker, auth, stored):
    headers = auth(admin)
    etag = client.get(url(worker), headers=headers).headers["ETag"]
    response = client.patch(url(worker), json={"display_name": "新名字"}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] not in {"", etag}
    assert stored(worker.id)["display_name"] == "新名字"
    assert client.get(url(worker), headers=headers).headers["ETag"] == response.headers["ETag"]


def test_the_etag_from_a_patch_is_good_for_the_next_patch(client, admin, worker, auth, stored):
    headers = auth(admin)
    etag = client.patch(url(worker), json={"display_name": "一"}, headers=headers).headers["ETag"]
    response = client.patch(url(worker), json={"display_name": "二"}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200
    assert stored(worker.id)["display_name"] == "二"


def test_a_supervisor_gets_404_not_412_for_an_account_beyond_reach_with_a_stale_if_match(
    client, supervisor, place, auth, stored
):
    outsider = place("worker", "G2a")
    response = client.patch(
        url(outsider), json={"display_name": "x"}, headers={**auth(supervisor), "If-Match": '"stale"'}
    )
    assert_error(response, 404, "not_found")
    assert stored(outsider.id)["display_name"] != "x"


# --- lists ------------------------------------------------------------------------------------


@pytest.fixture
def people(place):
    """An account for every row of REACH, with whether a supervisor of S1 reaches it."""
    return [(place(role, unit), within) for role, unit, within in REACH]


def test_a_list_is_items_and_next_cursor_with_accounts_as_read_one_by_one(client, admin, worker, auth):
    headers = auth(admin)
    response = client.get(USERS, headers=headers)
    assert response.status_code == 200
    assert set(response.json) == {"items", "next_cursor"}
    assert response.json["next_cursor"] is None
    by_id = {item["id"]: item for item in response.json["items"]}
    assert by_id[str(worker.id)] == client.get(url(worker), headers=headers).json


def test_an_admin_lists_every_account_active_or_not(client, admin, people, make_account, auth):
    inactive = make_account("worker", active=False)
    expected = {str(admin.id), str(inactive.id)} | {str(account.id) for account, _ in people}
    ids = list_ids(client, auth(admin))
    assert sorted(ids) == sorted(expected)


def test_a_supervisor_lists_only_workers_and_volunteers_within_their_subtree(client, supervisor, people, auth):
    expected = {str(account.id) for account, within in people if within}
    ids = list_ids(client, auth(supervisor))
    assert sorted(ids) == sorted(expected)


@pytest.mark.parametrize("role", ["admin", "supervisor", "worker", "volunteer"])
def test_an_admin_filters_the_list_by_role(client, admin, people, auth, role):
    ids = list_ids(client, auth(admin), role=role)
    expected = {str(account.id) for account, _ in people if account.role == role}
    if role == "admin":
        expected.add(str(admin.id))
    assert expected and sorted(ids) == sorted(expected)


@pytest.mark.parametrize("role", ["worker", "volunteer", "supervisor", "admin"])
def test_a_supervisors_role_filter_stays_within_their_reach(client, supervisor, people, auth, role):
    ids = list_ids(client, auth(supervisor), role=role)
    expected = {str(account.id) for account, within in people if within and account.role == role}
    assert sorted(ids) == sorted(expected)


@pytest.mark.parametrize("active", ["true", "false"])
def test_the_list_is_filtered_by_active(client, tree, admin, make_account, auth, active):
    on = make_account("worker", unit=tree["G1a"])
    off = make_account("worker", unit=tree["G1a"], active=False)
    ids = list_ids(client, auth(admin), active=active)
    expected = {str(admin.id), str(on.id)} if active == "true" else {str(off.id)}
    assert sorted(ids) == sorted(expected)


@pytest.fixture
def named(tree, make_account):
    """Accounts with telling usernames and display names."""
    return {
        name: make_account("worker", unit=tree["G1a"], username=name, display_name=display)
        for name, display in [
            ("li_lei", "李雷"),
            ("han.meimei", "韩梅梅"),
            ("lilei2", "Li Lei Junior"),
            ("zhou", "周100%"),
        ]
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("lei", {"li_lei", "lilei2"}),
        ("LEI", {"li_lei", "lilei2"}),
        ("Han.Mei", {"han.meimei"}),
        ("梅梅", {"han.meimei"}),
        ("junior", {"lilei2"}),
        ("_", {"li_lei"}),
        ("%", {"zhou"}),
        ("nobody", set()),
    ],
)
def test_q_finds_accounts_by_a_case_insensitive_substring_of_username_or_display_name(
    client, admin, named, auth, q, expected
):
    response = client.get(USERS, query_string={"q": q, "limit": 100}, headers=auth(admin))
    assert response.status_code == 200
    assert {item["username"] for item in response.json["items"]} == expected


def test_a_supervisors_search_stays_within_their_reach(client, tree, supervisor, make_account, auth):
    inside = make_account("worker", unit=tree["G1a"], username="chen.inside")
    make_account("worker", unit=tree["G2a"], username="chen.outside")
    make_account("supervisor", unit=tree["C1"], username="chen.supervisor")
    ids = list_ids(client, auth(supervisor), q="chen")
    assert ids == [str(inside.id)]


def test_filters_combine(client, tree, admin, make_account, auth):
    match = make_account("volunteer", unit=tree["C1"], username="combo.one")
    make_account("worker", unit=tree["C1"], username="combo.two")
    make_account("volunteer", unit=tree["C1"], username="combo.three", active=False)
    make_account("volunteer", unit=tree["C1"], username="other.four")
    assert list_ids(client, auth(admin), role="volunteer", active="true", q="combo") == [str(match.id)]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_a_limit_outside_1_to_100_is_422(client, admin, auth, limit):
    error = assert_error(client.get(f"{USERS}?limit={limit}", headers=auth(admin)), 422, "validation_error")
    assert "limit" in error["details"]


@pytest.mark.parametrize("query", ["role=superuser", "active=maybe", "sort=username", "page=2"])
def test_a_bad_or_unknown_query_parameter_is_422(client, admin, auth, query):
    error = assert_error(client.get(f"{USERS}?{query}", headers=auth(admin)), 422, "validation_error")
    assert query.partition("=")[0] in error["details"]


@pytest.fixture
def crowd(tree, make_account):
    """24 workers; with the admin, 25 accounts."""
    return [make_account("worker", unit=tree["G1a"]) for _ in range(24)]


def test_the_default_page_holds_20_accounts(client, admin, crowd, auth):
    headers = auth(admin)
    first = client.get(USERS, headers=headers).json
    assert len(first["items"]) == 20
    assert isinstance(first["next_cursor"], str)
    second = client.get(USERS, query_string={"cursor": first["next_cursor"]}, headers=headers).json
    assert len(second["items"]) == 5
    assert second["next_cursor"] is None


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_paging_with_any_limit_returns_every_account_exactly_once(client, admin, crowd, auth, limit):
    ids = list_ids(client, auth(admin), limit=limit)
    assert len(ids) == len(set(ids)) == 25


def test_paging_returns_every_account_exactly_once_while_accounts_are_added(client, tree, admin, crowd, auth, place):
    headers = auth(admin)
    before = {str(admin.id)} | {str(account.id) for account in crowd}
    seen, added, cursor = [], set(), None
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = client.get(USERS, query_string=query, headers=headers).json
        seen += [item["id"] for item in page["items"]]
        added.add(str(place("volunteer", "C1").id))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert before <= set(seen) <= before | added


def test_paging_a_supervisors_list_stays_within_their_reach(client, supervisor, people, auth):
    expected = {str(account.id) for account, within in people if within}
    ids = list_ids(client, auth(supervisor), limit=1)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


def _unpadded_b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "abc.def", f"{_unpadded_b64({'k': [1], 'b': 'x'})}.AAAAAAAAAAAAAAAAAAAAAAAA", "游标.签名"],
    ids=["garbage", "dotted-garbage", "unsigned-payload", "non-ascii"],
)
def test_a_forged_cursor_is_400(client, admin, crowd, auth, cursor):
    response = client.get(USERS, query_string={"cursor": cursor}, headers=auth(admin))
    error = assert_error(response, 400, "bad_request")
    assert "cursor" in error["details"]


def test_an_altered_cursor_is_400(client, admin, crowd, auth):
    headers = auth(admin)
    body, _, signature = first_cursor(client, headers).partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"] = [0]
    response = client.get(USERS, query_string={"cursor": f"{_unpadded_b64(payload)}.{signature}"}, headers=headers)
    assert_error(response, 400, "bad_request")


def test_a_cursor_with_a_flipped_signature_character_is_400(client, admin, crowd, auth):
    headers = auth(admin)
    cursor = first_cursor(client, headers)
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    assert_error(client.get(USERS, query_string={"cursor": tampered}, headers=headers), 400, "bad_request")


@pytest.mark.parametrize(
    ("made_with", "used_with"),
    [
        ({}, {"q": "worker"}),
        ({"role": "worker"}, {"role": "volunteer"}),
        ({"role": "worker"}, {}),
        ({"active": "true"}, {"active": "false"}),
        ({"q": "worker"}, {"q": "work"}),
    ],
    ids=["none-then-q", "role-then-other-role", "role-then-none", "active-then-inactive", "q-then-other-q"],
)
def test_a_cursor_used_with_other_filters_is_400(client, admin, crowd, auth, made_with, used_with):
    headers = auth(admin)
    cursor = first_cursor(client, headers, **made_with)
    response = client.get(USERS, query_string={**used_with, "cursor": cursor}, headers=headers)
    error = assert_error(response, 400, "bad_request")
    assert "cursor" in error["details"]


def test_a_cursor_continues_with_another_limit(client, admin, crowd, auth):
    headers = auth(admin)
    cursor = first_cursor(client, headers)
    response = client.get(USERS, query_string={"cursor": cursor, "limit": 100}, headers=headers)
    assert response.status_code == 200
    assert len(response.json["items"]) == 24


def test_a_cursor_from_another_callers_list_is_400(client, tree, admin, supervisor, make_account, auth):
    for _ in range(3):
        make_account("worker", unit=tree["G1a"])
    cursor = first_cursor(client, auth(admin))
    response = client.get(USERS, query_string={"cursor": cursor}, headers=auth(supervisor))
    assert_error(response, 400, "bad_request")


@pytest.mark.slow
def test_two_admins_deactivating_each_other_at_once_leave_one_active_admin(
    app, make_account, auth, stored, monkeypatch
):
    first, second = make_account("admin"), make_account("admin")
    headers = {first.id: auth(first), second.id: auth(second)}
    # Hold each request after its own "an admin remains" check until the other has made it too
    # (or a second has passed, when the other is rightly waiting for the first to finish).
    barrier = threading.Barrier(2)
    original = service._ensure_an_admin_remains

    def check_then_wait() -> None:
        original()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)

    monkeypatch.setattr(service, "_ensure_an_admin_remains", check_then_wait)
    responses = {}

    def deactivate(actor: Account, target: Account) -> None:
        with app.test_client() as own_client:
            responses[actor.id] = own_client.patch(url(target), json={"active": False}, headers=headers[actor.id])

    threads = [
        threading.Thread(target=deactivate, args=(first, second)),
        threading.Thread(target=deactivate, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(response.status_code for response in responses.values()) == [200, 409]
    assert [stored(first.id)["active"], stored(second.id)["active"]].count(True) == 1
