"""The generic HTTP gateway channel: one JSON request per SMS to a URL the deployment configures.

Settings: `SMS_HTTP_URL`, `SMS_HTTP_METHOD` (POST), `SMS_HTTP_BODY_TEMPLATE` (JSON; string values may hold
{message_id}, {phone}, {text}, {template}, {template_code}; a value that is exactly "{params}" becomes the
parameters object), `SMS_HTTP_AUTH_HEADER` ("Name: value"), `SMS_HTTP_ID_FIELD` (dotted path to the gateway's
id in its JSON answer), `SMS_HTTP_CONNECT_TIMEOUT` and `SMS_HTTP_READ_TIMEOUT` (seconds).

Every request carries the stable message id in `Idempotency-Key` and `X-Message-Id`, so a gateway can drop a
resend. Answers are classified, never raised: 2xx sent; 408, 425, 429 and 5xx, timeouts and connection errors
retry (honouring `Retry-After`); any other status is a permanent refusal. Redirects are not followed, and the
answer is read up to 64 KB within the read timeout.
"""

import http.client
import json
import re
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from notifications.channels.base import Outcome, OutgoingSms, SendResult

DEFAULT_BODY = {
    "message_id": "{message_id}",
    "phone": "{phone}",
    "text": "{text}",
    "template": "{template}",
    "template_code": "{template_code}",
    "params": "{params}",
}
MAX_ANSWER_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# The gateway's error text goes to `last_error`, which admins read: no phone numbers in it.
_PHONE_LIKE = re.compile(r"\d{7,}")


class HttpChannel:
    name = "http"

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        body_template: Any = None,
        auth_header: tuple[str, str] | None = None,
        id_field: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        template_codes: Mapping[str, Any] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("SMS_HTTP_URL must be an http:// or https:// URL.")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.method = method.upper()
        self.body_template = DEFAULT_BODY if body_template is None else body_template
        self.auth_header = auth_header
        self.id_field = id_field
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.template_codes = dict(template_codes or {})
        self.tls = ssl.create_default_context() if self.scheme == "https" else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "HttpChannel":
        """From the SMS_HTTP_* settings; ValueError names what is missing or malformed."""
        url = config.get("SMS_HTTP_URL")
        if not url:
            raise ValueError("SMS_CHANNEL=http needs SMS_HTTP_URL.")
        body_template = None
        if config.get("SMS_HTTP_BODY_TEMPLATE"):
            try:
                body_template = json.loads(config["SMS_HTTP_BODY_TEMPLATE"])
            except ValueError as error:
                raise ValueError("SMS_HTTP_BODY_TEMPLATE is not valid JSON.") from error
        auth_header = None
        if config.get("SMS_HTTP_AUTH_HEADER"):
            name, separator, value = str(config["SMS_HTTP_AUTH_HEADER"]).partition(":")
            if not separator or not name.strip():
                raise ValueError('SMS_HTTP_AUTH_HEADER must read "Name: value".')
            auth_header = (name.strip(), value.strip())
        return cls(
            url,
            method=config.get("SMS_HTTP_METHOD") or "POST",
            body_template=body_template,
            auth_header=auth_header,
            id_field=config.get("SMS_HTTP_ID_FIELD"),
            connect_timeout=float(config.get("SMS_HTTP_CONNECT_TIMEOUT", 3)),
            read_timeout=float(config.get("SMS_HTTP_READ_TIMEOUT", 10)),
            template_codes=config.get("SMS_TEMPLATE_CODES") or {},
        )

    def send(self, message: OutgoingSms) -> SendResult:
        body = json.dumps(self.body(message), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": message.message_id,
            "X-Message-Id": message.message_id,
        }
        if self.auth_header is not None:
            headers[self.auth_header[0]] = self.auth_header[1]
        try:
            status, retry_after, answer = self._exchange(body, headers)
        except TimeoutError:
            return SendResult(Outcome.RETRY, error="the gateway did not answer in time")
        except (OSError, http.client.HTTPException) as error:
            return SendResult(Outcome.RETRY, error=f"cannot reach the gateway: {type(error).__name__}")
        return self.classify(status, retry_after, answer)

    def body(self, message: OutgoingSms) -> Any:
        values = {
            "message_id": message.message_id,
            "phone": message.phone,
            "text": message.text,
            "template": message.template,
            "template_code": _template_code(self.template_codes.get(message.template)),
        }
        return _fill(self.body_template, values, dict(message.params))

    def classify(self, status: int, retry_after: float | None, answer: bytes) -> SendResult:
        parsed = _json(answer)
        if 200 <= status < 300:
            return SendResult(Outcome.SENT, provider_id=self._provider_id(parsed), raw=_as_dict(parsed))
        error = f"HTTP {status}: {_excerpt(answer)}".rstrip(": ")
        if status in RETRYABLE_STATUSES or status >= 500:
            return SendResult(Outcome.RETRY, error=error, retry_after_seconds=retry_after, raw=_as_dict(parsed))
        return SendResult(Outcome.REJECTED, error=error, raw=_as_dict(parsed))

    def _exchange(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, float | None, bytes]:
        connection: http.client.HTTPConnection
        if self.tls is not None:
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.connect_timeout, context=self.tls
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        try:
            connection.connect()  # TLS included: the connect timeout covers the handshake
            connection.sock.settimeout(self.read_timeout)  # type: ignore[union-attr]
            deadline = time.monotonic() + self.read_timeout
            connection.request(self.method, self.target, body=body, headers=dict(headers))
            response = connection.getresponse()
            answer = _read_capped(response, deadline)
            return response.status, _retry_after(response.getheader("Retry-After")), answer
        finally:
            connection.close()

    def _provider_id(self, parsed: Any) -> str | None:
        if not self.id_field:
            return None
        value = parsed
        for key in self.id_field.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        return None if value is None else str(value)[:64]


def _read_capped(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """At most MAX_ANSWER_BYTES, and no longer than the read timeout in all (a trickling answer is cut off)."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_ANSWER_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(min(8192, MAX_ANSWER_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _fill(template: Any, values: Mapping[str, str], params: dict[str, str]) -> Any:
    """The body template with the message's values: placeholders in strings, "{params}" as an object."""
    if isinstance(template, str):
        if template == "{params}":
            return params
        return re.sub(r"\{([a-z_]+)\}", lambda match: values.get(match.group(1), match.group(0)), template)
    if isinstance(template, Mapping):
        return {key: _fill(value, values, params) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(item, values, params) for item in template]
    return template


def _template_code(entry: Any) -> str:
    """SMS_TEMPLATE_CODES entries are a code, or {"code": ..., "params": [...]}."""
    if isinstance(entry, Mapping):
        return str(entry.get("code") or "")
    return str(entry or "")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def _json(answer: bytes) -> Any:
    try:
        return json.loads(answer) if answer else None
    except ValueError:
        return None


def _as_dict(parsed: Any) -> dict[str, Any]:
    return parsed if isinstance(parsed, dict) else {}


def _excerpt(answer: bytes) -> str:
    text = " ".join(answer[:400].decode("utf-8", "replace").split())
    return _PHONE_LIKE.sub("***", text)[:200]
