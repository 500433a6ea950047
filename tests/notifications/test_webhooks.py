"""Webhooks out: admins manage subscriptions through the API; deliveries are owed in the caller's
transaction, signed, and sent to a local receiver on 127.0.0.1 that the tests let through the SSRF guard
(WEBHOOKS_ALLOW_HTTP and WEBHOOKS_ALLOWED_TEST_NETWORKS; test_ssrf.py shows the guard's defaults)."""

import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from kernel.clock import utcnow
from kernel.extensions import db
from notifications import delivery
from notifications.channels.base import Outcome
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from notifications.webhooks.delivery import deliver_webhook
from notifications.webhooks.models import Webhook
from notifications.webhooks.service import owe_webhooks
from tests.support.http import assert_error
from tests.support.tasks import RESIDENT_PHONE, build_world
from tests.support.webhooks import (
    SECRET,
    URL,
    FakeDns,
    Receiver,
    deliver,
    owe,
    owe_and_deliver,
    start_receiver,
    stop_receiver,
    store_webhook,
)

FIELDS = {"id", "url", "events", "active", "description", "status_names", "created_at", "updated_at"}
NOT_ADMINS = ["supervisor", "worker", "volunteer"]
TLS_HOST = "hooks.example.test"


# --- a local receiver -----------------------------------------------------------------------------


@pytest.fixture
def local_receivers(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the guard through to 127.0.0.0/8 over http, as only tests may; short time limits."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOWED_TEST_NETWORKS", ["127.0.0.0/8"])
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 3.0)


@pytest.fixture
def receiver(local_receivers: None) -> Iterator[Receiver]:
    receiver = start_receiver()
    yield receiver
    stop_receiver(receiver)


# --- a fake DNS -----------------------------------------------------------------------------------


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


# --- arranging and acting -------------------------------------------------------------------------


@pytest.fixture
def admin(make_account, auth) -> dict[str, str]:
    return auth(make_account("admin"))


def create(client, admin, **body: Any):
    return client.post(URL, json={"events": ["ticket.resolved"], **body}, headers=admin)


def created(client, admin, **body: Any) -> dict[str, Any]:
    response = create(client, admin, **body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def is_genuine(secret: str, headers: dict[str, str], body: bytes, tolerance_seconds: int = 300) -> bool:
    """The module docstring's verification example, as a receiver would write it."""
    timestamp = headers["x-grid-timestamp"]
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_seconds:
        return False
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-grid-signature"])


# --- managing webhooks ----------------------------------------------------------------------------


def test_an_admin_creates_a_webhook_and_is_shown_the_given_secret(client, admin, receiver):
    response = create(client, admin, url=receiver.url(), secret=SECRET, description="12345 热线")
    assert response.status_code == 201
    assert response.json == {
        **response.json,
        "url": receiver.url(),
        "events": ["ticket.resolved"],
        "active": True,
        "description": "12345 热线",
        "secret": SECRET,
    }
    assert set(response.json) == FIELDS | {"secret"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_secret_is_generated_when_none_is_given_and_each_is_different(client, admin, receiver):
    first = created(client, admin, url=receiver.url())["secret"]
    second = created(client, admin, url=receiver.url())["secret"]
    assert len(first) >= 32 and len(second) >= 32 and first != second


def test_the_secret_is_never_shown_again(client, admin, receiver):
    webhook = created(client, admin, url=receiver.url(), secret=SECRET)
    one = client.get(f"{URL}/{webhook['id']}", headers=admin)
    listed = client.get(URL, headers=admin)
    patched = client.patch(f"{URL}/{webhook['id']}", json={"secret": "another-secret-0123456789"}, headers=admin)
    for response in (one, patched):
        assert response.status_code == 200
        assert set(response.json) == FIELDS
    assert [set(item) for item in listed.json["items"]] == [FIELDS]
    assert SECRET not in one.get_data(as_text=True) + listed.get_data(as_text=True)


def test_events_are_stored_once_each_in_the_published_order(client, admin, receiver):
    events = ["ticket.overdue", "ticket.created", "ticket.overdue"]
    assert created(client, admin, url=receiver.url(), events=events)["events"] == ["ticket.created", "ticket.overdue"]


def test_an_admin_lists_webhooks_by_id_page_by_page_and_by_state(client, admin, receiver):
    ids = [created(client, admin, url=receiver.url(), active=i != 1)["id"] for i in range(3)]
    first = client.get(f"{URL}?limit=2", headers=admin).json
    second = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=admin).json
    assert [w["id"] for w in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
    assert [w["id"] for w in client.get(f"{URL}?active=false", headers=admin).json["items"]] == [ids[1]]


def test_an_admin_changes_a_webhook(client, admin, receiver):
    webhook = created(client, admin, url=receiver.url())
    changes = {
        "url": receiver.url("/other"),
        "events": ["ticket.created", "ticket.closed"],
        "active": False,
        "description": None,
    }
    response = client.patch(f"{URL}/{webhook['id']}", json=changes, headers=admin)
    assert response.status_code == 200
    assert response.json == {**response.json, **changes}
    assert client.get(f"{URL}/{webhook['id']}", headers=admin).json == response.json


def test_a_patch_with_a_stale_if_match_is_412_and_changes_nothing(client, admin, receiver):
    webhook = created(client, admin, url=receiver.url())
    etag = client.get(f"{URL}/{webhook['id']}", headers=admin).headers["ETag"]
    fresh = client.patch(f"{URL}/{webhook['id']}", json={"description": "一"}, headers={**admin, "If-Match": etag})
    assert fresh.status_code == 200
    stale = client.patch(f"{URL}/{webhook['id']}", json={"description": "二"}, headers={**admin, "If-Match": etag})
    assert_error(stale, 412, "precondition_failed")
    assert client.get(f"{URL}/{webhook['id']}", headers=admin).json["description"] == "一"


def test_a_deleted_webhook_is_gone_from_the_api_but_kept_without_its_secret(app, client, admin, receiver):
    webhook = created(client, admin, url=receiver.url(), secret=SECRET)
    assert client.delete(f"{URL}/{webhook['id']}", headers=admin).status_code == 204
    assert_error(client.get(f"{URL}/{webhook['id']}", headers=admin), 404, "not_found")
    assert_error(client.patch(f"{URL}/{webhook['id']}", json={"active": True}, headers=admin), 404, "not_found")
    assert_error(client.delete(f"{URL}/{webhook['id']}", headers=admin), 404, "not_found")
    assert client.get(URL, headers=admin).json["items"] == []
    with app.app_context():
        row = db.session.get(Webhook, int(webhook["id"]))
        assert (row.url, row.secret, row.active, row.deleted_at is not None) == (receiver.url(), None, False, True)


def test_an_unknown_webhook_is_404(client, admin):
    assert_error(client.get(f"{URL}/999", headers=admin), 404, "not_found")
    assert_error(client.get(f"{URL}/abc", headers=admin), 404, "not_found")


@pytest.mark.parametrize("role", NOT_ADMINS)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("post", "", {"url": "https://hooks.example.test/", "events": ["ticket.created"]}),
        ("get", "/{id}", None),
        ("patch", "/{id}", {"active": False}),
        ("delete", "/{id}", None),
    ],
)
def test_only_admins_manage_webhooks(app, client, make_account, auth, role, method, path, body):
    webhook_id = store_webhook(app, "https://hooks.example.test/")
    response = getattr(client, method)(URL + path.format(id=webhook_id), json=body, headers=auth(make_account(role)))
    assert_error(response, 403, "forbidden")
    with app.app_context():
        assert db.session.get(Webhook, webhook_id).deleted_at is None


@pytest.mark.parametrize(
    ("method", "path"), [("get", ""), ("post", ""), ("get", "/1"), ("patch", "/1"), ("delete", "/1")]
)
def test_managing_webhooks_needs_a_token(client, method, path):
    assert_error(getattr(client, method)(URL + path, json={}), 401, "unauthorized")


# --- validation -----------------------------------------------------------------------------------

VALID = {"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["ticket.created"]}, "url"),
        ({"url": "http://127.0.0.1:9/hook"}, "events"),
        ({**VALID, "url": 42}, "url"),
        ({**VALID, "url": ""}, "url"),
        ({**VALID, "url": "https://a.example.test/" + "a" * 2048}, "url"),
        ({**VALID, "url": "ftp://127.0.0.1/hook"}, "url"),
        ({**VALID, "events": []}, "events"),
        ({**VALID, "events": "ticket.created"}, "events"),
        ({**VALID, "events": ["ticket.exploded"]}, "events"),
        ({**VALID, "events": [1]}, "events"),
        ({**VALID, "events": None}, "events"),
        ({**VALID, "active": "true"}, "active"),
        ({**VALID, "active": 1}, "active"),
        ({**VALID, "description": 5}, "description"),
        ({**VALID, "description": "长" * 201}, "description"),
        ({**VALID, "secret": "short"}, "secret"),
        ({**VALID, "secret": "with a space in it, sadly"}, "secret"),
        ({**VALID, "secret": "ends-with-a-newline-0123\n"}, "secret"),
        ({**VALID, "secret": "密钥密钥密钥密钥密钥密钥密钥密钥"}, "secret"),
        ({**VALID, "secret": 1234567890123456789}, "secret"),
        ({**VALID, "id": "1"}, "id"),
        ({**VALID, "secret_hash": "x"}, "secret_hash"),
    ],
)
def test_a_webhook_that_breaks_the_rules_is_422_on_the_field(client, admin, local_receivers, body, field):
    response = client.post(URL, json=body, headers=admin)
    assert field in assert_error(response, 422, "validation_error")["details"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": None}, "url"),
        ({"url": "https://user:pw@hooks.example.test/"}, "url"),
        ({"events": []}, "events"),
        ({"active": None}, "active"),
        ({"secret": None}, "secret"),
        ({"secret": "short"}, "secret"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_a_change_that_breaks_the_rules_is_422_and_changes_nothing(client, admin, receiver, changes, field):
    webhook = created(client, admin, url=receiver.url())
    response = client.patch(f"{URL}/{webhook['id']}", json=changes, headers=admin)
    assert field in assert_error(response, 422, "validation_error")["details"]
    assert client.get(f"{URL}/{webhook['id']}", headers=admin).json == {
        k: v for k, v in webhook.items() if k != "secret"
    }


def test_a_malformed_list_filter_is_422(client, admin):
    assert (
        "active" in assert_error(client.get(f"{URL}?active=maybe", headers=admin), 422, "validation_error")["details"]
    )
    assert "event" in assert_error(client.get(f"{URL}?event=x", headers=admin), 422, "validation_error")["details"]


# --- owing ----------------------------------------------------------------------------------------


def test_an_event_is_owed_once_to_each_active_webhook_subscribed_to_it(app):
    wanted = store_webhook(app, "https://a.example.test/", events=["ticket.resolved", "ticket.closed"])
    store_webhook(app, "https://b.example.test/", events=["ticket.created"])
    store_webhook(app, "https://c.example.test/", active=False)
    store_webhook(app, "https://d.example.test/", active=False, secret=None, deleted_at=utcnow())
    data = {"ticket_no": "20261122-000017", "status": "resolved", "grid": "医圣祠社区"}
    with app.app_context():
        assert owe_webhooks("ticket.resolved", data, ticket_id=None) == 1
        db.session.commit()
        (row,) = db.session.scalars(select(Notification)).all()
        assert (row.medium, row.status, row.webhook_id, row.ticket_id) == (
            Medium.WEBHOOK,
            DeliveryStatus.PENDING,
            wanted,
            None,
        )
        assert (row.event, row.template, row.params, row.attempts) == ("ticket.resolved", "ticket.resolved", data, 0)
        assert len(row.message_id) == 36


def test_an_owed_event_rolls_back_with_the_change_that_owed_it(app):
    store_webhook(app, "https://a.example.test/")
    with app.app_context():
        assert owe_webhooks("ticket.created", {"ticket_no": "1"}, ticket_id=None) == 1
        db.session.rollback()
        assert db.session.scalars(select(Notification)).all() == []


def test_an_unknown_event_or_unsendable_data_is_a_programming_error(app):
    with app.app_context():
        with pytest.raises(ValueError, match="unknown webhook event"):
            owe_webhooks("ticket.exploded", {}, ticket_id=None)
        store_webhook(app, "https://a.example.test/")
        with pytest.raises(TypeError):
            owe_webhooks("ticket.created", {"when": object()}, ticket_id=None)
        with pytest.raises(ValueError, match="JSON"):
            owe_webhooks("ticket.created", {"rating": float("nan")}, ticket_id=None)


# --- delivering -----------------------------------------------------------------------------------


def test_a_delivery_is_signed_with_the_secret_and_verifiable_by_the_receiver(app, client, admin, receiver):
    created(client, admin, url=receiver.url("/hooks/grid?source=grid"), secret=SECRET)
    data = {"ticket_no": "20261122-000017", "status": "resolved", "note": "已清运"}
    (notification_id,) = owe(app, "ticket.resolved", data)
    result = deliver(app, notification_id)
    assert result.outcome is Outcome.SENT
    (request,) = receiver.requests
    assert is_genuine(SECRET, request.headers, request.body)
    with app.app_context():
        notification = db.session.get(Notification, notification_id)
        message_id = notification.message_id
    document = json.loads(request.body)
    assert document == {
        "id": message_id,
        "event": "ticket.resolved",
        "occurred_at": document["occurred_at"],
        "data": data,
    }
    assert document["occurred_at"].endswith("Z")
    assert request.path == "/hooks/grid?source=grid"
    assert request.headers["x-grid-event"] == "ticket.resolved"
    assert request.headers["x-grid-delivery"] == message_id
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert "已清运" in request.body.decode("utf-8")


def test_a_message_detached_from_the_session_is_delivered_as_the_delivery_loop_hands_it_over(app, receiver):
    store_webhook(app, receiver.url())
    (notification_id,) = owe(app)
    with app.app_context():
        message = db.session.get(Notification, notification_id)
        db.session.expunge(message)
        db.session.commit()
        assert deliver_webhook(message).outcome is Outcome.SENT
    assert len(receiver.requests) == 1


def test_a_forged_or_tampered_delivery_fails_verification(app, client, admin, receiver):
    created(client, admin, url=receiver.url(), secret=SECRET)
    deliver(app, owe(app)[0])
    (request,) = receiver.requests
    assert not is_genuine("another-secret-0123456789", request.headers, request.body)
    assert not is_genuine(SECRET, request.headers, request.body.replace(b"20261122", b"20261123"))
    assert not is_genuine(SECRET, {**request.headers, "x-grid-timestamp": "1700000000"}, request.body)


def test_a_retry_carries_the_same_delivery_id_and_body_with_a_fresh_signature(app, client, admin, receiver):
    created(client, admin, url=receiver.url(), secret=SECRET)
    receiver.statuses = [503]
    (notification_id,) = owe(app)
    assert deliver(app, notification_id).outcome is Outcome.RETRY
    assert deliver(app, notification_id).outcome is Outcome.SENT
    first, second = receiver.requests
    assert first.headers["x-grid-delivery"] == second.headers["x-grid-delivery"]
    assert first.body == second.body
    assert is_genuine(SECRET, first.headers, first.body) and is_genuine(SECRET, second.headers, second.body)


def test_a_rotated_secret_signs_the_deliveries_sent_after_it(app, client, admin, receiver):
    webhook = created(client, admin, url=receiver.url(), secret=SECRET)
    (notification_id,) = owe(app)
    rotated = "the-rotated-secret-0123456789"
    assert client.patch(f"{URL}/{webhook['id']}", json={"secret": rotated}, headers=admin).status_code == 200
    deliver(app, notification_id)
    (request,) = receiver.requests
    assert is_genuine(rotated, request.headers, request.body)
    assert not is_genuine(SECRET, request.headers, request.body)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (201, Outcome.SENT),
        (204, Outcome.SENT),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
        (400, Outcome.REJECTED),
        (401, Outcome.REJECTED),
        (403, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (410, Outcome.REJECTED),
        (422, Outcome.REJECTED),
    ],
)
def test_the_receivers_answer_decides_the_outcome(app, receiver, status, outcome):
    receiver.status = status
    result = owe_and_deliver(app, receiver.url())
    assert result.outcome is outcome
    assert result.raw["status"] == status
    assert (result.error is None) is (outcome is Outcome.SENT)


def test_retry_after_is_passed_on_to_the_backoff(app, receiver):
    receiver.status, receiver.answer_headers = 429, {"Retry-After": "120"}
    result = owe_and_deliver(app, receiver.url())
    assert (result.outcome, result.retry_after_seconds) == (Outcome.RETRY, 120.0)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_gives_the_message_up(app, receiver, status):
    receiver.status, receiver.answer_headers = status, {"Location": receiver.url("/elsewhere")}
    result = owe_and_deliver(app, receiver.url())
    assert result.outcome is Outcome.REJECTED
    assert "not followed" in (result.error or "")
    assert [request.path for request in receiver.requests] == ["/hook"]


def test_a_huge_answer_is_read_only_up_to_the_cap(app, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_RESPONSE_BYTES", 1024)
    receiver.behaviour = "endless"
    result = owe_and_deliver(app, receiver.url())
    assert result.outcome is Outcome.SENT  # not a timeout: the client stopped reading at the cap
    assert result.raw["response_bytes"] == 1024


def test_an_error_answer_is_kept_short_in_the_error(app, receiver):
    receiver.status, receiver.answer_body = 400, b"bad payload " * 1000
    result = owe_and_deliver(app, receiver.url())
    assert result.outcome is Outcome.REJECTED
    assert result.error is not None and result.error.startswith("HTTP 400: bad payload") and len(result.error) < 250


def test_a_receiver_that_never_answers_is_retried_after_the_time_limit(app, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    receiver.behaviour = "hang"
    result = owe_and_deliver(app, receiver.url())
    assert result.outcome is Outcome.RETRY
    assert "no answer" in (result.error or "")


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_time_limit(app, receiver, monkeypatch):
    # Each byte arrives well within the per-read timeout; only the attempt's overall limit ends it.
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    receiver.behaviour = "trickle"
    started = time.monotonic()
    result = owe_and_deliver(app, receiver.url())
    assert result.outcome is Outcome.RETRY
    assert "no answer" in (result.error or "")
    assert time.monotonic() - started < 5


def test_a_receiver_that_is_down_is_retried(app, local_receivers):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    result = owe_and_deliver(app, f"http://127.0.0.1:{port}/hook")
    assert result.outcome is Outcome.RETRY
    assert "connection" in (result.error or "")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"active": False}, "inactive"),
        ({"delete": True}, "deleted"),
        ({"events": ["ticket.created"]}, "no longer subscribes"),
    ],
)
def test_a_message_for_a_deleted_inactive_or_unsubscribed_webhook_is_given_up_unsent(
    app, client, admin, receiver, change, error
):
    webhook = created(client, admin, url=receiver.url())
    (notification_id,) = owe(app)
    if change.pop("delete", False):
        assert client.delete(f"{URL}/{webhook['id']}", headers=admin).status_code == 204
    else:
        assert client.patch(f"{URL}/{webhook['id']}", json=change, headers=admin).status_code == 200
    result = deliver(app, notification_id)
    assert result.outcome is Outcome.REJECTED
    assert error in (result.error or "")
    assert receiver.requests == []


def _deliveries(client, admin, webhook_id: str) -> dict[str, tuple[str, str | None]]:
    items = client.get("/api/v1/notifications", query_string={"limit": 100}, headers=admin).json["items"]
    return {item["id"]: (item["status"], item["last_error"]) for item in items if item["webhook_id"] == webhook_id}


@pytest.mark.parametrize(
    ("give_up", "reason"),
    [({"active": False}, "the webhook was paused"), ({"delete": True}, "the webhook was deleted")],
)
def test_pausing_or_deleting_a_webhook_gives_up_its_pending_deliveries_at_once(
    app, client, admin, receiver, give_up, reason
):
    webhook = created(client, admin, url=receiver.url())
    other = created(client, admin, url=receiver.url())
    pending = owe(app)  # one delivery to each webhook
    if give_up.get("delete"):
        assert client.delete(f"{URL}/{webhook['id']}", headers=admin).status_code == 204
    else:
        assert client.patch(f"{URL}/{webhook['id']}", json=give_up, headers=admin).status_code == 200

    given_up = _deliveries(client, admin, webhook["id"])
    assert len(given_up) == 1 and len(pending) == 2
    assert list(given_up.values()) == [("dead", reason)]
    assert [status for status, _ in _deliveries(client, admin, other["id"]).values()] == ["pending"]


def test_a_webhook_switched_back_on_does_not_receive_its_old_backlog(app, client, admin, receiver):
    webhook = created(client, admin, url=receiver.url())
    owe(app)
    assert client.patch(f"{URL}/{webhook['id']}", json={"active": False}, headers=admin).status_code == 200
    assert client.patch(f"{URL}/{webhook['id']}", json={"active": True}, headers=admin).status_code == 200
    assert [status for status, _ in _deliveries(client, admin, webhook["id"]).values()] == ["dead"]
    with app.app_context():
        assert delivery.run_once(batch=10).claimed == 0  # nothing is due
    assert receiver.requests == []


def test_a_message_whose_webhook_row_is_missing_is_given_up(app, receiver):
    store_webhook(app, receiver.url())
    (notification_id,) = owe(app)
    with app.app_context():
        db.session.get(Notification, notification_id).webhook_id = 987654
        db.session.commit()
    assert deliver(app, notification_id).outcome is Outcome.REJECTED


# --- TLS to the vetted address --------------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.example.test (the client trusts it through WEBHOOKS_CA_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607 - openssl from PATH
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={TLS_HOST}",
            "-addext",
            f"subjectAltName=DNS:{TLS_HOST}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(app, local_receivers, certificate, monkeypatch, dns) -> Iterator[Receiver]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setitem(app.config, "WEBHOOKS_CA_FILE", str(cert))
    dns.set(TLS_HOST, ["127.0.0.1"])
    receiver = start_receiver(context)
    yield receiver
    stop_receiver(receiver)


def test_https_goes_to_the_vetted_address_with_the_host_name_in_sni_and_host(app, client, admin, tls_receiver, dns):
    created(client, admin, url=tls_receiver.url(host=TLS_HOST), secret=SECRET)
    # Resolved at save and once at send; a third answer, if anyone asked, would lead nowhere.
    dns.set(TLS_HOST, ["127.0.0.1"], ["127.0.0.1"], ["10.255.255.1"])
    (notification_id,) = owe(app)
    assert deliver(app, notification_id).outcome is Outcome.SENT
    (request,) = tls_receiver.requests
    assert request.headers["host"] == f"{TLS_HOST}:{tls_receiver.port}"
    assert tls_receiver.server_names == [TLS_HOST]
    assert dns.lookups == [TLS_HOST, TLS_HOST]
    assert is_genuine(SECRET, request.headers, request.body)


def test_https_to_a_certificate_for_another_name_is_retried_and_nothing_is_sent(app, tls_receiver, dns):
    dns.set("other.example.test", ["127.0.0.1"])
    result = owe_and_deliver(app, tls_receiver.url(host="other.example.test"))
    assert result.outcome is Outcome.RETRY
    assert "SSL" in (result.error or "")
    assert tls_receiver.requests == []


def test_a_government_ca_bundle_is_trusted_besides_the_systems_cas(app, tls_receiver, certificate, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_CA_FILE", None)
    store_webhook(app, tls_receiver.url(host=TLS_HOST))
    (notification_id,) = owe(app)
    unknown_ca = deliver(app, notification_id)
    assert unknown_ca.outcome is Outcome.RETRY
    assert "SSL" in (unknown_ca.error or "")
    assert tls_receiver.requests == []

    monkeypatch.setitem(app.config, "WEBHOOKS_CA_BUNDLE", str(certificate[0]))
    assert deliver(app, notification_id).outcome is Outcome.SENT
    assert len(tls_receiver.requests) == 1


def test_ticket_changes_reach_a_subscribed_system_signed_and_without_personal_data(
    app, client, tree, make_account, auth, categories, receiver
):
    world = build_world(client, tree, make_account, auth)
    hook = created(client, world.headers["admin"], url=receiver.url(), events=["ticket.created", "ticket.resolved"])
    ticket = world.resolved()
    result = app.test_cli_runner().invoke(args=["notify", "run-once"])
    assert result.exit_code == 0, result.output
    deliveries = [json.loads(received.body) for received in receiver.requests]
    assert [d["event"] for d in deliveries] == ["ticket.created", "ticket.resolved"]
    assert all(d["data"]["ticket_id"] == ticket["id"] for d in deliveries)
    assert all(is_genuine(hook["secret"], r.headers, r.body) for r in receiver.requests)
    sent = b"".join(received.body for received in receiver.requests).decode()
    assert RESIDENT_PHONE not in sent and "新华街" not in sent


def test_escalations_returns_and_merges_reach_a_subscribed_system_by_their_own_names(
    app, client, tree, make_account, auth, categories, receiver
):
    world = build_world(client, tree, make_account, auth)
    wanted = ["ticket.returned", "ticket.escalated", "ticket.merged", "ticket.cancelled"]
    created(client, world.headers["admin"], url=receiver.url(), events=wanted)
    moved = world.in_progress()
    world.act("worker", moved, "return", reason="不属于本网格")
    world.act("supervisor", moved, "approve_return")  # ticket.return_approved: not subscribed
    world.act("community_supervisor", moved, "escalate", reason="需要街道协调")
    survivor, duplicate = world.ticket(), world.ticket()
    world.act("supervisor", duplicate, "cancel", reason="重复工单", merged_into=survivor["id"])

    result = app.test_cli_runner().invoke(args=["notify", "run-once"])

    assert result.exit_code == 0, result.output
    deliveries = [json.loads(received.body) for received in receiver.requests]
    assert [(d["event"], d["data"]["ticket_id"]) for d in deliveries] == [
        ("ticket.returned", moved["id"]),
        ("ticket.escalated", moved["id"]),
        ("ticket.merged", duplicate["id"]),
        ("ticket.cancelled", duplicate["id"]),
    ]
    merged = deliveries[2]["data"]
    assert (merged["merged_into_id"], merged["merged_into_no"]) == (survivor["id"], survivor["no"])


# --- the receiver's own status names (a 12345 platform's 受理/办理中/办结) ------------------------------------

HOTLINE_NAMES = {"pending": "受理", "assigned": "办理中", "in_progress": "办理中", "resolved": "办结"}


def test_a_webhook_gets_ticket_statuses_in_its_own_words_and_others_in_the_residents(
    app, client, tree, make_account, auth, categories, receiver
):
    world = build_world(client, tree, make_account, auth)
    admin = world.headers["admin"]
    hotline = created(
        client,
        admin,
        url=receiver.url("/12345"),
        events=["ticket.created", "ticket.resolved"],
        status_names=HOTLINE_NAMES,
    )
    assert hotline["status_names"] == HOTLINE_NAMES
    created(client, admin, url=receiver.url("/ops"), events=["ticket.resolved"])
    world.resolved()
    assert app.test_cli_runner().invoke(args=["notify", "run-once"]).exit_code == 0
    seen = sorted(
        (received.path, json.loads(received.body)["event"], json.loads(received.body)["data"]["status_name"])
        for received in receiver.requests
    )
    assert seen == [
        ("/12345", "ticket.created", "受理"),
        ("/12345", "ticket.resolved", "办结"),
        ("/ops", "ticket.resolved", "已办结"),
    ]


def test_status_names_are_changed_with_a_patch_and_checked(client, admin, receiver):
    hook = created(client, admin, url=receiver.url(), events=["ticket.created"])
    assert hook["status_names"] == {}
    changed = client.patch(f"{URL}/{hook['id']}", json={"status_names": {"closed": "已归档"}}, headers=admin)
    assert changed.status_code == 200
    assert changed.json["status_names"] == {"closed": "已归档"}
    details = assert_error(
        client.patch(f"{URL}/{hook['id']}", json={"status_names": {"done": "办结"}}, headers=admin),
        422,
        "validation_error",
    )["details"]
    assert "status_names" in details
    too_long = client.patch(f"{URL}/{hook['id']}", json={"status_names": {"closed": "办" * 17}}, headers=admin)
    assert too_long.status_code == 422
