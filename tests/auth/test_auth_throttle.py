"""Brute-force brakes on login: per account and per address (both in the database).

Per account: failures 1-5 within 15 minutes are 401, the 6th is 429 and locks the account's logins
for 15 minutes; unknown usernames alike. Per address: after LOGIN_FAILURES_PER_ADDRESS failures in the
window every login from it is 429, right password or not; successful logins do not count. Device tokens,
and the brakes shared between processes: test_login_brakes.py.
"""

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from auth.models import Account
from kernel import clock
from kernel.extensions import db
from tests.support.accounts import PASSWORD
from tests.support.http import assert_error

LOGIN = "/api/v1/auth/login"
WRONG = "not-the-password"
ADDRESS = "10.0.0.7"


def login(client: Any, username: str, password: str = PASSWORD, address: str = ADDRESS) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address})


def fail(client: Any, times: int, username: str = "li.na", address: str = ADDRESS) -> list[int]:
    return [login(client, username, WRONG, address).status_code for _ in range(times)]


def retry_after(response: Any) -> int:
    value = response.headers["Retry-After"]
    assert value.isdigit(), value
    return int(value)


def stored(username: str) -> Account:
    db.session.expire_all()
    return db.session.scalars(select(Account).where(Account.username == username)).one()


@pytest.fixture
def account(make_account, tree):
    return make_account("worker", unit=tree["G1a"], username="li.na")


@pytest.fixture
def locked(client, account):
    """li.na after six failures: locked now."""
    assert fail(client, 6) == [401] * 5 + [429]
    return account


@pytest.fixture
def auth_logs(caplog):
    """What the "grid.auth" logger said (pytest attaches caplog to non-propagating loggers too)."""
    caplog.set_level(logging.INFO, logger="grid.auth")
    return caplog


def auth_messages(caplog: Any) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "grid.auth"]


# --- per account -------------------------------------------------------------------------------


def test_the_first_five_failures_are_401(client, account):
    responses = [login(client, "li.na", WRONG) for _ in range(5)]

    for response in responses:
        assert_error(response, 401, "unauthorized")


def test_the_sixth_failure_within_fifteen_minutes_is_429_with_retry_after(client, account):
    fail(client, 5)

    response = login(client, "li.na", WRONG)

    error = assert_error(response, 429, "rate_limited")
    assert 0 < retry_after(response) <= 15 * 60
    assert retry_after(response) >= 15 * 60 - 5
    assert error["details"]["retry_after"] == retry_after(response)


def test_while_locked_even_the_right_password_is_429(client, locked):
    response = login(client, "li.na", PASSWORD)

    assert_error(response, 429, "rate_limited")
    assert retry_after(response) > 0


def test_the_lock_applies_whatever_address_the_attempt_comes_from(client, locked):
    assert_error(login(client, "li.na", PASSWORD, address="192.168.1.20"), 429, "rate_limited")


def test_while_locked_retry_after_counts_down(client, locked):
    clock.travel(timedelta(minutes=10))

    response = login(client, "li.na", PASSWORD)

    assert_error(response, 429, "rate_limited")
    assert 4 * 60 <= retry_after(response) <= 5 * 60


def test_a_lock_does_not_touch_other_accounts(client, locked, make_account, tree):
    make_account("worker", unit=tree["G1a"], username="wang.fang")

    assert login(client, "wang.fang").status_code == 200


def test_after_the_lock_period_the_right_password_logs_in(client, locked):
    clock.travel(timedelta(minutes=15, seconds=1))

    response = login(client, "li.na", PASSWORD)

    assert response.status_code == 200
    assert response.json["user"]["username"] == "li.na"


def test_a_login_after_the_lock_resets_the_failure_count(client, locked, ctx):
    clock.travel(timedelta(minutes=15, seconds=1))
    login(client, "li.na", PASSWORD)

    account = stored("li.na")
    assert (account.failed_logins, account.failed_logins_since, account.locked_until) == (0, None, None)
    assert fail(client, 5) == [401] * 5


def test_after_the_lock_a_wrong_password_starts_a_new_count(client, locked):
    clock.travel(timedelta(minutes=15, seconds=1))

    assert fail(client, 5) == [401] * 5
    assert fail(client, 1) == [429]


def test_failures_are_stored_though_the_responses_were_errors(client, account, ctx):
    fail(client, 3)

    stored_account = stored("li.na")
    assert stored_account.failed_logins == 3
    assert stored_account.failed_logins_since is not None
    assert stored_account.locked_until is None


def test_the_lock_is_stored_though_the_response_was_an_error(client, locked, ctx):
    stored_account = stored("li.na")

    assert stored_account.failed_logins == 6
    assert stored_account.locked_until is not None
    remaining = stored_account.locked_until - clock.utcnow()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)


def test_failures_spread_over_more_than_the_window_do_not_lock(client, account):
    fail(client, 5)
    clock.travel(timedelta(minutes=15, seconds=1))

    assert fail(client, 5) == [401] * 5


def test_a_successful_login_resets_the_failure_count(client, account):
    fail(client, 4)
    assert login(client, "li.na").status_code == 200

    assert fail(client, 5) == [401] * 5


def test_the_username_case_does_not_escape_the_count(client, account):
    fail(client, 3, username="li.na")

    assert fail(client, 3, username="LI.NA") == [401, 401, 429]


def test_a_lowered_account_threshold_is_honoured(client, account, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ACCOUNT", 2)

    assert fail(client, 3) == [401, 401, 429]


def test_the_lock_and_its_end_are_logged(client, account, auth_logs):
    fail(client, 6)
    clock.travel(timedelta(minutes=15, seconds=1))
    login(client, "li.na", PASSWORD)

    records = [record for record in auth_logs.records if record.name == "grid.auth"]
    locked = [r for r in records if r.getMessage() == "account login locked"]
    ended = [r for r in records if r.getMessage() == "account login lock ended"]
    assert len(locked) == 1 and len(ended) == 1
    assert locked[0].levelno == logging.WARNING
    assert locked[0].account_id == account.id
    assert locked[0].failures == 6
    assert ended[0].account_id == account.id


def test_refused_attempts_while_locked_are_not_logged_as_new_locks(client, locked, auth_logs):
    login(client, "li.na", PASSWORD)
    login(client, "li.na", WRONG)

    assert "account login locked" not in auth_messages(auth_logs)


def test_unknown_usernames_are_locked_like_accounts(client):
    """Else a lock would tell which names exist (issue 20)."""
    assert fail(client, 7, username="nobody.here") == [401] * 5 + [429] * 2


# --- per address -------------------------------------------------------------------------------


@pytest.fixture
def per_address(app, monkeypatch):
    """Three failures per address and window instead of thirty."""
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 3)


@pytest.fixture
def users(make_account, tree):
    return [make_account("worker", unit=tree["G1a"], username=f"user{n}") for n in range(4)]


def test_the_default_address_limit_is_thirty_failures(app):
    assert app.config["LOGIN_FAILURES_PER_ADDRESS"] == 30


def test_failures_up_to_the_address_limit_are_401(client, per_address, users):
    statuses = [login(client, f"user{n}", WRONG).status_code for n in range(3)]

    assert statuses == [401, 401, 401]


def test_failures_past_the_address_limit_are_429_with_retry_after_across_usernames(client, per_address, users):
    login(client, "user0", WRONG)
    login(client, "nobody.here", WRONG)
    login(client, "user1", WRONG)

    response = login(client, "user2", WRONG)

    error = assert_error(response, 429, "rate_limited")
    assert 0 < retry_after(response) <= 15 * 60
    assert "address" in error["message"]


def test_every_further_failure_from_that_address_is_429(client, per_address, users):
    fail(client, 3, username="user0")

    for username in ("user1", "user2", "nobody.here"):
        assert_error(login(client, username, WRONG), 429, "rate_limited")


def test_the_right_password_from_a_throttled_address_is_429_too(client, per_address, users):
    """Else a spray reads 429 as "wrong" and 200 as "hit" (issue 20); device tokens pass: test_login_brakes.py."""
    for n in range(4):
        login(client, f"user{n % 2}", WRONG)

    response = login(client, "user3", PASSWORD)

    assert_error(response, 429, "rate_limited")


def test_successful_logins_do_not_count_towards_the_address_limit(client, per_address, users):
    for _ in range(4):
        assert login(client, "user0", PASSWORD).status_code == 200

    assert [login(client, f"user{n}", WRONG).status_code for n in range(1, 4)] == [401, 401, 401]


def test_one_address_over_its_limit_does_not_throttle_another(client, per_address, users):
    fail(client, 4, username="nobody.here", address="10.0.0.7")

    assert_error(login(client, "user1", WRONG, address="10.0.0.8"), 401, "unauthorized")


def test_a_login_refused_at_the_address_is_not_checked_so_it_does_not_count_against_the_account(
    client, per_address, users, ctx
):
    fail(client, 3, username="nobody.here")

    assert_error(login(client, "user0", WRONG), 429, "rate_limited")

    assert stored("user0").failed_logins == 0


def test_wrong_current_passwords_are_capped_so_a_stolen_session_cannot_guess(client, make_account, auth):
    account = make_account("worker")
    headers = auth(account)
    body = {"old_password": "not-the-password", "new_password": "a-new-password-2026"}
    statuses = [client.post("/api/v1/auth/password", json=body, headers=headers).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    right = {"old_password": PASSWORD, "new_password": "a-new-password-2026"}
    capped = client.post("/api/v1/auth/password", json=right, headers=headers)
    assert_error(capped, 429, "rate_limited")
    assert int(capped.headers["Retry-After"]) > 0


def test_behind_a_trusted_proxy_failures_count_by_the_clients_address(app, make_account):
    from bootstrap import create_app

    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1, "LOGIN_FAILURES_PER_ADDRESS": 1})
    client = proxied.test_client()
    make_account("worker", username="office")
    wrong = {"username": "office", "password": "wrong-password-1"}
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    client.post("/api/v1/auth/login", json=wrong, environ_base=proxy, headers={"X-Forwarded-For": "1.1.1.1"})
    over = client.post("/api/v1/auth/login", json=wrong, environ_base=proxy, headers={"X-Forwarded-For": "1.1.1.1"})
    other = client.post("/api/v1/auth/login", json=wrong, environ_base=proxy, headers={"X-Forwarded-For": "2.2.2.2"})
    assert (over.status_code, other.status_code) == (429, 401)
    with proxied.app_context():
        db.engine.dispose()
