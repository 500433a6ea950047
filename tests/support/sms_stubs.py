"""Local stand-ins for the SMS providers' APIs, on 127.0.0.1 and a random port, for the adapter tests.

Each speaks its provider's wire shape (what the real SDK sends, what the provider answers), checks the request's
signature with the test credentials (so a wrong secret gets the provider's own refusal), records what it
received, and answers as scripted: success by default, a provider error, a bare HTTP status, or nothing at all
(a hanging connection, released when the stub stops).
"""

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, quote, urlsplit

HANG_LIMIT_SECONDS = 30  # a hung handler gives up by itself even if a test forgets to stop the stub


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    params: dict[str, Any]  # Aliyun: query and form fields; Tencent: the JSON body
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class StubServer:
    """One provider's API: subclasses say how a request is read, checked and answered."""

    key_id: str
    secret: str
    received: list[Received] = field(default_factory=list)
    scripted: Answer | None = None  # None: the provider's success answer
    hanging: bool = False

    def __post_init__(self) -> None:
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll so that stopping the stub (shutdown waits for the loop to look) takes no time.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name=type(self).__name__, daemon=True
        )

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def hang(self) -> None:
        """Accept requests and never answer them."""
        self.hanging = True

    def answer_status(self, status: int, body: bytes = b"", content_type: str = "text/html") -> None:
        self.scripted = Answer(status, body, content_type)

    def last(self) -> Received:
        assert self.received, "the stub received no request"
        return self.received[-1]

    # What a subclass provides.
    def read(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Received:
        raise NotImplementedError

    def refusal(self, received: Received) -> Answer | None:
        """The provider's answer to a request it cannot authenticate, or None."""
        raise NotImplementedError

    def success(self, received: Received) -> Answer:
        raise NotImplementedError

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        received = self.read(method, path, headers, body)
        self.received.append(received)
        if self.hanging:
            self._release.wait(HANG_LIMIT_SECONDS)
            return None
        return self.refusal(received) or self.scripted or self.success(received)


def _handler_for(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = stub.handle("POST", self.path, headers, body)
            if answer is None:
                self.close_connection = True
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


def _json(status: int, document: Mapping[str, Any], content_type: str = "application/json") -> Answer:
    return Answer(status, json.dumps(document, ensure_ascii=False).encode(), content_type)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _authorization(value: str, algorithm: str) -> dict[str, str]:
    """`ALG Credential=…,SignedHeaders=…,Signature=…` (Tencent puts a space after each comma)."""
    if not value.startswith(algorithm + " "):
        return {}
    pairs = (part.strip().partition("=") for part in value[len(algorithm) + 1 :].split(","))
    return {name: content for name, _, content in pairs}


class AliyunStub(StubServer):
    """Dysms 2017-05-25, RPC style: POST /?PhoneNumbers=…&TemplateCode=…, signed ACS3-HMAC-SHA256, JSON answers.

    Business refusals (invalid number, throttled, bad template) come as HTTP 200 with their `Code`; request
    refusals (signature, credentials) as HTTP 4xx with `Code`, as Aliyun does."""

    def answer_code(self, code: str, message: str, status: int = 200) -> None:
        self.scripted = _json(status, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()})

    def read(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Received:
        params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return Received(method, path, headers, params, body)

    def refusal(self, received: Received) -> Answer | None:
        auth = _authorization(received.headers.get("authorization", ""), "ACS3-HMAC-SHA256")
        if auth.get("Credential") != self.key_id:
            return _json(404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."})
        if auth.get("Signature") != self._signature(received, auth.get("SignedHeaders", "")):
            return _json(
                400,
                {
                    "Code": "SignatureDoesNotMatch",
                    "Message": "Specified signature does not match our calculation.",
                    "RequestId": str(uuid.uuid4()).upper(),
                },
            )
        return None

    def _signature(self, received: Received, signed_headers: str) -> str:
        """ACS3-HMAC-SHA256 as Aliyun documents it, computed from what arrived on the wire."""
        query = dict(parse_qsl(urlsplit(received.path).query, keep_blank_values=True))
        canonical_query = "&".join(f"{quote(k, safe='~')}={quote(query[k], safe='~')}" for k in sorted(query))
        names = signed_headers.split(";") if signed_headers else []
        canonical_headers = "".join(f"{name}:{received.headers.get(name, '').strip()}\n" for name in names)
        payload_hash = hashlib.sha256(received.body).hexdigest()
        if received.headers.get("x-acs-content-sha256") != payload_hash:
            return ""
        canonical = "\n".join(
            [
                "POST",
                urlsplit(received.path).path or "/",
                canonical_query,
                canonical_headers,
                signed_headers,
                payload_hash,
            ]
        )
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        return _hmac(self.secret.encode(), to_sign).hex()

    def success(self, received: Received) -> Answer:
        biz_id = f"{uuid.uuid4().int % 10**18:018d}^0"
        return _json(200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4()).upper()})


@dataclass
class TencentStub(StubServer):
    """SMS 2021-01-11, API 3.0: JSON POST with an `X-TC-Action` header, signed TC3-HMAC-SHA256, answers in
    `{"Response": {...}}`. Request refusals come as `Response.Error` (HTTP 200); per-number refusals (invalid
    number, throttled) in `SendStatusSet`, as Tencent does."""

    number_status: tuple[str, str] = ("Ok", "send success")  # the per-number Code and Message in a success

    def answer_error(self, code: str, message: str) -> None:
        self.scripted = self._error(code, message)

    def answer_number_status(self, code: str, message: str) -> None:
        self.number_status = (code, message)

    def read(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Received:
        return Received(method, path, headers, json.loads(body or b"{}"), body)

    def refusal(self, received: Received) -> Answer | None:
        auth = _authorization(received.headers.get("authorization", ""), "TC3-HMAC-SHA256")
        key_id, _, scope = auth.get("Credential", "").partition("/")
        if key_id != self.key_id:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        if received.headers.get("x-tc-action") != "SendSms":
            return self._error("InvalidAction", "The action does not exist.")
        if auth.get("Signature") != self._signature(received, scope):
            return self._error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return None

    def _signature(self, received: Received, scope: str) -> str:
        """TC3-HMAC-SHA256 as Tencent documents it, over content-type and host."""
        date, _, rest = scope.partition("/")
        service = rest.partition("/")[0]
        timestamp = received.headers.get("x-tc-timestamp", "0")
        if datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d") != date:
            return ""
        canonical_headers = (
            f"content-type:{received.headers.get('content-type', '')}\nhost:{received.headers.get('host', '')}\n"
        )
        canonical = "\n".join(
            ["POST", "/", "", canonical_headers, "content-type;host", hashlib.sha256(received.body).hexdigest()]
        )
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = _hmac(_hmac(_hmac(("TC3" + self.secret).encode(), date), service), "tc3_request")
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    def _error(self, code: str, message: str) -> Answer:
        return _json(200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": _rid()}})

    def success(self, received: Received) -> Answer:
        code, message = self.number_status
        statuses = [
            {
                "SerialNo": f"2645:{uuid.uuid4().int % 10**20:020d}" if code == "Ok" else "",
                "PhoneNumber": phone,
                "Fee": 1 if code == "Ok" else 0,
                "SessionContext": received.params.get("SessionContext", ""),
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
            }
            for phone in received.params.get("PhoneNumberSet", [])
        ]
        return _json(200, {"Response": {"SendStatusSet": statuses, "RequestId": _rid()}})


def _rid() -> str:
    return str(uuid.uuid4())
