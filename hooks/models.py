"""What hooks in keep: integrations and the requests they pushed, used signatures, SMS replies and reports."""

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import Account
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from kernel.signing import SECRET_MAX_LENGTH  # one HMAC key length for webhooks out and hooks in

NAME_MAX_LENGTH = 64
DESCRIPTION_MAX_LENGTH = 200
EXTERNAL_ID_MAX_LENGTH = 64


class AuthMethod(enum.StrEnum):
    """How an integration proves who it is; only its own method is accepted."""

    API_KEY = "api_key"  # X-Api-Key: the key shown once at creation, stored as its SHA-256
    HMAC = "hmac"  # X-Grid-Key-Id, X-Grid-Timestamp, X-Grid-Signature over "<timestamp>.<body>"


class Integration(db.Model):
    """Another system allowed to push resident requests (a 12345 hotline platform), acting through its own
    service account: inactive (it never logs in), placed on `grid_id` (a supervisor there) or, without a grid,
    an admin; the tickets it files say so in their `create` event."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    auth_method: Mapped[AuthMethod] = mapped_column(str_enum(AuthMethod))
    # Public: the first part of an API key, or the X-Grid-Key-Id of signed pushes.
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str | None] = mapped_column(String(64))  # hex SHA-256 of the whole API key
    # The HMAC key, stored as given (see kernel.signing on why it is not hashed); None for API keys.
    secret: Mapped[str | None] = mapped_column(String(SECRET_MAX_LENGTH))
    grid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class PushedRequest(db.Model):
    """Which resident request an integration's `external_id` became: one per (integration, external_id),
    claimed before the intake so two concurrent pushes of one id cannot both file it."""

    __tablename__ = "integration_requests"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(BigId, ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_MAX_LENGTH))
    # Set in the claiming transaction, so a committed row always has it.
    request_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resident_requests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsedSignature(db.Model):
    """Signatures already accepted, kept a little longer than a timestamp stays fresh: a replay is refused."""

    __tablename__ = "hook_signatures"
    __table_args__ = (UniqueConstraint("scope", "signature"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # e.g. integration:7
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class InboundStatus(enum.StrEnum):
    MATCHED = "matched"  # applied to one ticket: a rating, or a comment on its record
    UNMATCHED = "unmatched"  # no single ticket: the resident was asked for the ticket number
    IGNORED = "ignored"  # stale, not from a mainland mobile, empty, or a rating nobody awaited


class SmsReply(db.Model):
    """One SMS a resident sent us, as a provider reported it; `dedup_key` (per provider) makes a replay a no-op."""

    __tablename__ = "sms_inbound"
    __table_args__ = (
        UniqueConstraint("provider", "dedup_key"),
        Index("ix_sms_inbound_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the provider's time of the reply
    status: Mapped[InboundStatus] = mapped_column(str_enum(InboundStatus))
    outcome: Mapped[str | None] = mapped_column(String(32))  # rated, commented
    reason: Mapped[str | None] = mapped_column(String(200))  # why unmatched or ignored
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    rating: Mapped[int | None] = mapped_column(Integer)
    answer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("notifications.id"))  # the SMS asking for a number
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportOutcome(enum.StrEnum):
    APPLIED = "applied"  # the notification moved from sent to delivered or failed
    IGNORED = "ignored"  # unknown message, not (or no longer) sent, stale, or malformed


class SmsReport(db.Model):
    """One delivery report a provider sent; replays of it are no-ops."""

    __tablename__ = "sms_reports"
    __table_args__ = (UniqueConstraint("provider", "dedup_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(128))
    provider_ref: Mapped[str | None] = mapped_column(String(64))  # Aliyun BizId, Tencent SerialNo
    message_ref: Mapped[str | None] = mapped_column(String(64))  # our message id, where the provider echoes it
    delivered: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(String(200))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notification_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("notifications.id"), index=True)
    outcome: Mapped[ReportOutcome] = mapped_column(str_enum(ReportOutcome))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def insert_once(model: type[db.Model], values: Mapping[str, Any], *, unique: list[str]) -> int | None:  # type: ignore[name-defined]
    """Insert a row unless one with the same `unique` columns exists (or is being inserted by a concurrent
    transaction that then commits): its id, or None when it was already there. Race-free on both engines."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(model.id)  # type: ignore[attr-defined]
    )
    return db.session.execute(statement).scalar_one_or_none()
