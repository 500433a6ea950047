"""The outbox: every message owed, written in the same transaction as the change that owes it."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class Medium(enum.StrEnum):
    SMS = "sms"  # to a phone number, through the configured SMS channel
    INBOX = "inbox"  # to an account, read in the app (GET /api/v1/notifications/me)
    WEBHOOK = "webhook"  # to a subscribed system, signed


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for `next_attempt_at` (new, retrying, or held for quiet hours)
    SENDING = "sending"  # claimed by a worker until `lease_until`; taken again after it
    SENT = "sent"  # the channel accepted it (inbox messages are sent when written)
    DELIVERED = "delivered"  # the provider's delivery report said so
    FAILED = "failed"  # the provider's delivery report said it never arrived
    HELD = "held"  # over a per-recipient limit: recorded, not sent
    DEAD = "dead"  # gave up after the last retry or a permanent refusal; an admin may retry


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notifications_recipient_account_id_id", "recipient_account_id", "id"),
        # The per-phone hourly limit counts what was sent to a number lately; inbound replies find the SMS answered.
        Index("ix_notifications_recipient_phone_sent_at", "recipient_phone", "sent_at"),
        # With the partition key, as PostgreSQL's partitioned table requires (migration 0023_partitions): uuids.
        UniqueConstraint("message_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Stable across retries: sent to the provider or receiver so a resend is recognisable.
    message_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(40))  # e.g. ticket.resolved
    medium: Mapped[Medium] = mapped_column(str_enum(Medium))
    recipient_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    recipient_phone: Mapped[str | None] = mapped_column(String(20))
    webhook_id: Mapped[int | None] = mapped_column(BigId, index=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    template: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which claim holds the lease: outcomes are recorded only under it, so a worker whose lease expired and was
    # taken over cannot overwrite the new holder's outcome.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def owed_message(
    event: str,
    medium: Medium,
    template: str,
    params: dict[str, Any],
    *,
    status: DeliveryStatus,
    ticket_id: int | None,
    urgent: bool = False,
    **recipient: Any,
) -> dict[str, Any]:
    """The column values of one owed message, for the outbox: a message id of its own, no attempt yet, due now."""
    now = utcnow()
    return {
        "message_id": str(uuid.uuid4()),
        "event": event,
        "medium": medium,
        "template": template,
        "params": params,
        "urgent": urgent,
        "ticket_id": ticket_id,
        "status": status,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        **recipient,
    }
