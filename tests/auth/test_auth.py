"""Logging in, the current account, refresh rotation, logout, password changes, deactivation, the CLI.

Token forgeries are in test_auth_tokens.py, brute-force brakes in test_auth_throttle.py, logs and
request ids in test_auth_logs.py.
"""

import threading
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from auth import passwords
from auth.models import Account, LoginSession
from kernel import clock
from kernel.extensions import db
from kernel.principals import Role
from tests.support.accounts import ACCOUNT_FIELDS, PASSWORD
from tests.support.http import assert_error, bearer
from tests.support.statements import statements_sent

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
CHANGE_PASSWORD = "/api/v1/auth/password"
NEW_PASSWORD = "a-fresh-long-password"
ADMIN_PASSWORD = "a-strong-admin-password"
PAST_GRACE = timedelta(seconds=61)  # REFRESH_REUSE_GRACE_SECONDS is 60


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password})


def session_of(client: Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in over HTTP; the access and refresh tokens of the new session."""
    response = login(client, username, password)
    assert response.status_code == 200, response.json
    return {"access": response.json["access_token"], "refresh": response.json["refresh_token"]}


def refresh(client: Any, refresh_token: str) -> Any:
    return client.post(REFRESH, headers=bearer(refresh_token))


def me(client: Any, access_token: str) -> Any:
    return client.get(ME, headers=bearer(access_token))


@pytest.fixture
def worker(make_account, tree):
    return make_account("worker", unit=tree["C1"], cells=[tree["G1b"], tree["G1a"]], username="zhang.wei")


@pytest.fixture
def admin(make_account):
    return make_account("admin", username="root")


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """Every argon2 verification the app performs, by the hash it checked against."""
    calls: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, password_hash: str | bytes, password: str | bytes) -> bool:
        calls.append(password_hash if isinstance(password_hash, str) else password_hash.decode())
        return real_verify(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return calls


# --- logging in --------------------------------------------------------------------------------


def test_login_returns_bearer_tokens_and_the_account(client, worker):
    response = login(client, "zhang.wei")

    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user", "device_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"] and body["access_token"] != body["refresh_token"]
    assert body["user"]["id"] == str(worker.id)
    assert body["user"]["username"] == "zhang.wei"
    assert body["user"]["role"] == "worker"


def test_login_response_never_contains_the_password_or_its_hash(client, worker):
    response = login(client, "zhang.wei")

    assert set(response.json["user"]) == ACCOUNT_FIELDS
    text = response.get_data(as_text=True)
    assert PASSWORD not in text
    assert "argon2" not in text


def test_usernames_are_case_insensitive_at_login(client, worker):
    response = login(client, "  Zhang.WEI ")

    assert response.status_code == 200
    assert response.json["user"]["id"] == str(worker.id)


def test_the_password_is_case_sensitive(client, worker):
    assert_error(login(client, "zhang.wei", PASSWORD.upper()), 401, "unauthorized")


@pytest.mark.parametrize(
    ("username", "password"),
    [("zhang.wei", "not-the-password"), ("nobody.here", PASSWORD), ("retired", PASSWORD)],
    ids=["wrong password", "unknown user", "deactivated account"],
)
def test_a_refused_login_is_401_with_one_message_whatever_the_reason(client, worker, make_account, username, password):
    make_account("worker", unit=worker.scope_grid_id, username="retired", active=False)
    reference = assert_error(login(client, "zhang.wei", "not-the-password"), 401, "unauthorized")

    error = assert_error(login(client, username, password), 401, "unauthorized")

    assert error == reference
    assert error["details"] == {}


@pytest.mark.parametrize(
    ("username", "password"),
    [("zhang.wei", "not-the-password"), ("nobody.here", PASSWORD), ("retired", PASSWORD)],
    ids=["wrong password", "unknown user", "deactivated account"],
)
def test_every_refused_login_costs_exactly_one_argon2_verification(
    client, worker, make_account, verifications, username, password
):
    make_account("worker", unit=worker.scope_grid_id, username="retired", active=False)

    login(client, username, password)

    assert len(verifications) == 1


def test_the_stand_in_hash_for_unknown_users_costs_what_a_real_hash_costs(client, worker, verifications):
    login(client, "nobody.here")
    login(client, "zhang.wei", "not-the-password")

    stand_in, real = verifications
    assert stand_in == passwords._UNKNOWN_USER_HASH
    assert stand_in != real
    assert not passwords.HASHER.check_needs_rehash(stand_in)
    assert not passwords.HASHER.check_needs_rehash(real)
    assert stand_in.split("$")[:4] == real.split("$")[:4]  # argon2id, version, m/t/p


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "zhang.wei"}, {"password": PASSWORD}, {"username": "", "password": PASSWORD}],
    ids=["empty", "no password", "no username", "blank username"],
)
def test_a_login_without_both_credentials_is_422(client, worker, body):
    assert_error(client.post(LOGIN, json=body), 422, "validation_error")


def test_a_successful_login_does_not_need_a_token(client, worker):
    response = client.post(LOGIN, json={"username": "zhang.wei", "password": PASSWORD}, headers=bearer("junk"))

    assert response.status_code == 200


# --- the current account -----------------------------------------------------------------------


def test_an_access_token_shows_the_worker_its_role_scope_and_cells(client, worker, tree):
    tokens = session_of(client, "zhang.wei")

    response = me(client, tokens["access"])

    assert response.status_code == 200
    body = response.json
    assert body["id"] == str(worker.id)
    assert body["role"] == "worker"
    assert body["scope_grid_id"] == str(tree["C1"].id)
    assert sorted(body["grid_ids"]) == sorted([str(tree["G1a"].id), str(tree["G1b"].id)])
    assert "password" not in body and "password_hash" not in body


def test_an_admin_has_no_scope_grid_and_no_cells(client, admin):
    body = me(client, session_of(client, "root")["access"]).json

    assert (body["role"], body["scope_grid_id"], body["grid_ids"]) == ("admin", None, [])


def test_me_is_one_query_with_the_token_check(app, client, worker):
    """The app's first call on every start: the session's check and the account with its cells in one query; a
    revoked session or a deactivated account is still refused by it."""
    tokens = session_of(client, "zhang.wei")
    with statements_sent(app) as seen:
        body = me(client, tokens["access"]).json
    assert body["grid_ids"] == sorted(body["grid_ids"]) and len(body["grid_ids"]) == 2
    assert len(seen) == 1, seen
    with app.app_context():
        db.session.get(Account, worker.id).active = False
        db.session.commit()
    assert_error(me(client, tokens["access"]), 401, "unauthorized")
    with app.app_context():
        db.session.get(Account, worker.id).active = True
        db.session.commit()
    assert me(client, tokens["access"]).status_code == 200
    client.post("/api/v1/auth/logout", headers=bearer(tokens["access"]))
    assert_error(me(client, tokens["access"]), 401, "unauthorized")


def test_me_without_a_token_is_401(client):
    response = client.get(ME)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_role_comes_from_the_account_not_from_the_token(client, worker, ctx):
    tokens = session_of(client, "zhang.wei")
    account = db.session.get(Account, worker.id)
    account.role = Role.VOLUNTEER
    db.session.commit()

    assert me(client, tokens["access"]).json["role"] == "volunteer"
    assert_error(client.get("/api/v1/users", headers=bearer(tokens["access"])), 403, "forbidden")


# --- refresh -----------------------------------------------------------------------------------


def test_a_refresh_token_gives_a_new_access_and_a_new_refresh_token(client, worker):
    tokens = session_of(client, "zhang.wei")

    response = refresh(client, tokens["refresh"])

    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"]["id"] == str(worker.id)
    assert body["access_token"] != tokens["access"]
    assert body["refresh_token"] != tokens["refresh"]
    assert me(client, body["access_token"]).status_code == 200


def test_the_rotated_refresh_token_can_be_refreshed_again(client, worker):
    first = session_of(client, "zhang.wei")
    second = refresh(client, first["refresh"]).json

    third = refresh(client, second["refresh_token"])

    assert third.status_code == 200
    assert me(client, third.json["access_token"]).status_code == 200


def test_a_used_refresh_token_presented_again_after_the_grace_window_is_401(client, worker):
    tokens = session_of(client, "zhang.wei")
    refresh(client, tokens["refresh"])
    clock.travel(PAST_GRACE)

    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")


def test_refresh_token_reuse_revokes_the_whole_login_family(client, worker):
    tokens = session_of(client, "zhang.wei")
    newest = refresh(client, tokens["refresh"]).json
    clock.travel(PAST_GRACE)

    refresh(client, tokens["refresh"])  # a thief replays the old one

    assert_error(refresh(client, newest["refresh_token"]), 401, "unauthorized")
    assert_error(me(client, newest["access_token"]), 401, "unauthorized")
    assert_error(me(client, tokens["access"]), 401, "unauthorized")


def test_refresh_token_reuse_leaves_other_logins_of_the_account_alive(client, worker):
    phone = session_of(client, "zhang.wei")
    tablet = session_of(client, "zhang.wei")
    refresh(client, tablet["refresh"])
    clock.travel(PAST_GRACE)

    refresh(client, tablet["refresh"])

    assert me(client, phone["access"]).status_code == 200
    assert refresh(client, phone["refresh"]).status_code == 200


def test_the_revocation_by_refresh_reuse_is_stored_though_the_answer_was_an_error(client, worker, ctx):
    tokens = session_of(client, "zhang.wei")
    refresh(client, tokens["refresh"])
    clock.travel(PAST_GRACE)

    refresh(client, tokens["refresh"])

    session = db.session.scalars(select(LoginSession).where(LoginSession.account_id == worker.id)).one()
    assert session.revoked_at is not None
    assert session.revoked_reason == "refresh_reuse"


# --- the grace window: a refresh retried on flaky 4G ---------------------------------------------


def test_a_refresh_retried_within_the_grace_window_gets_the_very_same_pair(client, worker):
    tokens = session_of(client, "zhang.wei")
    first = refresh(client, tokens["refresh"])  # the phone never received this answer
    clock.travel(timedelta(seconds=59))

    again = refresh(client, tokens["refresh"])

    assert again.status_code == 200, again.json
    assert (again.json["access_token"], again.json["refresh_token"]) == (
        first.json["access_token"],
        first.json["refresh_token"],
    )
    assert 0 < again.json["expires_in"] <= first.json["expires_in"]
    assert me(client, again.json["access_token"]).status_code == 200
    assert refresh(client, again.json["refresh_token"]).status_code == 200  # the session lives on


def test_a_refresh_retried_twice_within_the_window_still_gets_the_same_pair(client, worker):
    tokens = session_of(client, "zhang.wei")
    pairs = {tuple(refresh(client, tokens["refresh"]).json[k] for k in ("access_token", "refresh_token"))}
    for _ in range(2):
        pairs.add(tuple(refresh(client, tokens["refresh"]).json[k] for k in ("access_token", "refresh_token")))
    assert len(pairs) == 1


def test_once_the_successor_was_used_a_retry_revokes_the_family_even_within_the_window(client, worker):
    tokens = session_of(client, "zhang.wei")
    successor = refresh(client, tokens["refresh"]).json
    newest = refresh(client, successor["refresh_token"]).json  # the phone did receive the successor

    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")

    assert_error(refresh(client, newest["refresh_token"]), 401, "unauthorized")
    assert_error(me(client, newest["access_token"]), 401, "unauthorized")


def test_a_retry_after_the_grace_window_revokes_the_family(client, worker):
    tokens = session_of(client, "zhang.wei")
    successor = refresh(client, tokens["refresh"]).json
    clock.travel(PAST_GRACE)

    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")

    assert_error(me(client, successor["access_token"]), 401, "unauthorized")


def test_the_grace_window_is_configurable_and_zero_turns_it_off(app, client, worker, monkeypatch):
    monkeypatch.setitem(app.config, "REFRESH_REUSE_GRACE_SECONDS", 0)
    tokens = session_of(client, "zhang.wei")
    successor = refresh(client, tokens["refresh"]).json

    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")
    assert_error(me(client, successor["access_token"]), 401, "unauthorized")


def test_concurrent_refreshes_of_one_token_yield_one_pair(app, client, worker):
    tokens = session_of(client, "zhang.wei")
    barrier = threading.Barrier(4)
    answers: list[Any] = []

    def exchange() -> None:
        with app.test_client() as own_client:
            barrier.wait(timeout=5)
            answers.append(refresh(own_client, tokens["refresh"]))

    threads = [threading.Thread(target=exchange) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [200] * 4
    assert len({(a.json["access_token"], a.json["refresh_token"]) for a in answers}) == 1
    assert refresh(client, answers[0].json["refresh_token"]).status_code == 200


def test_an_access_token_cannot_be_used_to_refresh(client, worker):
    tokens = session_of(client, "zhang.wei")

    assert_error(refresh(client, tokens["access"]), 401, "unauthorized")
    assert me(client, tokens["access"]).status_code == 200
    assert refresh(client, tokens["refresh"]).status_code == 200


def test_a_refresh_token_is_not_an_access_token(client, worker):
    tokens = session_of(client, "zhang.wei")

    assert_error(me(client, tokens["refresh"]), 401, "unauthorized")
    assert_error(client.post(LOGOUT, headers=bearer(tokens["refresh"])), 401, "unauthorized")


def test_refresh_without_a_token_is_401(client):
    assert_error(client.post(REFRESH), 401, "unauthorized")


def test_a_deactivated_account_cannot_refresh(client, worker, ctx):
    tokens = session_of(client, "zhang.wei")
    db.session.get(Account, worker.id).active = False
    db.session.commit()

    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")


# --- logout ------------------------------------------------------------------------------------


def test_logout_is_204_with_no_body(client, worker):
    tokens = session_of(client, "zhang.wei")

    response = client.post(LOGOUT, headers=bearer(tokens["access"]))

    assert response.status_code == 204
    assert response.get_data() == b""


def test_logout_kills_the_access_and_refresh_token_of_that_session(client, worker):
    tokens = session_of(client, "zhang.wei")

    client.post(LOGOUT, headers=bearer(tokens["access"]))

    assert_error(me(client, tokens["access"]), 401, "unauthorized")
    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")


def test_logout_kills_tokens_rotated_within_that_session(client, worker):
    tokens = session_of(client, "zhang.wei")
    rotated = refresh(client, tokens["refresh"]).json

    client.post(LOGOUT, headers=bearer(tokens["access"]))

    assert_error(me(client, rotated["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, rotated["refresh_token"]), 401, "unauthorized")


def test_logout_leaves_other_sessions_of_the_account_alive(client, worker):
    phone = session_of(client, "zhang.wei")
    tablet = session_of(client, "zhang.wei")

    client.post(LOGOUT, headers=bearer(tablet["access"]))

    assert me(client, phone["access"]).status_code == 200
    assert refresh(client, phone["refresh"]).status_code == 200


def test_logout_without_a_token_is_401(client):
    assert_error(client.post(LOGOUT), 401, "unauthorized")


def test_logging_out_twice_is_401_the_second_time(client, worker):
    tokens = session_of(client, "zhang.wei")
    client.post(LOGOUT, headers=bearer(tokens["access"]))

    assert_error(client.post(LOGOUT, headers=bearer(tokens["access"])), 401, "unauthorized")


# --- changing one's password -------------------------------------------------------------------


def change_password(client: Any, access_token: str, old: str, new: str) -> Any:
    return client.post(CHANGE_PASSWORD, json={"old_password": old, "new_password": new}, headers=bearer(access_token))


def test_changing_the_password_is_204(client, worker):
    tokens = session_of(client, "zhang.wei")

    response = change_password(client, tokens["access"], PASSWORD, NEW_PASSWORD)

    assert response.status_code == 204
    assert response.get_data() == b""


def test_a_wrong_old_password_is_422_on_old_password(client, worker):
    tokens = session_of(client, "zhang.wei")

    error = assert_error(
        change_password(client, tokens["access"], "not-the-password", NEW_PASSWORD), 422, "validation_error"
    )

    assert set(error["details"]) == {"old_password"}
    assert login(client, "zhang.wei").status_code == 200


@pytest.mark.parametrize(
    "weak",
    ["short-pw", "12345678901234", "Zhang.Wei", "x" * 257],
    ids=["too short", "only digits", "the username", "too long"],
)
def test_a_weak_new_password_is_422_on_new_password(client, worker, weak):
    tokens = session_of(client, "zhang.wei")

    error = assert_error(change_password(client, tokens["access"], PASSWORD, weak), 422, "validation_error")

    assert set(error["details"]) == {"new_password"}
    assert login(client, "zhang.wei").status_code == 200


def test_after_a_password_change_the_new_password_logs_in_and_the_old_does_not(client, worker):
    tokens = session_of(client, "zhang.wei")

    change_password(client, tokens["access"], PASSWORD, NEW_PASSWORD)

    assert login(client, "zhang.wei", NEW_PASSWORD).status_code == 200
    assert_error(login(client, "zhang.wei", PASSWORD), 401, "unauthorized")


def test_a_password_change_ends_the_other_sessions_of_the_account(client, worker):
    tablet = session_of(client, "zhang.wei")
    phone = session_of(client, "zhang.wei")

    change_password(client, phone["access"], PASSWORD, NEW_PASSWORD)

    assert_error(me(client, tablet["access"]), 401, "unauthorized")
    assert_error(refresh(client, tablet["refresh"]), 401, "unauthorized")


def test_a_password_change_keeps_the_current_session_working(client, worker):
    phone = session_of(client, "zhang.wei")

    change_password(client, phone["access"], PASSWORD, NEW_PASSWORD)

    assert me(client, phone["access"]).status_code == 200
    assert refresh(client, phone["refresh"]).status_code == 200


def test_a_password_change_leaves_other_accounts_sessions_alone(client, worker, admin):
    admin_tokens = session_of(client, "root")

    change_password(client, session_of(client, "zhang.wei")["access"], PASSWORD, NEW_PASSWORD)

    assert me(client, admin_tokens["access"]).status_code == 200


def test_a_refused_password_change_ends_no_session(client, worker):
    tablet = session_of(client, "zhang.wei")
    phone = session_of(client, "zhang.wei")

    change_password(client, phone["access"], "not-the-password", NEW_PASSWORD)
    change_password(client, phone["access"], PASSWORD, "short")

    assert me(client, tablet["access"]).status_code == 200


def test_changing_the_password_needs_a_token(client, worker):
    response = client.post(CHANGE_PASSWORD, json={"old_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert_error(response, 401, "unauthorized")
    assert login(client, "zhang.wei").status_code == 200


# --- deactivation ------------------------------------------------------------------------------


def test_deactivating_an_account_in_the_database_stops_its_tokens_at_once(client, worker, ctx):
    tokens = session_of(client, "zhang.wei")
    db.session.get(Account, worker.id).active = False
    db.session.commit()

    assert_error(me(client, tokens["access"]), 401, "unauthorized")


def test_deactivating_an_account_over_the_api_stops_its_tokens_at_once(client, worker, admin):
    tokens = session_of(client, "zhang.wei")
    admin_tokens = session_of(client, "root")

    response = client.patch(
        f"/api/v1/users/{worker.id}", json={"active": False}, headers=bearer(admin_tokens["access"])
    )

    assert response.status_code == 200
    assert_error(me(client, tokens["access"]), 401, "unauthorized")
    assert_error(refresh(client, tokens["refresh"]), 401, "unauthorized")


def test_reactivating_an_account_does_not_revive_its_old_sessions(client, worker, admin):
    tokens = session_of(client, "zhang.wei")
    admin_headers = bearer(session_of(client, "root")["access"])
    client.patch(f"/api/v1/users/{worker.id}", json={"active": False}, headers=admin_headers)

    client.patch(f"/api/v1/users/{worker.id}", json={"active": True}, headers=admin_headers)

    assert_error(me(client, tokens["access"]), 401, "unauthorized")
    assert login(client, "zhang.wei").status_code == 200


# --- the create-user command -------------------------------------------------------------------


def create_user(app: Any, *args: str, password: str | None = ADMIN_PASSWORD) -> Any:
    command = ["create-user", *args]
    if password is not None:
        command.append("--password-stdin")
    return app.test_cli_runner().invoke(args=command, input=f"{password}\n" if password is not None else None)


def test_create_user_makes_an_admin_who_can_log_in_over_http(app, client):
    result = create_user(app, "Chief", "--role", "admin")

    assert result.exit_code == 0, result.output
    assert "created admin chief" in result.output
    response = login(client, "chief", ADMIN_PASSWORD)
    assert response.status_code == 200
    assert response.json["user"]["role"] == "admin"


def test_create_user_refuses_a_weak_password_with_a_clear_message(app, client, ctx):
    result = create_user(app, "chief", "--role", "admin", password="12345")

    assert result.exit_code != 0
    assert "password" in result.output
    assert "至少 10 个字符" in result.output  # the console speaks Chinese, as the API does by default
    assert "Traceback" not in result.output
    assert db.session.scalars(select(Account)).all() == []


def test_create_user_refuses_an_existing_name_with_a_clear_message(app, client, admin):
    result = create_user(app, "ROOT", "--role", "admin")

    assert result.exit_code != 0
    assert "该用户名已被使用" in result.output  # the console speaks Chinese
    assert login(client, "root", ADMIN_PASSWORD).status_code == 401


def test_create_user_without_password_stdin_is_refused(app, ctx):
    result = create_user(app, "chief", "--role", "admin", password=None)

    assert result.exit_code != 0
    assert "--password-stdin" in result.output
    assert db.session.scalars(select(Account)).all() == []


def test_create_user_does_not_echo_the_password(app):
    result = create_user(app, "chief", "--role", "admin")

    assert ADMIN_PASSWORD not in result.output
