"""Sending one webhook delivery: signed, to the vetted addresses only, classified, never raising for the answer.

**A delivery** is `POST <url>` with the JSON body (UTF-8, the exact bytes signed)

    {"id": "<message id>", "event": "ticket.resolved", "occurred_at": "2026-11-22T06:30:00Z", "data": {...}}

and the headers `X-Grid-Event` (the event), `X-Grid-Delivery` (the message id: the same on every retry of
one message, so a receiver recognises a resend), `X-Grid-Timestamp` (unix seconds when this attempt was
signed) and `X-Grid-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. A 2xx answer
means delivered; 408, 429 and 5xx (or no answer in time) are retried with the outbox's backoff; any
other answer, a redirect included, is final. Verifying one in Python, over the raw body bytes:

    import hashlib, hmac, time

    def is_genuine(secret: str, headers, body: bytes, tolerance_seconds: int = 300) -> bool:
        timestamp = headers["X-Grid-Timestamp"]
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_seconds:
            return False  # stale: possibly a replay
        signed = timestamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers["X-Grid-Signature"])

Then treat a `X-Grid-Delivery` already processed as done (answer 2xx again, change nothing).

No proxy, no redirects, a time limit per attempt and a cap on the response bytes read; the connection goes to
the addresses the SSRF guard (`notifications.webhooks.ssrf`) vetted just before, never resolving the host again.
"""

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC
from typing import Final

from kernel import signing
from kernel.clock import utcnow
from kernel.extensions import db
from notifications.channels.base import Outcome, SendResult
from notifications.outbox.models import Notification
from notifications.webhooks.models import Webhook
from notifications.webhooks.service import Settings, current_settings, vetted
from notifications.webhooks.ssrf import Target, UnresolvableHostError, UnsafeUrlError

USER_AGENT: Final = "grid-governance-webhooks/1"


# --- signing ---------------------------------------------------------------------------------------


def delivery_body(notification: Notification) -> bytes:
    """The JSON body of a delivery, as the bytes that are signed and sent."""
    created = notification.created_at.astimezone(UTC)
    document = {
        "id": notification.message_id,
        "event": notification.event,
        "occurred_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": notification.params,
    }
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True).encode()


def delivery_headers(notification: Notification, secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        "X-Grid-Event": notification.event,
        "X-Grid-Delivery": notification.message_id,
        "X-Grid-Timestamp": stamp,
        "X-Grid-Signature": signing.sign(secret, stamp, body),
    }


# --- sending ---------------------------------------------------------------------------------------


def deliver_webhook(notification: Notification) -> SendResult:
    """Send one outbox row to its webhook; SENT on 2xx, RETRY when worth trying again, REJECTED otherwise."""
    webhook = db.session.get(Webhook, notification.webhook_id) if notification.webhook_id is not None else None
    if webhook is None or webhook.deleted_at is not None or webhook.secret is None:
        return SendResult(Outcome.REJECTED, error="the webhook was deleted")
    if not webhook.active:
        return SendResult(Outcome.REJECTED, error="the webhook is inactive")
    if notification.event not in webhook.events:
        return SendResult(Outcome.REJECTED, error="the webhook no longer subscribes to this event")
    settings = current_settings()
    try:
        target = vetted(webhook.url, settings)  # again: DNS may point elsewhere since it was saved
    except UnsafeUrlError as unsafe:
        return SendResult(Outcome.REJECTED, error=f"refused by the SSRF guard: {unsafe}")
    except UnresolvableHostError as unresolved:
        return SendResult(Outcome.RETRY, error=str(unresolved))
    body = delivery_body(notification)
    headers = delivery_headers(notification, webhook.secret, body, timestamp=int(utcnow().timestamp()))
    try:
        answer = _post(target, body, headers, settings)
    except TimeoutError:
        return SendResult(Outcome.RETRY, error=f"no answer from {target.host} within {settings.timeout:g} s")
    except (OSError, http.client.HTTPException) as failure:
        return SendResult(Outcome.RETRY, error=f"connection to {target.host} failed: {type(failure).__name__}")
    return _classify(answer)


@dataclass(frozen=True)
class _Answer:
    status: int
    retry_after: str | None
    location: str | None
    body: bytes  # at most WEBHOOK_MAX_RESPONSE_BYTES


def _classify(answer: _Answer) -> SendResult:
    raw = {"status": answer.status, "response_bytes": len(answer.body)}
    excerpt = answer.body[:200].decode("utf-8", "replace").replace("\n", " ").strip()
    error = f"HTTP {answer.status}" + (f": {excerpt}" if excerpt else "")
    if 200 <= answer.status < 300:
        return SendResult(Outcome.SENT, raw=raw)
    if answer.status in (408, 429) or 500 <= answer.status < 600:
        return SendResult(Outcome.RETRY, error=error, retry_after_seconds=_seconds(answer.retry_after), raw=raw)
    if 300 <= answer.status < 400:
        # Not followed: the new location was never vetted, and a moved receiver is the admin's to update.
        where = f" to {answer.location[:200]}" if answer.location else ""
        return SendResult(Outcome.REJECTED, error=f"HTTP {answer.status}: redirect{where} not followed", raw=raw)
    return SendResult(Outcome.REJECTED, error=error, raw=raw)


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored: the outbox's backoff applies)."""
    if retry_after is None or not retry_after.strip().isdigit():
        return None
    return float(min(int(retry_after.strip()), 24 * 3600))


def _post(target: Target, body: bytes, headers: Mapping[str, str], settings: Settings) -> _Answer:
    """One POST to the vetted addresses, within the time limit as a whole (connect, send, answer, body)."""
    deadline = time.monotonic() + settings.timeout
    connection = _connection(target, settings, deadline)
    watchdog = _Watchdog(connection, settings.timeout)
    try:
        connection.connect()
        connection.request("POST", target.request_path, body=body, headers=dict(headers))
        response = connection.getresponse()
        received = response.read(settings.max_response_bytes)  # the rest is never read
        if watchdog.fired:  # a severed connection can look like a short but complete answer
            raise TimeoutError
        return _Answer(response.status, response.getheader("Retry-After"), response.getheader("Location"), received)
    except TimeoutError:
        raise
    except (OSError, http.client.HTTPException):
        if watchdog.fired:
            raise TimeoutError from None
        raise
    finally:
        watchdog.cancel()
        connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the vetted addresses, never resolving the host again (DNS rebinding)."""

    def __init__(self, target: Target, deadline: float) -> None:
        super().__init__(target.host, target.port, timeout=_remaining(deadline))
        self.target, self.deadline = target, deadline

    def connect(self) -> None:
        self.sock = _open_socket(self.target, self.deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: SNI and certificate checks against the URL's host name, not the address."""

    def __init__(self, target: Target, deadline: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=_remaining(deadline), context=context)
        self.target, self.deadline, self.tls = target, deadline, context

    def connect(self) -> None:
        plain = _open_socket(self.target, self.deadline)
        try:
            # An absolute name (a trailing dot) is the same name to a certificate.
            self.sock = self.tls.wrap_socket(plain, server_hostname=self.target.host.removesuffix("."))
        except BaseException:
            plain.close()
            raise


def _connection(target: Target, settings: Settings, deadline: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        # Verification on (CERT_REQUIRED, host name checked); WEBHOOKS_CA_FILE replaces the system's CAs,
        # WEBHOOKS_CA_BUNDLE adds to them (a government CA for the partners on an intranet).
        context = ssl.create_default_context(cafile=settings.ca_file)
        if settings.ca_bundle:
            context.load_verify_locations(cafile=settings.ca_bundle)
        return _PinnedHTTPSConnection(target, deadline, context)
    return _PinnedHTTPConnection(target, deadline)


def _open_socket(target: Target, deadline: float) -> socket.socket:
    """A connection to the first vetted address that answers, within what is left of the time limit."""
    failure: OSError | None = None
    for address in target.addresses:
        try:
            sock = socket.create_connection((address, target.port), timeout=_remaining(deadline))
        except OSError as error:
            failure = error
            continue
        sock.settimeout(_remaining(deadline))  # each later read: at most what is left (the watchdog ends it)
        return sock
    raise failure or OSError("no address to connect to")


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the time limit is spent")
    return left


class _Watchdog:
    """Severs the connection when the attempt's time is up. Socket timeouts bound each read, not their sum:
    a receiver trickling its answer a byte at a time would otherwise hold a worker as long as it liked."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.connection, self.fired = connection, False
        self.timer = threading.Timer(seconds, self._sever)
        self.timer.daemon = True
        self.timer.start()

    def _sever(self) -> None:
        self.fired = True
        sock = self.connection.sock
        if sock is not None:
            with suppress(OSError):
                # The plain socket's shutdown, even under TLS: the blocked read returns, the TLS object is untouched.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self.timer.cancel()
