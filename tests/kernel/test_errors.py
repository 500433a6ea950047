"""Every error from every layer has the one shape of API.md, with the right status."""

import itertools
import logging

import pytest
from marshmallow import fields
from sqlalchemy.exc import ProgrammingError
from werkzeug.exceptions import UnprocessableEntity

from kernel.api import BaseSchema, StrictParser
from tests.support.http import assert_error


def test_unknown_path_is_404_in_the_error_shape(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_with_an_allow_header(client):
    response = client.delete("/api/v1/auth/login")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}


def test_malformed_json_is_400_bad_request(client):
    response = client.post("/api/v1/auth/login", data='{"username": ', content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_a_body_over_the_cap_is_413(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/api/v1/auth/login", json={"username": "x" * 2000, "password": "y"})
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_json_is_415(client, content_type):
    response = client.post("/api/v1/auth/login", data="username=a&password=b", content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")


def test_validation_errors_are_422_with_details_per_field(client):
    response = client.post("/api/v1/auth/login", json={"username": "", "password": 5})
    error = assert_error(response, 422, "validation_error")
    assert set(error["details"]) == {"username", "password"}


def test_unknown_fields_are_refused_with_422(client):
    response = client.post("/api/v1/auth/login", json={"username": "a", "password": "b", "role": "admin"})
    error = assert_error(response, 422, "validation_error")
    assert "role" in error["details"]


def test_a_json_body_that_is_not_an_object_is_422(client):
    response = client.post("/api/v1/auth/login", json=["admin", "secret"])
    assert_error(response, 422, "validation_error")


def test_a_malformed_query_parameter_is_422(client, make_account, auth):
    admin = make_account("admin")
    response = client.get("/api/v1/users?active=perhaps", headers=auth(admin))
    error = assert_error(response, 422, "validation_error")
    assert "active" in error["details"]


def test_a_query_parameter_given_twice_is_422_unless_it_takes_a_list(client, make_account, auth):
    admin = auth(make_account("admin"))
    twice = client.get("/api/v1/users?limit=8&limit=false", headers=admin)
    error = assert_error(twice, 422, "validation_error")
    assert error["details"] == {"limit": ["Given more than once; it takes one value."]}
    assert client.get("/api/v1/users?limit=8", headers=admin).status_code == 200


def test_a_missing_token_is_401_not_422(client):
    response = client.get("/api/v1/auth/me")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unexpected_failure_is_500_without_internals_and_is_logged_with_the_request_id(
    client, make_account, auth, monkeypatch, caplog
):
    admin = make_account("admin")

    def explode(*_args, **_kwargs):
        raise ProgrammingError("SELECT password_hash FROM accounts", {}, Exception("syntax error at or near"))

    monkeypatch.setattr("auth.service.get_account_view", explode)  # what GET /users/{id} reads through
    with caplog.at_level(logging.ERROR, logger="grid.errors"):
        response = client.get("/api/v1/users/1", headers={**auth(admin), "X-Request-ID": "trace-500"})
    assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    assert "SELECT" not in body and "Traceback" not in body and "password_hash" not in body
    assert any(getattr(record, "request_id", None) == "trace-500" for record in caplog.records)


def test_an_unreachable_database_is_503_with_retry_after(client, make_account, auth, monkeypatch):
    from sqlalchemy.exc import OperationalError

    admin = make_account("admin")

    def unavailable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("auth.service.get_account_view", unavailable)
    response = client.get("/api/v1/users/1", headers=auth(admin))
    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) > 0


def test_an_error_leaves_nothing_half_written(client, make_account, auth, ctx):
    """A request that fails after changing something commits none of it."""
    from sqlalchemy import func, select

    from auth.models import Account
    from kernel.extensions import db

    admin = make_account("admin")
    response = client.post(
        "/api/v1/users",
        json={"username": "half", "display_name": "半", "role": "worker", "scope_grid_id": "999", "password": "x" * 12},
        headers=auth(admin),
    )
    assert_error(response, 422, "validation_error")
    assert db.session.scalar(select(func.count()).select_from(Account).where(Account.username == "half")) == 0


def test_chinese_text_is_returned_as_is(client, make_account, auth):
    admin = make_account("admin", display_name="系统管理员")
    response = client.get("/api/v1/auth/me", headers=auth(admin))
    assert "系统管理员" in response.get_data(as_text=True)
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("escaped_username", ["nul\\u0000byte", "lone\\udc00surrogate"])
def test_text_no_database_can_store_is_422_not_500(client, escaped_username):
    body = f'{{"username": "{escaped_username}", "password": "whatever-it-is"}}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    error = assert_error(response, 422, "validation_error")
    assert "username" in error["details"]


def test_an_id_beyond_32_bits_is_a_plain_404(client, make_account, auth):
    admin = make_account("admin")
    assert_error(client.get("/api/v1/users/7747192261", headers=auth(admin)), 404, "not_found")


def test_a_time_that_cannot_be_brought_to_utc_is_422(client, make_account, auth):
    admin = make_account("admin")
    response = client.get("/api/v1/grids?updated_since=0001-01-01T00:00:00%2B05:00", headers=auth(admin))
    assert_error(response, 422, "validation_error")


def test_an_empty_query_takes_its_schemas_defaults_afresh_each_time(app):
    """Without a query string the defaults come from a copy worked out once per schema, where they cannot change;
    a default worked out per request (a function) is worked out each time, and a required parameter is 422."""
    made = itertools.count(1)

    class Fixed(BaseSchema):
        limit = fields.Integer(load_default=20)

    class Fresh(BaseSchema):
        serial = fields.Integer(load_default=lambda: next(made))

    class Required(BaseSchema):
        lat = fields.Float(required=True)

    parser, fixed, fresh = StrictParser(), Fixed(), Fresh()
    with app.test_request_context("/anything"):
        first = parser.parse(fixed, location="query")
        first["limit"] = 99  # a view changing its arguments changes nobody else's
        assert parser.parse(fixed, location="query") == {"limit": 20}
        assert [parser.parse(fresh, location="query")["serial"] for _ in range(2)] == [1, 2]
        for _ in range(2):
            with pytest.raises(UnprocessableEntity):
                parser.parse(Required(), location="query")
    with app.test_request_context("/anything?limit=5"):
        assert parser.parse(fixed, location="query") == {"limit": 5}
