"""Needs, resources and projects (the three lists), the need's and the project's record, and their ratings.

A 微心愿 is a need of kind `wish`: the same row, claimed by one member instead of matched with resources.
"""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from party.members.models import PartyMember
from party.orgs.models import PartyOrg


class NeedKind(enum.StrEnum):
    NEED = "need"
    WISH = "wish"  # 微心愿: small enough for one member to claim


class NeedStatus(enum.StrEnum):
    OPEN = "open"
    PUBLISHED = "published"  # 派单 to the members: any of them may take it
    MATCHED = "matched"  # assigned to an owner organisation, its project not yet opened
    IN_PROJECT = "in_project"
    CLAIMED = "claimed"  # a wish a member claimed
    FULFILLED = "fulfilled"  # a wish the member says is fulfilled, awaiting the community's confirmation
    MET = "met"
    WITHDRAWN = "withdrawn"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ResourceKind(enum.StrEnum):
    VENUE = "venue"
    FUNDS = "funds"
    VOLUNTEERS = "volunteers"
    EXPERTISE = "expertise"
    GOODS = "goods"
    SERVICE = "service"


class ProjectStatus(enum.StrEnum):
    PLANNED = "planned"
    UNDER_WAY = "under_way"
    DONE = "done"
    ABANDONED = "abandoned"


class RatingSource(enum.StrEnum):
    RESIDENT = "resident"  # a resident behind the need, by SMS reply on a linked ticket
    VISIT = "visit"  # a supervisor's return visit (回访), recorded by hand
    MEMBER_ORG = "member_org"  # an alliance member organisation rating the owner organisation


class NeedCategory(db.Model):
    """助老, 环境整治, 助学, …: data an admin can extend; `resource_kinds` are the kinds of resource that fit."""

    __tablename__ = "party_need_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    resource_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Need(db.Model):
    """One line of the needs list (需求清单); never deleted: withdrawing is a status."""

    __tablename__ = "party_needs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[NeedKind] = mapped_column(str_enum(NeedKind, 16), default=NeedKind.NEED, index=True)
    title: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(String(32), ForeignKey("party_need_categories.code"))
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    grid_path: Mapped[str] = mapped_column(String(255), index=True)  # the unit's path, for subtree queries
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, 16), default=Priority.NORMAL)
    beneficiaries: Mapped[int] = mapped_column(Integer, default=0)  # households or people
    status: Mapped[NeedStatus] = mapped_column(str_enum(NeedStatus, 16), default=NeedStatus.OPEN, index=True)
    raised_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    raised_by_org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_orgs.id"))
    alliance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_alliances.id"), index=True)
    owner_org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    due_on: Mapped[date | None] = mapped_column(Date)  # met on time: on or before this day
    # A wish's resident: personal data, never in public text (title, description).
    resident_name: Mapped[str | None] = mapped_column(String(64))
    resident_phone: Mapped[str | None] = mapped_column(String(20))
    claimed_by_member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_members.id"), index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner_org: Mapped[PartyOrg | None] = relationship(foreign_keys=[owner_org_id])
    claimed_by: Mapped[PartyMember | None] = relationship()


class NeedTicket(db.Model):
    """A resident's ticket promoted into a need (several residents' tickets about one problem: one need)."""

    __tablename__ = "party_need_tickets"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)  # one need a ticket
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_needs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NeedEvent(db.Model):
    """Who did what to a need, when, from which status to which (append-only, 全程纪实)."""

    __tablename__ = "party_need_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_needs.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Resource(db.Model):
    """One line of the resources list (资源清单): what an organisation or a member offers, up to `capacity`."""

    __tablename__ = "party_resources"
    __table_args__ = (CheckConstraint("reserved >= 0 AND reserved <= capacity", name="reserved_within_capacity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind, 16), index=True)
    description: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(Integer)  # in `unit`: hours a month, seats, yuan
    unit: Mapped[str] = mapped_column(String(16))
    reserved: Mapped[int] = mapped_column(Integer, default=0)  # what projects hold of the capacity
    available_from: Mapped[date | None] = mapped_column(Date)
    available_to: Mapped[date | None] = mapped_column(Date)
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)  # where it can serve
    grid_path: Mapped[str] = mapped_column(String(255), index=True)
    owner_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    owner_member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_members.id"))
    alliance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_alliances.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    owner_org: Mapped[PartyOrg] = relationship()


class Project(db.Model):
    """One line of the projects list (项目清单): a need matched with resources under an owner organisation."""

    __tablename__ = "party_projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_needs.id"), index=True)  # abandoned: a new one
    owner_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_orgs.id"), index=True)
    alliance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_alliances.id"), index=True)
    grid_path: Mapped[str] = mapped_column(String(255), index=True)  # the need's unit
    title: Mapped[str] = mapped_column(String(128))
    goal: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus, 16), default=ProjectStatus.PLANNED, index=True
    )
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    need: Mapped[Need] = relationship()
    owner_org: Mapped[PartyOrg] = relationship()
    reservations: Mapped[list["Reservation"]] = relationship(order_by="Reservation.id")
    milestones: Mapped[list["Milestone"]] = relationship(order_by="Milestone.id")
    workers: Mapped[list["ProjectWorker"]] = relationship(order_by="ProjectWorker.member_id")


class Reservation(db.Model):
    """Capacity a project holds of a resource (released when the project is abandoned)."""

    __tablename__ = "party_project_resources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_projects.id"), index=True)
    resource_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_resources.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(db.Model):
    __tablename__ = "party_project_milestones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProjectWorker(db.Model):
    """A member who worked on a project (earns the project's points when it is rated well)."""

    __tablename__ = "party_project_workers"

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_projects.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_members.id"), primary_key=True, index=True)


class ProjectEvent(db.Model):
    """The project's timeline (全程纪实): opened, progress notes with photos, milestones, status changes."""

    __tablename__ = "party_project_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_projects.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rating(db.Model):
    """评单: a rating (1–5) of a need's project by a resident, a supervisor's visit, or a member organisation."""

    __tablename__ = "party_need_ratings"
    __table_args__ = (
        UniqueConstraint("project_id", "rater_org_id", name="uq_party_need_ratings_project_org"),
        UniqueConstraint("ticket_id", name="uq_party_need_ratings_ticket"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_needs.id"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("party_projects.id"), index=True)
    source: Mapped[RatingSource] = mapped_column(str_enum(RatingSource, 16))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    rater_org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("party_orgs.id"))
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"))
    recorded_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
