"""Login brakes that cannot be read as an oracle (issue 20, point 2).

- Once an address has had LOGIN_FAILURES_PER_ADDRESS failures in the window, every login from it is 429, right
  password or not, except one presenting a device token (`X-Device-Token`) that the account earned by a successful
  login on that device. A locked account still admits its own devices.
- Unknown usernames count and lock exactly like known ones.
- The counts live in the database: two app processes on one database share them.
"""

import logging
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from auth.models import DeviceToken, FailureCount
from kernel import clock
from kernel.extensions import db
from tests.support.accounts import PASSWORD
from tests.support.http import assert_error, bearer

LOGIN = "/api/v1/auth/login"
WRONG = "not-the-password"
ADDRESS = "10.0.0.7"
DEVICE_HEADER = "X-Device-Token"


def login(client: Any, username: str, password: str = PASSWORD, *, address: str = ADDRESS, device: str | None = None):
    headers = {DEVICE_HEADER: device} if device is not None else {}
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def fail(client: Any, times: int, username: str, *, address: str = ADDRESS) -> list[int]:
    return [login(client, username, WRONG, address=address).status_code for _ in range(times)]


def device_of(client: Any, username: str, *, address: str = "192.168.9.9") -> str:
    """The device token a successful login (from another address) earned."""
    response = login(client, username, address=address)
    assert response.status_code == 200, response.json
    token = response.json["device_token"]
    assert isinstance(token, str) and token
    return token


@pytest.fixture
def per_address(app, monkeypatch):
    """Three failures per address and window instead of thirty."""
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 3)


@pytest.fixture
def office(make_account, tree):
    """Two colleagues behind one office address."""
    return {
        "li.na": make_account("worker", unit=tree["G1a"], username="li.na"),
        "wang.fang": make_account("worker", unit=tree["G1a"], username="wang.fang"),
    }


@pytest.fixture
def sprayed(client, per_address, office):
    """The office address after a spray of three wrong passwords: tripped."""
    assert [login(client, name, WRONG).status_code for name in ("li.na", "wang.fang", "nobody.here")] == [401] * 3


# --- the address brake answers the same to right and wrong passwords --------------------------------------------


def test_once_an_address_trips_its_limit_the_right_password_is_429_too(client, sprayed):
    response = login(client, "wang.fang", PASSWORD)

    error = assert_error(response, 429, "rate_limited")
    assert "address" in error["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert "access_token" not in response.get_data(as_text=True)


def test_past_the_address_limit_right_and_wrong_passwords_get_the_same_answer(client, sprayed):
    right = login(client, "li.na", PASSWORD)
    wrong = login(client, "li.na", WRONG)

    assert right.status_code == wrong.status_code == 429
    assert right.json["error"]["message"] == wrong.json["error"]["message"]
    assert abs(right.json["error"]["details"]["retry_after"] - wrong.json["error"]["details"]["retry_after"]) <= 1
    assert set(right.headers.keys()) == set(wrong.headers.keys())


def test_the_address_brake_ends_with_its_window(client, sprayed):
    clock.travel(timedelta(minutes=15, seconds=1))

    assert login(client, "li.na", PASSWORD).status_code == 200


def test_refused_at_the_address_a_login_is_not_checked_so_it_does_not_count_against_the_account(client, sprayed, ctx):
    fail(client, 5, "li.na")

    db.session.expire_all()
    assert db.session.scalars(select(FailureCount).where(FailureCount.kind == "address")).one().failures == 3
    clock.travel(timedelta(minutes=15, seconds=1))
    assert login(client, "li.na", PASSWORD).status_code == 200


def test_a_password_check_refused_by_the_address_brake_costs_no_argon2_work(client, sprayed, monkeypatch):
    calls: list[str] = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: calls.append(h) or real_verify(self, h, p))

    login(client, "li.na", PASSWORD)

    assert calls == []


# --- device tokens ----------------------------------------------------------------------------------------------


def test_a_successful_login_returns_a_device_token(client, office):
    response = login(client, "li.na")

    assert response.status_code == 200
    assert isinstance(response.json["device_token"], str)
    assert len(response.json["device_token"]) >= 40


def test_a_device_token_admits_its_account_past_the_tripped_address_limit(client, office, per_address):
    device = device_of(client, "li.na")
    fail(client, 3, "wang.fang")

    response = login(client, "li.na", device=device)

    assert response.status_code == 200
    assert response.json["user"]["username"] == "li.na"


def test_the_device_token_does_not_admit_a_wrong_password(client, office, per_address):
    device = device_of(client, "li.na")
    fail(client, 3, "wang.fang")

    response = login(client, "li.na", WRONG, device=device)

    assert_error(response, 401, "unauthorized")


def test_a_device_token_admits_its_account_while_the_account_is_locked(client, office):
    device = device_of(client, "li.na")
    assert fail(client, 6, "li.na", address="10.9.9.9") == [401] * 5 + [429]
    assert_error(login(client, "li.na"), 429, "rate_limited")

    response = login(client, "li.na", device=device)

    assert response.status_code == 200


def test_a_device_token_of_another_account_does_not_admit(client, office, per_address):
    device = device_of(client, "wang.fang")
    fail(client, 3, "nobody.here")

    assert_error(login(client, "li.na", device=device), 429, "rate_limited")


def test_a_forged_device_token_does_not_admit(client, office, per_address):
    device = device_of(client, "li.na")
    fail(client, 3, "nobody.here")
    nonce, signature = device.rsplit(".", 1)
    forged = f"{nonce}.{'0' * len(signature)}"

    for token in (forged, "nonsense", device[:-1], "x" * 5000):
        assert_error(login(client, "li.na", device=token), 429, "rate_limited")


def test_a_device_token_is_stored_hashed(client, office, ctx):
    device = device_of(client, "li.na")

    db.session.expire_all()
    row = db.session.scalars(select(DeviceToken)).one()
    stored = " ".join(str(value) for value in vars(row).values())
    assert device not in stored
    assert device.rsplit(".", 1)[0] not in stored


def test_each_login_on_a_device_replaces_its_token(client, office, per_address):
    first = device_of(client, "li.na")
    second = login(client, "li.na", device=first).json["device_token"]
    fail(client, 3, "nobody.here")

    assert second != first
    assert_error(login(client, "li.na", device=first), 429, "rate_limited")
    assert login(client, "li.na", device=second).status_code == 200


def test_a_device_token_expires_with_the_refresh_token_lifetime(client, office):
    device = device_of(client, "li.na")
    clock.travel(timedelta(days=30, minutes=1))
    fail(client, 6, "li.na")

    assert_error(login(client, "li.na", device=device), 429, "rate_limited")


def _revoke_by_logout(client: Any, response: Any) -> None:
    assert client.post("/api/v1/auth/logout", headers=bearer(response.json["access_token"])).status_code == 204


def _revoke_by_password_change(client: Any, _response: Any) -> None:
    other = login(client, "li.na", address="172.16.0.1")
    body = {"old_password": PASSWORD, "new_password": "a-brand-new-password"}
    assert (
        client.post("/api/v1/auth/password", json=body, headers=bearer(other.json["access_token"])).status_code == 204
    )


def _revoke_by_deactivation(client: Any, response: Any) -> None:
    admin = bearer(login(client, "boss", address="172.16.0.2").json["access_token"])
    user = f"/api/v1/users/{response.json['user']['id']}"
    for active in (False, True):
        changed = client.patch(user, json={"active": active}, headers=admin)
        assert changed.status_code == 200, changed.json


@pytest.mark.parametrize(
    "revoke",
    [_revoke_by_logout, _revoke_by_password_change, _revoke_by_deactivation],
    ids=["logout of its session", "password change elsewhere", "deactivation and reactivation"],
)
def test_a_device_token_is_revoked_with_the_sessions(client, office, make_account, per_address, revoke):
    make_account("admin", username="boss")
    response = login(client, "li.na", address="192.168.9.9")
    device = response.json["device_token"]
    revoke(client, response)
    fail(client, 3, "nobody.here")

    assert_error(login(client, "li.na", device=device), 429, "rate_limited")


def test_a_password_change_keeps_the_device_of_the_session_that_made_it(client, office, per_address):
    response = login(client, "li.na", address="192.168.9.9")
    body = {"old_password": PASSWORD, "new_password": "a-brand-new-password"}
    changed = client.post("/api/v1/auth/password", json=body, headers=bearer(response.json["access_token"]))
    assert changed.status_code == 204
    fail(client, 3, "nobody.here")

    admitted = login(client, "li.na", "a-brand-new-password", device=response.json["device_token"])

    assert admitted.status_code == 200


def test_a_device_that_keeps_failing_stops_admitting_past_the_brakes(client, office, per_address):
    """A stolen device token is no licence to guess: its own failures are capped like an account's."""
    device = device_of(client, "li.na")
    fail(client, 3, "nobody.here")

    statuses = [login(client, "li.na", WRONG, device=device).status_code for _ in range(5)]

    assert statuses == [401] * 5
    assert_error(login(client, "li.na", PASSWORD, device=device), 429, "rate_limited")


def test_the_device_token_header_is_documented(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/auth/login"]["post"]

    assert DEVICE_HEADER in {parameter["name"] for parameter in operation.get("parameters", [])}
    schema_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert "device_token" in schema["properties"]


# --- unknown usernames: the same brakes, the same answers ------------------------------------------------------


def _comparable(response: Any) -> tuple[int, str, dict[str, str], dict[str, Any]]:
    headers = {k: v for k, v in response.headers.items() if k not in {"X-Request-ID", "Retry-After"}}
    error = dict(response.json["error"])
    details = dict(error.pop("details"))
    details.pop("retry_after", None)
    return (
        response.status_code,
        response.get_data(as_text=True).split('"retry_after"')[0],
        headers,
        {**error, **details},
    )


def test_an_unknown_username_locks_like_a_known_one_with_the_same_answers(client, office):
    known = [login(client, "li.na", WRONG, address=f"10.1.0.{n}") for n in range(8)]
    unknown = [login(client, "nobody.here", WRONG, address=f"10.2.0.{n}") for n in range(8)]

    assert [r.status_code for r in known] == [401] * 5 + [429] * 3
    assert [_comparable(r) for r in unknown] == [_comparable(r) for r in known]
    for k, u in zip(known[5:], unknown[5:], strict=True):
        assert abs(int(k.headers["Retry-After"]) - int(u.headers["Retry-After"])) <= 1


def test_a_locked_unknown_username_is_429_even_with_any_password_until_the_lock_ends(client, office):
    fail(client, 6, "nobody.here")

    assert_error(login(client, "Nobody.Here", PASSWORD, address="10.3.3.3"), 429, "rate_limited")
    clock.travel(timedelta(minutes=15, seconds=1))
    assert_error(login(client, "nobody.here", PASSWORD, address="10.3.3.3"), 401, "unauthorized")


def test_the_lock_of_an_unknown_username_is_stored_by_its_normalised_name(client, ctx):
    fail(client, 6, " NoBody.Here ")

    db.session.expire_all()
    row = db.session.scalars(select(FailureCount).where(FailureCount.kind == "username")).one()
    assert row.key == "nobody.here"
    assert row.locked_until is not None and row.locked_until > clock.utcnow()


def test_known_and_unknown_usernames_cost_the_same_argon2_work_through_the_lock(client, office, monkeypatch):
    calls: list[str] = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: calls.append(h) or real_verify(self, h, p))

    fail(client, 8, "li.na")
    known = len(calls)
    fail(client, 8, "nobody.here")

    assert known == len(calls) - known == 6


def test_the_lock_of_an_unknown_username_is_logged_without_the_name(client, caplog):
    caplog.set_level(logging.INFO, logger="grid.auth")

    fail(client, 6, "hunter2-typed-as-name")

    messages = [record.getMessage() for record in caplog.records if record.name == "grid.auth"]
    assert "unknown username login locked" in messages
    assert "hunter2" not in caplog.text


# --- one count for every process on the database ----------------------------------------------------------------


@pytest.fixture
def twin(app):
    """A second app on the same database, as gunicorn's second worker is."""
    from bootstrap import create_app

    other = create_app(dict(app.config))
    yield other
    with other.app_context():
        db.engine.dispose()


def test_two_processes_share_the_address_count(client, twin, office, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 3)
    monkeypatch.setitem(twin.config, "LOGIN_FAILURES_PER_ADDRESS", 3)
    other = twin.test_client()

    assert [
        login(client, "li.na", WRONG).status_code,
        login(other, "wang.fang", WRONG).status_code,
        login(client, "nobody.here", WRONG).status_code,
    ] == [401, 401, 401]

    assert_error(login(other, "li.na", PASSWORD), 429, "rate_limited")
    assert_error(login(client, "wang.fang", PASSWORD), 429, "rate_limited")


def test_two_processes_share_the_lock_of_an_unknown_username(client, twin):
    other = twin.test_client()

    statuses = [
        login(c, "nobody.here", WRONG, address=f"10.4.0.{n}").status_code for n, c in enumerate([client, other] * 3)
    ]

    assert statuses == [401] * 5 + [429]


def test_two_processes_share_the_cap_on_wrong_current_passwords(client, twin, office, auth):
    headers = auth(office["li.na"])
    body = {"old_password": WRONG, "new_password": "a-new-password-2026"}
    clients = [client, twin.test_client()] * 3

    statuses = [c.post("/api/v1/auth/password", json=body, headers=headers).status_code for c in clients]

    assert statuses == [422] * 5 + [429]
    with twin.app_context():  # in the database, not in one process's memory
        assert db.session.get(FailureCount, ("password", str(office["li.na"].id))).failures == 5


def test_a_successful_login_gives_back_its_place_in_the_address_count(client, office, per_address):
    for _ in range(5):
        assert login(client, "li.na").status_code == 200

    assert fail(client, 4, "wang.fang") == [401, 401, 401, 429]


def test_with_a_shared_limiter_store_configured_the_address_brake_holds_the_same(client, office, app, monkeypatch):
    """Redis stays an option (RATELIMIT_STORAGE_URI); the tests' memory store stands in for it."""
    monkeypatch.setitem(app.config, "LOGIN_BRAKES_STORE", "limiter")
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 3)
    device = device_of(client, "li.na")

    assert fail(client, 3, "wang.fang") == [401] * 3
    assert_error(login(client, "wang.fang", PASSWORD), 429, "rate_limited")
    assert login(client, "li.na", device=device).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(FailureCount).where(FailureCount.kind == "address")).all() == []


def test_the_daily_purge_removes_only_counts_and_device_tokens_that_ended(app, client, office, ctx):
    old_device = device_of(client, "li.na")
    fail(client, 6, "nobody.here", address="10.5.0.1")
    clock.travel(timedelta(minutes=16))
    fresh = login(client, "wang.fang", WRONG, address="10.5.0.2")
    kept_device = device_of(client, "li.na")  # replaces nothing: the old token was not presented
    client.post("/api/v1/auth/logout", headers=bearer(login(client, "wang.fang").json["access_token"]))

    result = app.test_cli_runner().invoke(args=["purge-login-counts"])

    assert result.exit_code == 0, result.output
    assert "purged 2 login failure counts and 1 device tokens" in result.output
    db.session.expire_all()
    left = {(row.kind, row.key) for row in db.session.scalars(select(FailureCount))}
    assert ("address", "10.5.0.2") in left
    assert not left & {("address", "10.5.0.1"), ("username", "nobody.here")}
    assert fresh.status_code == 401 and old_device != kept_device
    assert len(db.session.scalars(select(DeviceToken)).all()) == 2  # li.na's two; wang.fang's logged out


def test_a_wrong_current_password_keeps_its_count_but_not_its_idempotency_key(client, office, auth):
    headers = {**auth(office["li.na"]), "Idempotency-Key": "change-1"}
    wrong = {"old_password": WRONG, "new_password": "a-new-password-2026"}

    first = client.post("/api/v1/auth/password", json=wrong, headers=headers)
    again = client.post("/api/v1/auth/password", json=wrong, headers=headers)

    assert_error(first, 422, "validation_error")
    assert_error(again, 422, "validation_error")  # run again, not replayed as a success
    assert "Idempotent-Replayed" not in again.headers
    with client.application.app_context():
        assert db.session.get(FailureCount, ("password", str(office["li.na"].id))).failures == 2
