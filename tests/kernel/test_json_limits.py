"""Malformed JSON of any size or shape is 400 `bad_request`, never a 500 nor a traceback in the log (issue 20 §4)."""

import logging

import pytest

from tests.support.http import assert_error


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 500, 1000, 5000])
def test_a_body_nested_deeper_than_64_levels_is_400(client, depth):
    body = f'{{"username": {nested(depth)}, "password": "x"}}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert "64" in error["details"]["_body"][0]


def test_nesting_up_to_64_levels_is_read_and_validated_as_usual(client):
    body = f'{{"username": {nested(63)}, "password": "x"}}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("number", ["9" * 101, "9" * 5000, "1." + "0" * 120, "1e" + "9" * 120])
def test_a_number_longer_than_100_characters_is_400(client, number):
    body = f'{{"username": "someone", "password": "a-password", "extra": {number}}}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert "100" in error["details"]["_body"][0]


def test_a_long_run_of_digits_inside_a_string_is_only_text(client):
    body = f'{{"username": "nobody", "password": "{"9" * 150}"}}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_error(response, 401, "unauthorized")


def test_a_deep_body_on_an_authenticated_endpoint_is_400_too(client, make_account, auth):
    worker = make_account("worker")
    body = f'{{"channel": "app", "description": {nested(2000)}}}'
    response = client.post("/api/v1/requests", data=body, content_type="application/json", headers=auth(worker))
    assert_error(response, 400, "bad_request")


def test_a_client_error_writes_no_traceback_to_the_log(client, caplog):
    body = f'{{"username": {nested(3000)}, "password": "x"}}'
    with caplog.at_level(logging.INFO):
        client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert not any(record.exc_info for record in caplog.records)
    assert all("Traceback" not in record.getMessage() for record in caplog.records)


def test_every_log_line_stays_within_8_kb_and_is_still_json():
    import json

    from kernel.observability import MAX_LINE_CHARS, JsonFormatter

    try:
        raise ValueError("x" * 50_000)
    except ValueError:
        import sys

        record = logging.makeLogRecord(
            {"name": "grid.errors", "levelname": "ERROR", "msg": "y" * 30_000, "exc_info": sys.exc_info()}
        )
    line = JsonFormatter().format(record)
    assert len(line) <= MAX_LINE_CHARS
    entry = json.loads(line)
    assert entry["logger"] == "grid.errors" and entry["message"].startswith("yyy")


def test_a_body_that_is_not_utf8_is_400_and_changes_nothing(client, make_account, auth):
    admin = make_account("admin")
    response = client.patch(
        f"/api/v1/users/{admin.id}", data=b"]\x7fs\xff\xfe\x13", content_type="application/json", headers=auth(admin)
    )
    error = assert_error(response, 400, "bad_request")
    assert "UTF-8" in error["details"]["_body"][0] or "utf-8" in error["details"]["_body"][0]
