"""Webhooks out: subscriptions kept by admins, the SSRF guard, signing, owing and sending deliveries.

Other systems (a 12345 hotline platform, a city operations centre) subscribe a URL to ticket events.
Whatever owes an event calls `owe_webhooks` in its own transaction: one outbox row (medium `webhook`)
per active subscription. The delivery loop sends each row with `deliver_webhook`, which classifies
the receiver's answer (`SENT`, `RETRY`, `REJECTED`) and never raises for it.

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

**The secret is stored as it is**, in `webhooks.secret`, and only ever shown in the response that
created it. It cannot be hashed like an API key: the server must produce the HMAC, so it needs the
secret itself. Encrypting the column with a key from the application's own configuration would
protect only against a leak of the database alone, and that database already holds residents' full
phone numbers and ID numbers in the clear (masked only on the way out): its backups and access are the
real boundary. Encryption would also add a dependency (`cryptography`), a key to rotate and a way to
lose every secret with it. The secret is never serialized by `WebhookSchema`, never logged, never put
in `last_error`, and is erased when the webhook is deleted.

**Delete is soft**: the row stays (URL, events, times) with `deleted_at` set, `active` false and the
secret erased, so the record of which system received which residents' data survives, and an id is
never reused (SQLite may reuse the highest rowid of a deleted row) for messages still in the outbox
under it: those are refused when their turn comes. A deleted webhook is 404 for every endpoint.

**SSRF guard** (`vet_url`): https only (http when `WEBHOOKS_ALLOW_HTTP` is on, for development), no
user info, no fragment, printable ASCII only; the host is resolved and *every* address must be public
unicast: loopback, private, link-local (cloud metadata included), carrier-grade NAT, unspecified,
multicast, reserved and other special-purpose ranges are refused, IPv6 ones too and IPv4 addresses
carried inside IPv6 (mapped, compatible, NAT64, 6to4); IPv4 written otherwise than as four decimal
numbers (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) is refused outright. The guard runs when a
webhook is saved and again before every attempt (DNS can change in between, on purpose or not), and the
attempt connects to the addresses it just vetted instead of resolving again, while the `Host` header and
TLS (SNI and certificate verification) still use the URL's host name. No proxy, no redirects, a time
limit per attempt and a cap on the response bytes read. Only tests may exempt networks from the address
rules (`WEBHOOKS_ALLOWED_TEST_NETWORKS`, never read from the environment), to reach a local receiver.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import JSON, Boolean, String, select
from sqlalchemy.orm import Mapped, mapped_column

from kernel import records
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.errors import NotFoundError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, paginate
from notifications.channels.base import Outcome, SendResult
from notifications.models import DeliveryStatus, Medium, Notification, owed_message

# The ticket events a webhook may subscribe to (ticket.* in the ticket service's vocabulary).
WEBHOOK_EVENTS: Final[tuple[str, ...]] = (
    "ticket.created",
    "ticket.dispatched",
    "ticket.accepted",
    "ticket.claimed",
    "ticket.returned",
    "ticket.escalated",
    "ticket.resolved",
    "ticket.closed",
    "ticket.reopened",
    "ticket.cancelled",
    "ticket.merged",
    "ticket.urged",
    "ticket.warned",
    "ticket.overdue",
)
URL_MAX_LENGTH: Final = 2048
DESCRIPTION_MAX_LENGTH: Final = 200
SECRET_MIN_LENGTH, SECRET_MAX_LENGTH = 16, 128
# Printable ASCII without spaces: the secret is an HMAC key, and receivers in any language must get the same bytes.
SECRET_PATTERN: Final = r"^[\x21-\x7e]+$"  # noqa: S105 - a pattern, not a secret
SIGNATURE_PREFIX: Final = "sha256="
USER_AGENT: Final = "grid-governance-webhooks/1"


class Webhook(db.Model):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH))
    events: Mapped[list[str]] = mapped_column(JSON)  # a subset of WEBHOOK_EVENTS, in that order
    # Stored as given (see the module docstring); None once the webhook is deleted.
    secret: Mapped[str | None] = mapped_column(String(SECRET_MAX_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- the SSRF guard ---------------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeUrlError(Exception):
    """The URL may not be called: wrong scheme, user info, or a host that is not a public address."""


class UnresolvableHostError(Exception):
    """The host name did not resolve (a typo at save time; maybe a passing DNS failure at send time)."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: connect to `addresses` (in order), but speak to `host` in `Host` and TLS."""

    scheme: str
    host: str  # the URL's host name or address, lower-case, without IPv6 brackets
    port: int
    request_path: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]  # every address the host resolved to, each one vetted


_PRIVATE: Final = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
_SHARED: Final = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Aliyun's metadata lives here
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
# Cloud instance metadata: AWS, GCP, Azure, OpenStack (IPv4 and AWS's IPv6); Alibaba Cloud.
_METADATA: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.0.23")
)
# (why, test) in order; the first that matches names the refusal.
_REFUSED_CLASSES: Final = (
    ("is the unspecified address", lambda a: a.is_unspecified),
    ("is a loopback address", lambda a: a.is_loopback),
    ("is a cloud metadata address", lambda a: a in _METADATA),
    ("is a link-local address", lambda a: a.is_link_local),
    ("is a private address", lambda a: any(a in network for network in _PRIVATE)),
    ("is a carrier-grade NAT address (100.64.0.0/10)", lambda a: a in _SHARED),
    ("is a multicast address", lambda a: a.is_multicast),
    ("is a reserved address", lambda a: a.is_reserved),
    ("is not a public address", lambda a: not a.is_global),
)
# The WHATWG URL rule: a host whose last label is a number is an IPv4 address (127.1, 0x7f000001, 017700000001).
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


def vet_url(url: str, *, allow_http: bool, allowed_networks: Sequence[IPNetwork] = ()) -> Target:
    """The URL's target once every address its host resolves to is public; UnsafeUrlError otherwise.

    `allowed_networks` exempts addresses from the address rules (tests' local receivers only).
    """
    scheme, host, port, request_path = _parse(url, allow_http=allow_http)
    literal = _literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    for address in addresses:
        reason = refusal_reason(address, allowed_networks)
        if reason is not None:
            subject = str(address) if literal is not None else f"{host} resolves to {address}, which"
            raise UnsafeUrlError(f"{subject} {reason}")
    return Target(scheme, host, port, request_path, tuple(str(address) for address in addresses))


def refusal_reason(address: IPAddress, allowed_networks: Sequence[IPNetwork] = ()) -> str | None:
    """Why a connection to `address` is refused ("is a loopback address"), or None for a public unicast one."""
    if any(address.version == network.version and address in network for network in allowed_networks):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal_reason(embedded, allowed_networks)
            if inner is not None:
                return f"carries the IPv4 address {embedded}, which {inner}"
            if address.ipv4_mapped is not None:
                return None  # the connection goes to the (public) IPv4 address itself
    for reason, applies in _REFUSED_CLASSES:
        if applies(address):
            return reason
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: mapped, compatible (::a.b.c.d), NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _parse(url: str, *, allow_http: bool) -> tuple[str, str, int, str]:
    if not _PRINTABLE_ASCII.fullmatch(url):
        raise UnsafeUrlError(
            "must be printable ASCII without spaces (percent-encode the path, use the xn-- form of the host)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed [IPv6] host or a port that is no number in 0-65535
        raise UnsafeUrlError("is not a valid URL (check the host and the port)") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeUrlError("must be an https:// URL" if not allow_http else "must be an https:// or http:// URL")
    if "@" in parts.netloc:
        raise UnsafeUrlError("must not carry a user name or password")
    if parts.fragment or url.endswith("#"):
        raise UnsafeUrlError("must not have a #fragment (it is never sent)")
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrlError("must name a host")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    elif port == 0:
        raise UnsafeUrlError("has an invalid port")
    request_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, request_path


def _literal(host: str) -> IPAddress | None:
    """The address a host names literally; UnsafeUrlError for IPv4 spelt otherwise than a.b.c.d."""
    if ":" in host:  # only IPv6 literals have colons in a hostname
        if "%" in host:
            raise UnsafeUrlError("must not use an IPv6 zone id")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeUrlError("has an invalid IPv6 address") from None
    name = host.removesuffix(".")
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        try:
            return ipaddress.IPv4Address(name)  # strict: four decimal numbers, no leading zeros
        except ValueError:
            raise UnsafeUrlError("writes an IPv4 address in a form other than four decimal numbers (a.b.c.d)") from None
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHostError(f"{host} does not resolve") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnresolvableHostError(f"{host} does not resolve")
    return addresses


@dataclass(frozen=True)
class _Settings:
    allow_http: bool
    allowed_networks: tuple[IPNetwork, ...]
    timeout: float
    max_response_bytes: int
    ca_file: str | None


def _settings() -> _Settings:
    config = current_app.config
    return _Settings(
        allow_http=bool(config["WEBHOOKS_ALLOW_HTTP"]),
        allowed_networks=tuple(ipaddress.ip_network(n) for n in config["WEBHOOKS_ALLOWED_TEST_NETWORKS"]),
        timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
        max_response_bytes=int(config["WEBHOOK_MAX_RESPONSE_BYTES"]),
        ca_file=config["WEBHOOKS_CA_FILE"],
    )


def _vetted(url: str, settings: _Settings) -> Target:
    return vet_url(url, allow_http=settings.allow_http, allowed_networks=settings.allowed_networks)


# --- subscriptions ----------------------------------------------------------------------------------


def list_webhooks(*, active: bool | None, limit: int, cursor: str | None) -> Page[Webhook]:
    """Webhooks by id, deleted ones left out; optionally only the active or the inactive ones."""
    stmt = select(Webhook).where(Webhook.deleted_at.is_(None))
    if active is not None:
        stmt = stmt.where(Webhook.active.is_(active))
    return paginate(stmt, order_by=[Webhook.id], limit=limit, cursor=cursor, query_fingerprint={"active": active})


def get_webhook(webhook_id: int) -> Webhook:
    """The webhook with this id; NotFoundError when there is none or it was deleted."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.deleted_at is not None:
        raise NotFoundError("No such webhook.")
    return webhook


def create_webhook(data: Mapping[str, Any]) -> Webhook:
    """Subscribe a URL (vetted by the SSRF guard) to events; the secret is generated when none is given."""
    webhook = Webhook(
        url=_checked_url(data["url"]),
        events=_canonical_events(data["events"]),
        secret=data.get("secret") or secrets.token_urlsafe(32),
        active=data.get("active", True),
        description=data.get("description"),
    )
    db.session.add(webhook)
    db.session.flush()
    return webhook


def update_webhook(webhook_id: int, changes: Mapping[str, Any]) -> Webhook:
    """Change a webhook's URL (vetted again), events, secret, description or state."""
    webhook = get_webhook(webhook_id)
    if "url" in changes:
        webhook.url = _checked_url(changes["url"])
    if "events" in changes:
        webhook.events = _canonical_events(changes["events"])
    for name in ("secret", "active", "description"):
        if name in changes:
            setattr(webhook, name, changes[name])
    db.session.flush()
    return webhook


def delete_webhook(webhook_id: int) -> None:
    """Delete a webhook: nothing more is owed to it or sent; the row stays as a record, its secret erased."""
    webhook = get_webhook(webhook_id)
    webhook.deleted_at = utcnow()
    webhook.active = False
    webhook.secret = None
    db.session.flush()


def _checked_url(url: str) -> str:
    try:
        _vetted(url, _settings())
    except (UnsafeUrlError, UnresolvableHostError) as refusal:
        raise ValidationError("The webhook URL is not allowed.", {"url": [str(refusal)]}) from None
    return url


def _canonical_events(events: Sequence[str]) -> list[str]:
    wanted = set(events)
    return [event for event in WEBHOOK_EVENTS if event in wanted]


# --- owing -----------------------------------------------------------------------------------------


# Asked on every ticket change: the ids and events only, not the subscriptions' secrets.
ACTIVE_SUBSCRIPTIONS = (
    select(Webhook.id, Webhook.events)
    .where(Webhook.active.is_(True), Webhook.deleted_at.is_(None))
    .order_by(Webhook.id)
)


def _active_subscriptions() -> list[Any]:
    # On the session's connection, in its transaction: plain columns need none of the ORM's execution (a third
    # of this query's cost), and nothing is flushed first, as the subscriptions do not depend on the change.
    return list(db.session.connection().execute(ACTIVE_SUBSCRIPTIONS))


def owe_webhooks(event: str, data: Mapping[str, Any], *, ticket_id: int | None) -> int:
    """Write one pending outbox row per active webhook subscribed to `event`, in the caller's transaction."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    # Through JSON: what cannot be sent fails here, in the change's transaction, not at send time.
    encoded = json.dumps(dict(data), ensure_ascii=False, allow_nan=False)
    subscribed = [
        webhook_id
        for webhook_id, events in _active_subscriptions()
        if event in events  # a handful of rows, so filtered here rather than with JSON operators
    ]
    records.append(
        Notification,
        *(
            owed_message(
                event,
                Medium.WEBHOOK,
                event,
                json.loads(encoded),  # a copy each
                status=DeliveryStatus.PENDING,
                ticket_id=ticket_id,
                webhook_id=webhook_id,
            )
            for webhook_id in subscribed
        ),
    )
    return len(subscribed)


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


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Grid-Signature value: HMAC-SHA256 over "<timestamp>.<body>", keyed with the webhook's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def delivery_headers(notification: Notification, secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        "X-Grid-Event": notification.event,
        "X-Grid-Delivery": notification.message_id,
        "X-Grid-Timestamp": stamp,
        "X-Grid-Signature": signature(secret, stamp, body),
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
    settings = _settings()
    try:
        target = _vetted(webhook.url, settings)  # again: DNS may point elsewhere since it was saved
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


def _post(target: Target, body: bytes, headers: Mapping[str, str], settings: _Settings) -> _Answer:
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


def _connection(target: Target, settings: _Settings, deadline: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        # Verification on (CERT_REQUIRED, host name checked); WEBHOOKS_CA_FILE replaces the system's CAs.
        context = ssl.create_default_context(cafile=settings.ca_file)
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
