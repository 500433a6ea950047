"""Resident requests (诉求), tickets (工单) and their record: events, feedback, reads of personal data."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import Account
from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from tasks.categories.models import Category, Priority
from tasks.lifecycle import OPEN_STATUSES, Status


class Channel(enum.StrEnum):
    """How a request reached us."""

    APP = "app"
    HOTLINE = "hotline"
    SMS = "sms"
    WALK_IN = "walk_in"
    PATROL = "patrol"
    WEB = "web"


class FeedbackChannel(enum.StrEnum):
    SMS = "sms"
    VISIT = "visit"
    APP = "app"
    HOTLINE = "hotline"  # 回访 collected by a 12345 hotline and pushed in (POST /hooks/feedback)


class TicketNumberDay(db.Model):
    """The last ticket number handed out on one Beijing calendar day (`no` = day + sequence)."""

    __tablename__ = "ticket_number_days"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Ticket(db.Model):
    """The unit of work from intake to resolution. `version` makes every change a compare-and-set."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_assignee_id_status", "assignee_id", "status"),
        Index("ix_tickets_assignee_id_created_at_id", "assignee_id", "created_at", "id"),  # a worker's queue
        Index("ix_tickets_status_due_at", "status", "due_at"),
        Index("ix_tickets_updated_at_id", "updated_at", "id"),
        Index("ix_tickets_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    no: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[Status] = mapped_column(str_enum(Status), index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    category_code: Mapped[str] = mapped_column(String(32), ForeignKey("categories.code"), index=True)
    # The owning unit: the cell the request was routed to, moved up by each escalation.
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    # The first receiving unit (首接): where intake routed it. Every unit the ticket has belonged to is this one or
    # an ancestor of it (escalation only moves up), so whoever covers it keeps reading the ticket.
    origin_grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    # The account who last held the ticket through resolution: reopens count against them.
    handler_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column()
    lng: Mapped[float | None] = mapped_column()
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    volunteer_claimable: Mapped[bool] = mapped_column(Boolean, default=False)
    # 就地处置: taken by its cell's own worker while pending there (`take`, or intake with `handle: self`), and not
    # returned, dispatched or escalated since. Resolved so, the ticket was handled on the spot (就地办结).
    handled_on_spot: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Deadlines: acceptance is set at dispatch; resolution from intake. `warn_at`/`due_at` are the clock
    # that runs now (acceptance while assigned, resolution otherwise), so warned/overdue are indexed ranges.
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the resolution clock started (intake, or the last reopen): its 80 % mark is fixed from here.
    resolve_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Which deadlines count working time (the category's SLA in working days/hours when the clock started).
    accept_in_working_time: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    resolve_in_working_time: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A deadline reached into a year the calendar does not know: it was counted Monday–Friday.
    calendar_missing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the sweep when it recorded the threshold for the running clock (reset when the clock changes).
    warned_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 退单审核: while `return_requested`, the status it had and when the handler asked; returns that took effect
    # (approved, or direct with RETURN_NEEDS_REVIEW=0) and requests a supervisor refused.
    returned_from: Mapped[Status | None] = mapped_column(str_enum(Status))
    return_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    returns_refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 延期: the deadline a handler asked for and when (None: no request awaits a decision); extensions approved.
    extension_requested_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 挂起: why, since when and until when (None: until resumed) the clock stopped; all the time spent suspended.
    suspend_reason: Mapped[str | None] = mapped_column(String(32))
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    last_urged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every resolve: one rating per resolution.
    resolution_round: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"))
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}

    # For reading only: a change writes the foreign key (and sets the object too, for the response). Left
    # writable, these three put their mappers into the unit of work of every action, and flushing an action
    # cost far more (see docs/PERFORMANCE.md).
    grid: Mapped[GridUnit] = relationship(foreign_keys=[grid_id], lazy="joined", innerjoin=True, viewonly=True)
    first_unit: Mapped[GridUnit] = relationship(
        foreign_keys=[origin_grid_id], lazy="joined", innerjoin=True, viewonly=True
    )
    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True, viewonly=True)
    assignee: Mapped[Account | None] = relationship(foreign_keys=[assignee_id], lazy="joined", viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def resolved_on_spot(self) -> bool:
        """就地办结: resolved (or closed) while handled on the spot."""
        return self.handled_on_spot and self.status in (Status.RESOLVED, Status.CLOSED)

    def warned_at(self, now: datetime) -> bool:
        return self.is_open and self.warn_at is not None and self.warn_at <= now < (self.due_at or now)

    def overdue_at(self, now: datetime) -> bool:
        return self.is_open and self.due_at is not None and self.due_at <= now


class ResidentRequest(db.Model):
    """One intake (诉求): several may point at one ticket when duplicates are merged.

    A request without a ticket waits in the triage queue of `grid_id`'s unit (an SMS, or an integration's push
    with an address only) until a supervisor routes it to a cell and a category, which opens its ticket.
    """

    __tablename__ = "resident_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    # None only while in triage with no category known yet.
    category_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("categories.code"))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column()
    lng: Mapped[float | None] = mapped_column()
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Answers to the category's extra questions, by question code (tasks.categories.attributes).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    ticket: Mapped[Ticket | None] = relationship(lazy="joined")

    @property
    def triage(self) -> bool:
        """Waiting in its unit's triage queue: no ticket yet."""
        return self.ticket_id is None


class TicketEvent(db.Model):
    """Who did what to a ticket, when and where: append-only, the record audits and dashboards read.

    `prior_grid_id` and `prior_assignee_id` say where the ticket was before the event, so a caller's
    delta sync can learn that a ticket left their view.
    """

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[Status | None] = mapped_column(str_enum(Status))
    to_status: Mapped[Status] = mapped_column(str_enum(Status))
    prior_grid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    prior_assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column()
    lng: Mapped[float | None] = mapped_column()
    # What else the action set: the new assignee, the unit escalated to, the surviving ticket, the rating.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[Account | None] = relationship(foreign_keys=[actor_id], lazy="joined", viewonly=True)


class Feedback(db.Model):
    """The resident's rating of one resolution (回访/评单)."""

    __tablename__ = "ticket_feedback"
    __table_args__ = (UniqueConstraint("ticket_id", "resolution_round"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    resolution_round: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[FeedbackChannel] = mapped_column(str_enum(FeedbackChannel))
    recorded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PersonalDataRead(db.Model):
    """Append-only access log: each time someone read a person's personal data in full (residents, party members)."""

    __tablename__ = "personal_data_reads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    # Whose data and which: e.g. "reporter_phone"; exports name what they contained.
    subject: Mapped[str] = mapped_column(String(64))
    # The record read when it is not a ticket (a party member's for "party_member_phone"): no foreign key, so the
    # one access log serves the layers above tasks without tasks knowing their tables.
    subject_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
