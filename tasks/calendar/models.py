"""The working-day calendar: per year, the days that differ from Monday–Friday."""

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import UTCDateTime, str_enum
from kernel.extensions import db


class DayKind(enum.StrEnum):
    REST = "rest"  # 休: a holiday on a weekday
    WORK = "work"  # 班: a make-up working day (调休) on a weekend


class CalendarSource(enum.StrEnum):
    PACKAGE = "chinesecalendar"  # seeded from the pinned package
    ADMIN = "admin"  # PUT /api/v1/calendar/{year}
    IMPORT = "import"  # flask calendar import FILE


class CalendarYear(db.Model):
    """A year the calendar knows (its exceptions are the `CalendarDay` rows of that year, maybe none)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[CalendarSource] = mapped_column(str_enum(CalendarSource))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarDay(db.Model):
    """One day that differs from Monday–Friday."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, ForeignKey("calendar_years.year"), index=True)
    kind: Mapped[DayKind] = mapped_column(str_enum(DayKind))
    name: Mapped[str | None] = mapped_column(String(32))
