"""The kernel's per-request hooks skip work a request does not need (issue 27), and a request still gets what
the full work gave it: ETag and Date on a plain GET, 304 and 412 on conditional ones, no-store for a caller,
brakes that still count."""

import pytest
from werkzeug.http import parse_date

from kernel.extensions import limiter


def test_a_plain_get_still_carries_its_etag_a_date_and_no_store(client, make_account, auth, categories):
    response = client.get("/api/v1/categories/CITY.GARBAGE", headers=auth(make_account("admin")))

    assert response.status_code == 200
    assert len(response.headers["ETag"].strip('"')) == 32
    assert parse_date(response.headers["Date"]) is not None
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Length"] == str(len(response.get_data()))


def test_conditional_gets_still_get_304_and_412(client, make_account, auth, categories):
    headers = auth(make_account("admin"))
    etag = client.get("/api/v1/categories/CITY.GARBAGE", headers=headers).headers["ETag"]

    unchanged = client.get("/api/v1/categories/CITY.GARBAGE", headers={**headers, "If-None-Match": etag})
    other = client.get("/api/v1/categories/CITY.GARBAGE", headers={**headers, "If-None-Match": '"other"'})

    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert other.status_code == 200 and other.headers["ETag"] == etag


def test_healthz_answers_without_opening_a_database_session(client, app):
    from kernel.extensions import db

    with app.app_context():
        response = client.get("/healthz")
        opened = db.session.registry.has()

    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]
    assert not opened


def test_a_route_limit_is_refused_rather_than_silently_ignored():
    with pytest.raises(TypeError, match="no request hooks"):
        limiter.limit("1/minute")


def test_flask_limiters_request_hooks_are_not_installed(app):
    hooks = [*app.before_request_funcs[None], *app.after_request_funcs[None], *app.teardown_request_funcs[None]]

    assert not any(limiter._owns(hook) for hook in hooks)
    assert limiter.limiter is not None  # the brakes' storage is there
