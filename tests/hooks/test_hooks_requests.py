"""Hooks in, requests: admins manage integrations; an integration pushes resident requests with its API key or
an HMAC signature; a repeated external_id files nothing new; its area is enforced; forgeries, stale timestamps
and replays are refused."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from auth.models import Account
from hooks.integrations.models import Integration, PushedRequest
from kernel import clock
from kernel.extensions import db
from tasks.tickets.models import ResidentRequest, Ticket
from tests.support.http import assert_error
from tests.support.tasks import RESIDENT_PHONE

URL = "/api/v1/integrations"
PUSH = "/api/v1/hooks/requests"
FIELDS = {
    "id",
    "name",
    "description",
    "auth_method",
    "key_id",
    "grid_id",
    "account_id",
    "active",
    "category_map",
    "default_category",
    "last_used_at",
    "created_at",
    "updated_at",
}
SECRET = "hotline-platform-signing-secret"


def create(world, **fields: Any) -> dict[str, Any]:
    body = {"name": "12345 热线平台", **fields}
    response = world.client.post(URL, json=body, headers=world.headers["admin"])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def request_body(world, external_id: str = "HL-2026-0001", **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "category_code": "CITY.GARBAGE",
        "description": "热线来电：小区门口垃圾堆积",
        "grid_id": str(world.tree["G1a"].id),
        "reporter": {"name": "王先生", "phone": RESIDENT_PHONE},
        **fields,
    }


def with_key(world, integration: dict[str, Any], body: dict[str, Any]) -> Any:
    return world.client.post(PUSH, json=body, headers={"X-Api-Key": integration["api_key"]})


def signed_headers(key_id: str, secret: str, raw: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Grid-Key-Id": key_id,
        "X-Grid-Timestamp": stamp,
        "X-Grid-Signature": f"sha256={digest}",
    }


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- managing integrations --------------------------------------------------------------------------------------


def test_an_admin_creates_an_integration_and_is_shown_its_api_key_once(world):
    created = create(world, description="市 12345 热线")
    assert set(created) == FIELDS | {"api_key", "secret"}
    assert created["auth_method"] == "api_key" and created["secret"] is None
    assert created["api_key"].startswith(created["key_id"] + ".") and len(created["api_key"]) > 40
    shown = world.client.get(f"{URL}/{created['id']}", headers=world.headers["admin"])
    assert shown.status_code == 200 and set(shown.get_json()) == FIELDS
    listed = world.client.get(URL, headers=world.headers["admin"]).get_json()
    assert [item["id"] for item in listed["items"]] == [created["id"]] and "api_key" not in listed["items"][0]


def test_the_api_key_is_stored_only_as_its_hash(app, world):
    created = create(world)
    with app.app_context():
        row = db.session.get(Integration, int(created["id"]))
        assert row.key_hash == hashlib.sha256(created["api_key"].encode()).hexdigest()
        assert created["api_key"] not in json.dumps([row.key_hash, row.key_id, row.secret])


def test_an_integration_owns_an_inactive_service_account_placed_on_its_grid(app, world):
    created = create(world, grid_id=str(world.tree["S1"].id))
    with app.app_context():
        account = db.session.get(Account, int(created["account_id"]))
        assert (account.role, account.scope_grid_id, account.active) == ("supervisor", world.tree["S1"].id, False)
        assert account.display_name == "12345 热线平台"
    login = world.client.post("/api/v1/auth/login", json={"username": account.username, "password": "!integration"})
    assert login.status_code == 401


def test_an_unscoped_integration_acts_as_an_admin_account(app, world):
    created = create(world)
    with app.app_context():
        assert db.session.get(Account, int(created["account_id"])).role == "admin"


def test_an_hmac_integration_is_shown_its_generated_secret_once(world):
    created = create(world, auth_method="hmac")
    assert created["api_key"] is None and len(created["secret"]) >= 32
    given = create(world, auth_method="hmac", secret=SECRET)
    assert given["secret"] == SECRET


def test_an_admin_renames_moves_and_pauses_an_integration(app, world):
    created = create(world)
    path = f"{URL}/{created['id']}"
    etag = world.client.get(path, headers=world.headers["admin"]).headers["ETag"]
    changes = {"name": "城运中心", "grid_id": str(world.tree["C1"].id), "active": False}
    response = world.client.patch(path, json=changes, headers={**world.headers["admin"], "If-Match": etag})
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in changes} == changes
    with app.app_context():
        account = db.session.get(Account, int(created["account_id"]))
        placed = (account.display_name, account.role, account.scope_grid_id)
        assert placed == ("城运中心", "supervisor", world.tree["C1"].id)


def test_a_patch_with_a_stale_if_match_is_412(world):
    created = create(world)
    response = world.client.patch(
        f"{URL}/{created['id']}", json={"name": "x"}, headers={**world.headers["admin"], "If-Match": '"stale"'}
    )
    assert_error(response, 412, "precondition_failed")


def test_a_deleted_integration_is_gone_and_its_key_refused(app, world):
    created = create(world)
    assert world.client.delete(f"{URL}/{created['id']}", headers=world.headers["admin"]).status_code == 204
    assert_error(world.client.get(f"{URL}/{created['id']}", headers=world.headers["admin"]), 404, "not_found")
    assert_error(with_key(world, created, request_body(world)), 401, "unauthorized")
    with app.app_context():
        row = db.session.get(Integration, int(created["id"]))
        assert row.key_hash is None and row.deleted_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "grid_id": "999999"}, "grid_id"),
        ({"name": "x", "auth_method": "password"}, "auth_method"),
        ({"name": "x", "secret": SECRET}, "secret"),
        ({"name": "x", "auth_method": "hmac", "secret": "short"}, "secret"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_an_integration_that_breaks_the_rules_is_422_and_nothing_is_created(app, world, body, field):
    response = world.client.post(URL, json=body, headers=world.headers["admin"])
    assert field in assert_error(response, 422, "validation_error")["details"]
    assert count(app, Integration) == 0


def test_a_secret_cannot_be_set_on_an_api_key_integration(world):
    created = create(world)
    response = world.client.patch(f"{URL}/{created['id']}", json={"secret": SECRET}, headers=world.headers["admin"])
    assert "secret" in assert_error(response, 422, "validation_error")["details"]


@pytest.mark.parametrize("role", ["supervisor", "worker", "volunteer"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("get", URL, None), ("post", URL, {"name": "x"}), ("get", f"{URL}/1", None), ("patch", f"{URL}/1", {"name": "y"})],
)
def test_only_admins_manage_integrations(world, role, method, path, body):
    create(world)
    response = getattr(world.client, method)(path, json=body, headers=world.headers[role])
    assert_error(response, 403, "forbidden")


def test_managing_integrations_needs_a_token(world):
    assert_error(world.client.get(URL), 401, "unauthorized")
    assert_error(world.client.delete(f"{URL}/1"), 401, "unauthorized")


# --- pushing with an API key --------------------------------------------------------------------------------------


def test_an_integration_pushes_a_request_that_opens_a_ticket(app, world):
    integration = create(world)
    response = with_key(world, integration, request_body(world))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["external_id"] == "HL-2026-0001"
    assert body["request"]["channel"] == "hotline"
    assert body["request"]["reporter"]["phone"] == "139****5678"
    assert body["ticket"]["status"] == "pending" and body["ticket"]["allowed_actions"] == []
    assert body["ticket"]["grid"]["id"] == str(world.tree["G1a"].id)


def test_the_ticket_record_says_which_integration_filed_it(world):
    integration = create(world)
    ticket = with_key(world, integration, request_body(world)).get_json()["ticket"]
    events = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["admin"]).get_json()
    (created,) = [event for event in events["items"] if event["action"] == "create"]
    assert created["actor"]["id"] == integration["account_id"]
    assert created["actor"]["display_name"] == "12345 热线平台"
    assert created["details"] == {
        "channel": "hotline",
        "integration_id": integration["id"],
        "integration": "12345 热线平台",
        "external_id": "HL-2026-0001",
    }


def test_a_repeated_external_id_returns_the_first_request_and_files_nothing(app, world):
    integration = create(world)
    first = with_key(world, integration, request_body(world))
    again = with_key(world, integration, request_body(world, description="重复推送"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["request"] == first.get_json()["request"]
    assert again.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]
    assert count(app, ResidentRequest) == 1 and count(app, Ticket) == 1


def test_the_same_external_id_from_another_integration_is_another_request(app, world):
    one, other = create(world), create(world, name="城运中心")
    assert with_key(world, one, request_body(world)).status_code == 201
    assert with_key(world, other, request_body(world)).status_code == 201
    assert count(app, Ticket) == 2


def test_two_concurrent_pushes_of_one_external_id_file_it_once(app, world):
    integration = create(world)
    answers: list[int] = []

    def push() -> None:
        with app.test_client() as client:
            answer = client.post(PUSH, json=request_body(world), headers={"X-Api-Key": integration["api_key"]})
            answers.append(answer.status_code)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 200, 200, 201]
    assert count(app, Ticket) == 1 and count(app, PushedRequest) == 1


def test_a_request_outside_the_integrations_area_is_422_and_leaves_nothing(app, world):
    integration = create(world, grid_id=str(world.tree["S2"].id))
    response = with_key(world, integration, request_body(world))  # G1a lies in S1
    assert "grid_id" in assert_error(response, 422, "validation_error")["details"]
    assert count(app, Ticket) == 0 and count(app, PushedRequest) == 0


def test_a_request_inside_the_integrations_area_is_filed(world):
    integration = create(world, grid_id=str(world.tree["S1"].id))
    assert with_key(world, integration, request_body(world)).status_code == 201


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"external_id": ""}, "external_id"),
        ({"external_id": "has space"}, "external_id"),
        ({"category_code": "NOPE"}, "category_code"),
        ({"description": ""}, "description"),
        ({"photos": ["1"]}, "photos"),
        ({"channel": "fax"}, "channel"),
        ({"reporter": {"phone": "12"}}, "reporter"),
    ],
)
def test_a_bad_push_is_422_in_the_one_shape_and_nothing_is_written(app, world, fields, field):
    integration = create(world)
    response = with_key(world, integration, request_body(world, **fields))
    assert field in assert_error(response, 422, "validation_error")["details"]
    assert count(app, Ticket) == 0 and count(app, PushedRequest) == 0
    # The id was not used up by the failure.
    assert with_key(world, integration, request_body(world)).status_code == 201


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Key": "nonsense"},
        {"X-Api-Key": "ik000000000000.wrong"},
        {"Authorization": "Bearer whatever"},
    ],
)
def test_a_push_without_a_valid_key_is_401(app, world, headers):
    create(world)
    assert_error(world.client.post(PUSH, json=request_body(world), headers=headers), 401, "unauthorized")
    assert count(app, Ticket) == 0


def test_a_key_with_a_wrong_secret_part_is_401(world):
    integration = create(world)
    forged = integration["api_key"][:-4] + "AAAA"
    assert_error(world.client.post(PUSH, json=request_body(world), headers={"X-Api-Key": forged}), 401, "unauthorized")


def test_a_paused_integration_is_refused(world):
    integration = create(world, active=False)
    assert_error(with_key(world, integration, request_body(world)), 401, "unauthorized")


def test_the_401_comes_before_the_body_is_read(world):
    response = world.client.post(PUSH, json={"garbage": True}, headers={"X-Api-Key": "nope"})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/tickets"), ("get", URL), ("post", "/api/v1/requests"), ("get", "/api/v1/auth/me")],
)
def test_an_integration_key_opens_no_other_endpoint(world, method, path):
    integration = create(world)
    for headers in ({"X-Api-Key": integration["api_key"]}, {"Authorization": f"Bearer {integration['api_key']}"}):
        response = getattr(world.client, method)(path, json=request_body(world), headers=headers)
        assert_error(response, 401, "unauthorized")


# --- pushing with a signature ------------------------------------------------------------------------------------


def signed(world, integration: dict[str, Any], body: dict[str, Any], **kwargs: Any) -> Any:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(integration["key_id"], integration["secret"], raw, **kwargs)
    return world.client.post(PUSH, data=raw, headers=headers)


def test_a_signed_push_is_filed(world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    response = signed(world, integration, request_body(world))
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_forged_signature_is_401(world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    forged = {**integration, "secret": "not-the-secret-at-all-0123"}
    assert_error(signed(world, forged, request_body(world)), 401, "unauthorized")


def test_a_tampered_body_is_401(world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    raw = json.dumps(request_body(world)).encode()
    headers = signed_headers(integration["key_id"], SECRET, raw)
    tampered = raw.replace("垃圾".encode(), b"xx") if "垃圾".encode() in raw else raw + b" "
    assert_error(world.client.post(PUSH, data=tampered, headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_timestamp_is_401(world, skew):
    integration = create(world, auth_method="hmac", secret=SECRET)
    response = signed(world, integration, request_body(world), timestamp=int(time.time()) + skew)
    assert "X-Grid-Timestamp" in assert_error(response, 401, "unauthorized")["details"]


def test_a_replayed_signed_request_is_401_and_files_nothing_more(app, world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    raw = json.dumps(request_body(world)).encode()
    headers = signed_headers(integration["key_id"], SECRET, raw)
    assert world.client.post(PUSH, data=raw, headers=headers).status_code == 201
    replay = world.client.post(PUSH, data=raw, headers=headers)
    assert "X-Grid-Signature" in assert_error(replay, 401, "unauthorized")["details"]
    assert count(app, Ticket) == 1


def test_a_resigned_repeat_returns_the_first_request(world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    first = signed(world, integration, request_body(world), timestamp=int(time.time()) - 1)
    again = signed(world, integration, request_body(world))
    assert (first.status_code, again.status_code) == (201, 200)


def test_a_rotated_secret_signs_from_then_on(world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    new = "a-brand-new-signing-secret-42"
    patched = world.client.patch(f"{URL}/{integration['id']}", json={"secret": new}, headers=world.headers["admin"])
    assert patched.status_code == 200 and "secret" not in patched.get_json()
    assert_error(signed(world, integration, request_body(world)), 401, "unauthorized")
    assert signed(world, {**integration, "secret": new}, request_body(world)).status_code == 201


def test_an_api_key_does_not_work_for_a_signed_integration_nor_a_signature_for_a_key_one(world):
    keyed = create(world)
    signing = create(world, auth_method="hmac", secret=SECRET)
    assert_error(signed(world, {**keyed, "secret": SECRET}, request_body(world)), 401, "unauthorized")
    as_key = {"api_key": signing["key_id"] + "." + SECRET}
    assert_error(with_key(world, as_key, request_body(world)), 401, "unauthorized")


def test_the_clock_decides_staleness(world):
    integration = create(world, auth_method="hmac", secret=SECRET)
    clock.travel(-timedelta(hours=1))
    assert_error(signed(world, integration, request_body(world)), 401, "unauthorized")
