"""Categories of problems (what a ticket is about) and their SLA; a tree by `parent_code`."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import UTCDateTime, str_enum
from kernel.extensions import db


class Priority(enum.StrEnum):
    """How urgent a ticket is; its category gives the default."""

    NORMAL = "normal"
    URGENT = "urgent"


class Category(db.Model):
    """What a problem is about, with its SLA; a tree by `parent_code`."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("categories.code"), index=True)
    accept_minutes: Mapped[int] = mapped_column(Integer)
    resolve_hours: Mapped[int] = mapped_column(Integer)
    # SLA in working time (tasks.calendar), used instead of the calendar hours above when set.
    accept_working_hours: Mapped[int | None] = mapped_column(Integer)
    resolve_working_days: Mapped[int | None] = mapped_column(Integer)
    # 挂起 of its tickets waits for a supervisor's approval.
    suspend_needs_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    default_priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    volunteer_claimable: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Extra questions residents answer when filing under it (tasks.categories.attributes), in their order.
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
