"""What SMS callbacks keep: residents' replies and what became of each, providers' delivery reports."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db


class InboundStatus(enum.StrEnum):
    MATCHED = "matched"  # applied to one ticket: a rating, or a comment on its record
    UNMATCHED = "unmatched"  # no single ticket: the resident was asked for the ticket number
    IGNORED = "ignored"  # stale, not from a mainland mobile, empty, or a rating nobody awaited
    FILED = "filed"  # a new request, waiting in the triage queue (`request_id`)
    ANSWERED = "answered"  # a status query (查询 / CX), answered by SMS


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
    request_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resident_requests.id"), index=True)
    # The SMS asking for a number. No foreign key: notifications are partitioned on PostgreSQL, where one would
    # need (id, created_at) (migration 0023_partitions).
    answer_id: Mapped[int | None] = mapped_column(BigId)
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
    notification_id: Mapped[int | None] = mapped_column(BigId, index=True)  # no foreign key: as answer_id
    outcome: Mapped[ReportOutcome] = mapped_column(str_enum(ReportOutcome))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
