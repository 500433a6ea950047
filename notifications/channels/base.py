"""The channel interface: one outgoing message in, one outcome back. Adapters never raise for a provider's
answer; they classify it, so the delivery loop decides between retrying and giving up."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


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
