"""What webhooks keep: the subscriptions, and the events they may subscribe to.

**Delete is soft**: the row stays (URL, events, times) with `deleted_at` set, `active` false and the secret
erased, so the record of which system received which residents' data survives, and an id is never reused (SQLite
may reuse the highest rowid of a deleted row) for messages still in the outbox under it: those are refused when
their turn comes. A deleted webhook is 404 for every endpoint.
"""

from datetime import datetime
from typing import Final

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.extensions import db
from kernel.signing import SECRET_MAX_LENGTH

# The ticket events a webhook may subscribe to (ticket.* in the ticket service's vocabulary).
WEBHOOK_EVENTS: Final[tuple[str, ...]] = (
    "ticket.created",
    "ticket.dispatched",
    "ticket.accepted",
    "ticket.claimed",
    "ticket.taken",
    "ticket.returned",
    "ticket.return_approved",
    "ticket.return_refused",
    "ticket.extension_requested",
    "ticket.extension_approved",
    "ticket.extension_refused",
    "ticket.suspended",
    "ticket.suspend_approved",
    "ticket.suspend_refused",
    "ticket.resumed",
    "ticket.escalated",
    "ticket.resolved",
    "ticket.closed",
    "ticket.reopened",
    "ticket.cancelled",
    "ticket.merged",
    "ticket.urged",
    "ticket.commented",
    "ticket.warned",
    "ticket.overdue",
)
URL_MAX_LENGTH: Final = 2048
DESCRIPTION_MAX_LENGTH: Final = 200


STATUS_NAME_MAX_LENGTH = 16


class Webhook(db.Model):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH))
    events: Mapped[list[str]] = mapped_column(JSON)  # a subset of WEBHOOK_EVENTS, in that order
    # Stored as given (see kernel.signing on why); None once the webhook is deleted.
    secret: Mapped[str | None] = mapped_column(String(SECRET_MAX_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    # The receiver's own names for ticket statuses (a 12345 platform's 受理/办理中/办结), sent as `status_name`.
    status_names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
