"""The console and http channels, and choosing the channel from the config.

The http channel talks to a local stub gateway (a thread serving on 127.0.0.1) that answers as told:
accepted, throttled, refused, or not at all.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from notifications.channels import ChannelConfigError, channel_slot, create_channel, sms_channel
from notifications.channels.base import Outcome, OutgoingSms
from notifications.channels.console import ConsoleChannel
from notifications.channels.http import HttpChannel

MESSAGE = OutgoingSms(
    message_id="6f1c1d0e-2b1f-4d43-9a55-3f1b4a0c9e11",
    phone="13912345678",
    template="sms_ticket_resolved",
    params={"no": "20261123-000017", "status": "已办结"},
    text="您的工单20261123-000017已办结。",
)


@dataclass
class Gateway:
    """What the stub answers next, and what it was sent."""

    status: int = 200
    body: bytes = b'{"result": {"id": "gw-42"}}'
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.received.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            if state.hang:
                time.sleep(state.hang)
                return
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send?tenant=7"
    yield state
    server.shutdown()
    server.server_close()


def channel_for(gateway: Gateway, **settings: Any) -> HttpChannel:
    config = {
        "SMS_HTTP_URL": gateway.url,
        "SMS_HTTP_AUTH_HEADER": "Authorization: Bearer gw-token-123",
        "SMS_HTTP_ID_FIELD": "result.id",
        "SMS_HTTP_READ_TIMEOUT": 2,
        "SMS_TEMPLATE_CODES": {"sms_ticket_resolved": "SMS_4567"},
        **settings,
    }
    return HttpChannel.from_config(config)


# --- http ---------------------------------------------------------------------------------------------


def test_the_http_channel_posts_the_message_as_json_with_its_id_and_credentials(gateway):
    result = channel_for(gateway).send(MESSAGE)

    assert (result.outcome, result.provider_id) == (Outcome.SENT, "gw-42")
    (request,) = gateway.received
    assert request["path"] == "/sms/send?tenant=7"
    assert request["headers"]["Authorization"] == "Bearer gw-token-123"
    assert request["headers"]["Idempotency-Key"] == MESSAGE.message_id
    assert request["body"] == {
        "message_id": MESSAGE.message_id,
        "phone": "13912345678",
        "text": MESSAGE.text,
        "template": "sms_ticket_resolved",
        "template_code": "SMS_4567",
        "params": {"no": "20261123-000017", "status": "已办结"},
    }


def test_the_body_follows_the_configured_template(gateway):
    template = {"to": ["+86{phone}"], "content": "【网格通】{text}", "ref": "{message_id}", "vars": "{params}", "n": 1}

    channel_for(gateway, SMS_HTTP_BODY_TEMPLATE=json.dumps(template)).send(MESSAGE)

    assert gateway.received[0]["body"] == {
        "to": ["+8613912345678"],
        "content": "【网格通】" + MESSAGE.text,
        "ref": MESSAGE.message_id,
        "vars": {"no": "20261123-000017", "status": "已办结"},
        "n": 1,
    }


@pytest.mark.parametrize("status", [429, 500, 502, 503, 408])
def test_throttling_and_server_errors_are_retried(gateway, status):
    gateway.status, gateway.headers, gateway.body = status, {"Retry-After": "30"}, b'{"error": "busy"}'

    result = channel_for(gateway).send(MESSAGE)

    assert (result.outcome, result.retry_after_seconds) == (Outcome.RETRY, 30.0)
    assert result.error == f'HTTP {status}: {{"error": "busy"}}'


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_refusals_are_permanent_and_say_why_without_the_number(gateway, status):
    gateway.status, gateway.body = status, b'{"error": "invalid number 13912345678"}'

    result = channel_for(gateway).send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error == f'HTTP {status}: {{"error": "invalid number ***"}}'


def test_a_redirect_is_not_followed(gateway):
    gateway.status, gateway.headers, gateway.body = 302, {"Location": "http://169.254.169.254/"}, b""

    result = channel_for(gateway).send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert len(gateway.received) == 1


def test_a_hanging_gateway_times_out_and_is_retried(gateway):
    gateway.hang = 2.0
    started = time.monotonic()

    result = channel_for(gateway, SMS_HTTP_READ_TIMEOUT=0.3).send(MESSAGE)

    assert (result.outcome, result.error) == (Outcome.RETRY, "the gateway did not answer in time")
    assert time.monotonic() - started < 1.5


def test_an_unreachable_gateway_is_retried():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    result = HttpChannel(f"http://127.0.0.1:{port}/sms", connect_timeout=0.5).send(MESSAGE)

    assert (result.outcome, result.error) == (Outcome.RETRY, "cannot reach the gateway: ConnectionRefusedError")


def test_a_gateway_answer_without_the_id_is_still_sent(gateway):
    gateway.body = b"OK"

    result = channel_for(gateway).send(MESSAGE)

    assert (result.outcome, result.provider_id) == (Outcome.SENT, None)


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"SMS_HTTP_URL": None}, "needs SMS_HTTP_URL"),
        ({"SMS_HTTP_URL": "ftp://gateway/"}, "http:// or https://"),
        ({"SMS_HTTP_BODY_TEMPLATE": "{not json"}, "not valid JSON"),
        ({"SMS_HTTP_AUTH_HEADER": "Bearer abc"}, "Name: value"),
    ],
)
def test_a_misconfigured_http_channel_says_what_is_wrong(gateway, settings, complaint):
    config = {"SMS_CHANNEL": "http", "SMS_HTTP_URL": gateway.url, **settings}
    with pytest.raises(ChannelConfigError, match=complaint):
        create_channel(config)


# --- console ------------------------------------------------------------------------------------------


def test_the_console_channel_logs_and_appends_one_masked_line_per_message(tmp_path):
    sink = tmp_path / "sms.jsonl"
    channel = ConsoleChannel(str(sink))

    first, second = channel.send(MESSAGE), channel.send(MESSAGE)

    assert first.outcome is second.outcome is Outcome.SENT
    line = {
        "message_id": MESSAGE.message_id,
        "phone": "139****5678",
        "template": MESSAGE.template,
        "text": MESSAGE.text,
    }
    assert [json.loads(text) for text in sink.read_text().splitlines()] == [line, line]


# --- choosing the channel ------------------------------------------------------------------------------


def test_the_console_channel_is_the_default(app: Flask):
    with app.app_context():
        channel_slot().clear()
        assert sms_channel().name == "console"
        assert sms_channel() is sms_channel()  # built once


def test_an_unknown_channel_is_refused():
    with pytest.raises(ChannelConfigError, match="not one of console, http, aliyun, tencent"):
        create_channel({"SMS_CHANNEL": "pigeon"})


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_provider_channel_without_its_credentials_is_refused(provider):
    with pytest.raises(ChannelConfigError, match=f"SMS_CHANNEL={provider} needs"):
        create_channel({"SMS_CHANNEL": provider})
