"""What the auth endpoints write to the logs, and request ids.

Logs never hold a password, a token or a phone number; every request gets one access line with
method, path, status, duration_ms, account_id and request_id.
"""

import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from kernel import clock
from kernel.observability import JsonFormatter
from tests.support.accounts import PASSWORD
from tests.support.http import bearer

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"
PHONE = "13812345678"
NEW_PASSWORD = "a-fresh-long-password"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def logs(caplog):
    """Everything the "grid" loggers said, at every level (pytest attaches to non-propagating loggers)."""
    caplog.set_level(logging.DEBUG, logger="grid")
    return caplog


def grid_records(caplog: Any) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("grid")]


def written(caplog: Any) -> str:
    """The log lines as they are written: JSON with every extra field, plus the plain capture."""
    formatter = JsonFormatter()
    return "\n".join([formatter.format(record) for record in grid_records(caplog)] + [caplog.text])


def access_lines(caplog: Any) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "grid.access"]


@pytest.fixture
def worker(make_account, tree):
    return make_account("worker", unit=tree["G1a"], username="zhao.lei", phone=PHONE)


def test_logs_hold_no_password_and_no_token_over_login_refresh_and_a_failed_login(client, worker, logs):
    granted = client.post(LOGIN, json={"username": "zhao.lei", "password": PASSWORD}).json
    rotated = client.post(REFRESH, headers=bearer(granted["refresh_token"])).json
    client.get(ME, headers=bearer(rotated["access_token"]))
    client.post(LOGIN, json={"username": "zhao.lei", "password": "wrong-" + PASSWORD})

    text = written(logs)
    assert len(access_lines(logs)) == 4
    assert PASSWORD not in text
    for token in (granted["access_token"], granted["refresh_token"], rotated["access_token"], rotated["refresh_token"]):
        assert token not in text
        assert token.split(".")[2] not in text  # not even the signature


def test_logs_hold_no_password_over_a_password_change(client, worker, logs):
    access = client.post(LOGIN, json={"username": "zhao.lei", "password": PASSWORD}).json["access_token"]

    client.post(
        "/api/v1/auth/password", json={"old_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=bearer(access)
    )
    client.post(
        "/api/v1/auth/password",
        json={"old_password": "wrong-password", "new_password": "short"},
        headers=bearer(access),
    )

    text = written(logs)
    assert PASSWORD not in text and NEW_PASSWORD not in text and "wrong-password" not in text


def test_logs_hold_no_password_or_token_over_a_lock_and_a_refresh_reuse(client, worker, logs):
    granted = client.post(LOGIN, json={"username": "zhao.lei", "password": PASSWORD}).json
    client.post(REFRESH, headers=bearer(granted["refresh_token"]))
    clock.travel(timedelta(seconds=61))  # past the grace window: a reuse
    client.post(REFRESH, headers=bearer(granted["refresh_token"]))
    for attempt in range(6):
        client.post(LOGIN, json={"username": "zhao.lei", "password": f"guess-number-{attempt}"})

    text = written(logs)
    assert "refresh token reuse" in text and "account login locked" in text
    assert granted["refresh_token"] not in text and granted["access_token"] not in text
    assert PASSWORD not in text and "guess-number" not in text


def test_logs_hold_no_phone_number_from_a_login(client, worker, logs):
    response = client.post(LOGIN, json={"username": "zhao.lei", "password": PASSWORD})

    assert response.json["user"]["phone"] == PHONE  # the body may carry it; the logs may not
    assert PHONE not in written(logs)


def test_the_access_line_leaves_out_a_query_string_holding_a_phone_number(client, make_account, auth, worker, logs):
    admin = auth(make_account("admin"))

    response = client.get(f"/api/v1/users?q={PHONE}", headers=admin)

    assert response.status_code == 200
    assert PHONE not in written(logs)
    assert access_lines(logs)[-1].path == "/api/v1/users"


def test_refresh_token_reuse_is_logged_as_a_warning_with_the_account(client, worker, logs):
    granted = client.post(LOGIN, json={"username": "zhao.lei", "password": PASSWORD}).json
    client.post(REFRESH, headers=bearer(granted["refresh_token"]))
    clock.travel(timedelta(seconds=61))  # past the grace window: a reuse

    client.post(REFRESH, headers=bearer(granted["refresh_token"]))

    [record] = [r for r in grid_records(logs) if r.name == "grid.auth" and "reuse" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.account_id == worker.id


def test_an_authenticated_request_gets_one_access_line_with_every_field(client, worker, auth, logs):
    response = client.get(ME, headers={**auth(worker), "X-Request-ID": "app-7f3a.1"})

    [line] = access_lines(logs)
    assert line.getMessage() == "request"
    assert line.levelno == logging.INFO
    assert (line.method, line.path, line.status) == ("GET", ME, 200)
    assert isinstance(line.duration_ms, float | int) and line.duration_ms >= 0
    assert line.account_id == worker.id
    assert line.request_id == "app-7f3a.1" == response.headers["X-Request-ID"]


def test_a_refused_login_gets_an_access_line_with_its_status_and_no_account(client, worker, logs):
    response = client.post(LOGIN, json={"username": "zhao.lei", "password": "wrong-password"})

    [line] = access_lines(logs)
    assert (line.method, line.path, line.status) == ("POST", LOGIN, 401)
    assert line.account_id is None
    assert line.request_id == response.headers["X-Request-ID"]
    assert line.duration_ms >= 0


def test_the_access_line_is_json_with_every_field(client, worker, auth, logs):
    client.get(ME, headers=auth(worker))

    [line] = access_lines(logs)
    entry = JsonFormatter().format(line)
    for field in ('"method": "GET"', f'"path": "{ME}"', '"status": 200', '"duration_ms": ', '"request_id": '):
        assert field in entry
    assert f'"account_id": {worker.id}' in entry


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["4f1c2a9e-0b7d-4e55-9a4c-1d2e3f4a5b6c", "mobile:42.7", "x" * 128])
def test_a_sane_request_id_is_echoed(client, request_id):
    response = client.get(ME, headers={"X-Request-ID": request_id})

    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == request_id


def test_without_a_request_id_one_is_generated(client):
    first = client.get(ME).headers["X-Request-ID"]
    second = client.get(ME).headers["X-Request-ID"]

    assert GENERATED_ID.match(first) and GENERATED_ID.match(second)
    assert first != second


@pytest.mark.parametrize(
    "request_id",
    ["", "x" * 129, "has spaces", "<script>alert(1)</script>", '{"json": 1}', "路径"],
    ids=["empty", "too long", "spaces", "markup", "json", "non-ascii"],
)
def test_an_insane_request_id_is_replaced_by_a_generated_one(client, request_id, logs):
    response = client.get(ME, headers={"X-Request-ID": request_id})

    generated = response.headers["X-Request-ID"]
    assert GENERATED_ID.match(generated)
    assert access_lines(logs)[-1].request_id == generated


def test_a_successful_login_carries_a_request_id(client, worker):
    response = client.post(
        LOGIN, json={"username": "zhao.lei", "password": PASSWORD}, headers={"X-Request-ID": "login-1"}
    )

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "login-1"
