"""Webhooks out, for the tests: a local receiver on 127.0.0.1 that records what it gets and answers as told,
a fake DNS for *.example.test, and webhooks stored, owed and delivered straight through the service."""

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from sqlalchemy import select

from kernel.extensions import db
from notifications.channels.base import SendResult
from notifications.outbox.models import Notification
from notifications.webhooks.delivery import deliver_webhook
from notifications.webhooks.models import WEBHOOK_EVENTS, Webhook
from notifications.webhooks.service import owe_webhooks

URL = "/api/v1/webhooks"
SECRET = "s3cret-for-the-hotline-platform"


# --- a local receiver -----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP(S) server on 127.0.0.1 that records what it gets and answers as told."""

    server: ThreadingHTTPServer
    scheme: str = "http"
    status: int = 200
    answer_headers: dict[str, str] = field(default_factory=dict)
    answer_body: bytes = b"ok"
    behaviour: str = "answer"  # answer | hang | endless | trickle
    statuses: list[int] = field(default_factory=list)  # answered in turn before `status`
    requests: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI seen
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if receiver.behaviour == "hang":
            receiver.release.wait(10)
            return
        if receiver.behaviour == "trickle":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while not receiver.release.wait(0.05):  # a header byte every 50 ms, never finishing
                self.wfile.write(b"X")
                self.wfile.flush()
            return
        status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
        self.send_response(status)
        for name, value in receiver.answer_headers.items():
            self.send_header(name, value)
        if receiver.behaviour == "endless":
            self.end_headers()  # no Content-Length: the body runs until the connection closes
            for _ in range(100_000):  # 6.4 GB at most; the client hangs up long before
                if receiver.release.is_set():
                    return
                self.wfile.write(b"x" * 65536)
            return
        self.send_header("Content-Length", str(len(receiver.answer_body)))
        self.end_headers()
        self.wfile.write(receiver.answer_body)

    def handle(self) -> None:
        # The client hangs up, as it should, on a capped body or at its time limit.
        with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
            super().handle()


def start_receiver(tls: ssl.SSLContext | None = None) -> Receiver:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    receiver = Receiver(server, scheme="https" if tls else "http")
    if tls is not None:

        def remember_server_name(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            receiver.server_names.append(name)

        tls.sni_callback = remember_server_name  # type: ignore[assignment]
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.receiver = receiver  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return receiver


def stop_receiver(receiver: Receiver) -> None:
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


# --- a fake DNS -----------------------------------------------------------------------------------


class FakeDns:
    """socket.getaddrinfo for *.example.test: fixed answers, or a queue of successive answers."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def set(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.rstrip(".").endswith(".example.test"):
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(name)
        queue = self.answers.get(name.rstrip("."))
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [_addrinfo(address, int(port or 0)) for address in addresses]


def _addrinfo(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))


# --- arranging and acting -------------------------------------------------------------------------


def store_webhook(app: Flask, url: str, **fields: Any) -> int:
    """A webhook written straight to the table, past the guard (as if saved when DNS answered otherwise)."""
    with app.app_context():
        webhook = Webhook(
            url=url,
            events=fields.pop("events", list(WEBHOOK_EVENTS)),
            secret=fields.pop("secret", SECRET),
            active=fields.pop("active", True),
            **fields,
        )
        db.session.add(webhook)
        db.session.commit()
        return webhook.id


def owe(app: Flask, event: str = "ticket.resolved", data: dict[str, Any] | None = None) -> list[int]:
    """Owe an event in a committed transaction; the new outbox rows' ids."""
    with app.app_context():
        before = set(db.session.scalars(select(Notification.id)))
        owe_webhooks(event, data if data is not None else {"ticket_no": "20261122-000017"}, ticket_id=None)
        db.session.commit()
        return sorted(set(db.session.scalars(select(Notification.id))) - before)


def deliver(app: Flask, notification_id: int) -> SendResult:
    with app.app_context():
        return deliver_webhook(db.session.get(Notification, notification_id))


def owe_and_deliver(app: Flask, url: str, **fields: Any) -> SendResult:
    store_webhook(app, url, **fields)
    (notification_id,) = owe(app)
    return deliver(app, notification_id)
