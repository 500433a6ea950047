"""The channel interface: one outgoing message in, one outcome back. Adapters never raise for a provider's
answer; they classify it, so the delivery loop decides between retrying and giving up."""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

MAX_ERROR_LENGTH = 300
# A request URL's query in a network error (the SDKs quote the URL): the phone number and the parameters.
URL_QUERY = re.compile(r"\?[^\s'\"]*")


class Outcome(StrEnum):
    SENT = "sent"  # accepted by the provider (a delivery report may follow)
    RETRY = "retry"  # temporary: throttled, timed out, provider down — try again later
    REJECTED = "rejected"  # permanent: invalid number, bad template, bad signature — retrying will not help


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS: `message_id` is stable across retries so the provider (or a receiver) can spot a resend."""

    message_id: str
    phone: str  # national digits, e.g. 13812345678
    template: str  # the event's template name, e.g. "ticket_resolved"
    params: dict[str, str]  # named values for the template
    text: str  # the rendered Chinese text, for channels that send free text (console, http)


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None  # the provider's id for this message, for delivery reports
    error: str | None = None  # short, for `last_error` (never a secret)
    retry_after_seconds: float | None = None  # when the provider said how long to wait
    raw: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """An SMS channel. Constructed from the app config; `send` must time out (connect and read) on its own."""

    name: str

    def send(self, message: OutgoingSms) -> SendResult: ...


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """A provider's endpoint setting: a host (`dysmsapi.aliyuncs.com`, HTTPS) or a URL with its scheme
    (`http://127.0.0.1:8080`, a local stub) → (protocol, host[:port]), as the provider SDKs take them."""
    if "://" not in endpoint:
        return "https", endpoint.strip("/")
    parts = urlsplit(endpoint)
    return parts.scheme, parts.netloc


def load_templates(raw: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """SMS_TEMPLATE_CODES: {"sms_ticket_resolved": "SMS_1"}, or {…: {"code": "SMS_1", "params": ["no", …]}}."""
    if not raw:
        return {}
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


def require_settings(config: Mapping[str, Any], names: Iterable[str], channel: str) -> None:
    """Refuse to start a provider's channel without its credentials: a ValueError naming what is missing."""
    missing = [name for name in names if not config.get(name)]
    if missing:
        raise ValueError(f"SMS_CHANNEL={channel} needs {', '.join(missing)}")


def redact(text: str, secrets: Iterable[str]) -> str:
    """An error for `last_error`: short, and never a credential or the resident's number (a provider's message
    or a network error may echo parts of the request)."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return URL_QUERY.sub("", text)[:MAX_ERROR_LENGTH]
