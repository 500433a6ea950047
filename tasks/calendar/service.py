"""The working-day calendar's upkeep and use: seeding from the pinned `chinesecalendar` package, a year's
exceptions read and replaced (validated), and the `Calendar` deadlines are computed with.

A year's exceptions are the days that differ from Monday–Friday: a holiday (`rest`, 休) is a Monday–Friday
day, a make-up working day (`work`, 班, 调休) a Saturday or Sunday. A year without a `CalendarYear` row is
unknown: deadlines in it count Monday–Friday and the ticket carries `calendar_missing`.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from kernel.clock import BEIJING, utcnow
from kernel.errors import NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from tasks.calendar.models import CalendarDay, CalendarSource, CalendarYear, DayKind
from tasks.calendar.worktime import Calendar, WorkingHours, YearDays, parse_working_hours

MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class YearCalendar:
    year: int
    source: CalendarSource
    updated_at: datetime
    days: Sequence[CalendarDay]


def working_hours() -> WorkingHours:
    return parse_working_hours(current_app.config["WORKING_HOURS"])


def calendar() -> Calendar:
    """Working time as this deployment counts it, reading the years it needs from the database."""
    return Calendar(working_hours(), load_year, BEIJING)


def load_year(year: int) -> YearDays | None:
    if db.session.get(CalendarYear, year) is None:
        return None
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.year == year))
    return {day: kind is DayKind.WORK for day, kind in rows}


def get_year(year: int) -> YearCalendar:
    # A year outside the range is never stored, and too large a number overflows the database's integer.
    known = db.session.get(CalendarYear, year) if MIN_YEAR <= year <= MAX_YEAR else None
    if known is None:
        raise NotFoundError(
            _("The calendar has no working days for %(year)s: deadlines in it count Monday to Friday.", year=year),
            {"year": [_("no calendar")]},
        )
    days = db.session.scalars(select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)).all()
    return YearCalendar(known.year, known.source, known.updated_at, days)


def put_year(year: int, days: Iterable[Mapping[str, Any]], source: CalendarSource) -> YearCalendar:
    """Replace the year's exceptions by `days` (each `date`, `kind`, optional `name`), all or nothing."""
    cleaned = validate_days(year, days)
    known = db.session.get(CalendarYear, year)
    now = utcnow()
    if known is None:
        known = CalendarYear(year=year, source=source, updated_at=now)
        db.session.add(known)
    else:
        known.source, known.updated_at = source, now
    db.session.flush()
    db.session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    db.session.add_all(CalendarDay(day=day, year=year, kind=kind, name=name) for day, kind, name in cleaned)
    db.session.flush()
    return get_year(year)


def validate_days(year: int, days: Iterable[Mapping[str, Any]]) -> list[tuple[date, DayKind, str | None]]:
    """422 with every fault by position: a day outside the year, twice, a holiday on a weekend (already a
    rest day) or a working day on a weekday (already a working day)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            _("The year must be %(MIN_YEAR)s–%(MAX_YEAR)s.", MIN_YEAR=MIN_YEAR, MAX_YEAR=MAX_YEAR),
            {"year": [f"{MIN_YEAR}–{MAX_YEAR}"]},
        )
    errors: dict[str, list[str]] = {}
    seen: set[date] = set()
    cleaned = []
    for index, item in enumerate(days):
        day, kind = item["date"], DayKind(item["kind"])
        problems = []
        if day.year != year:
            problems.append(_("not in %(year)s", year=year))
        if day in seen:
            problems.append(_("listed twice"))
        if kind is DayKind.REST and day.weekday() >= 5:
            problems.append(_("a holiday must be a Monday–Friday day (a weekend is already a rest day)"))
        if kind is DayKind.WORK and day.weekday() < 5:
            problems.append(_("a make-up working day must be a Saturday or Sunday"))
        seen.add(day)
        if problems:
            errors[f"days.{index}.date"] = problems
        cleaned.append((day, kind, item.get("name")))
    if errors:
        raise ValidationError(
            _("The %(year)s calendar has %(count)s invalid days.", year=year, count=len(errors)), errors
        )
    return sorted(cleaned)


def package_years() -> dict[int, list[dict[str, Any]]]:
    """Each year the pinned `chinesecalendar` knows, as its exceptions to Monday–Friday."""
    from chinese_calendar import constants

    years: dict[int, list[dict[str, Any]]] = {}
    for holiday, name in constants.holidays.items():
        if holiday.weekday() < 5:
            years.setdefault(holiday.year, []).append({"date": holiday, "kind": "rest", "name": _name(name)})
    for workday, name in constants.workdays.items():
        if workday.weekday() >= 5:
            years.setdefault(workday.year, []).append({"date": workday, "kind": "work", "name": _name(name)})
    return years


# The package names its holidays in English.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _name(holiday: Any) -> str | None:
    if not holiday:
        return None
    text = str(getattr(holiday, "value", holiday))
    return HOLIDAY_NAMES.get(text, text)[:32]


def seed_from_package(*, since: int | None = None) -> list[int]:
    """Add the years the package knows and the calendar does not (from `since` on); edited years stay."""
    added = []
    for year, days in sorted(package_years().items()):
        if since is not None and year < since:
            continue
        if db.session.get(CalendarYear, year) is None:
            put_year(year, days, CalendarSource.PACKAGE)
            added.append(year)
    return added


def readiness_warnings() -> list[str]:
    """From December 1st (Beijing), a warning while next year has no calendar."""
    today = utcnow().astimezone(BEIJING).date()
    if today.month != 12 or db.session.get(CalendarYear, today.year + 1) is not None:
        return []
    return [
        f"calendar: no working-day calendar for {today.year + 1}; deadlines in it will count Monday to Friday "
        f"(upgrade chinesecalendar or run `flask calendar import FILE`)"
    ]
