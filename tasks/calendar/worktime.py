"""Working time (工作时间), pure: which days are worked (Monday–Friday, less the holidays 休, plus the make-up
working days 班 of 调休) and which hours of them (`WORKING_HOURS`, Beijing time), and arithmetic on it.

A deadline "3 working days" is 3 × the working day's length of working time counted from the start: filed
Wednesday 10:00 with 1 working day (09:00-12:00, 13:30-17:30: 7 hours) it is due Thursday 10:00; filed
Friday 18:00, Monday 17:30. A year the calendar does not know is counted Monday–Friday, and the result says
so (`missing`), so the ticket can carry `calendar_missing`.
"""

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kernel.i18n import _

DEFAULT_WORKING_HOURS = "09:00-12:00,13:30-17:30"
_PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
# A deadline further than this from its start is refused rather than searched for.
MAX_DAYS = 3 * 366


class WorkingHoursError(ValueError):
    pass


@dataclass(frozen=True)
class WorkingHours:
    """The periods of a working day, in order and apart, local time."""

    periods: tuple[tuple[time, time], ...]

    @property
    def day_length(self) -> timedelta:
        return sum((_span(start, end) for start, end in self.periods), timedelta(0))


def parse_working_hours(text: str) -> WorkingHours:
    """`09:00-12:00,13:30-17:30` → its periods; raises WorkingHoursError on anything else."""
    periods: list[tuple[time, time]] = []
    for part in (piece.strip() for piece in text.split(",")):
        match = _PERIOD.match(part)
        if match is None:
            raise WorkingHoursError(_("%(part)s is not HH:MM-HH:MM", part=repr(part)))
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise WorkingHoursError(_("%(part)s is not a time of day", part=repr(part)))
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise WorkingHoursError(_("%(part)s ends before it starts", part=repr(part)))
        if periods and start < periods[-1][1]:
            raise WorkingHoursError(_("%(part)s overlaps or precedes the period before it", part=repr(part)))
        periods.append((start, end))
    if not periods:
        raise WorkingHoursError(_("no working period"))
    return WorkingHours(tuple(periods))


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


# One year's exceptions to Monday–Friday: True for a make-up working day (班), False for a holiday (休).
YearDays = Mapping[date, bool]


@dataclass
class Calendar:
    """Working time under one set of working hours; `load_year(year)` gives a year's exceptions, or None when the
    calendar does not know that year (then it is Monday–Friday, and the year lands in `missing`)."""

    hours: WorkingHours
    load_year: Callable[[int], YearDays | None]
    zone: ZoneInfo
    missing: set[int] = field(default_factory=set)
    _years: dict[int, YearDays | None] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        if day.year not in self._years:
            self._years[day.year] = self.load_year(day.year)
        known = self._years[day.year]
        if known is None:
            self.missing.add(day.year)
            return day.weekday() < 5
        return known.get(day, day.weekday() < 5)

    def _periods(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working periods from `start`'s local day on, as aware datetimes, for at most MAX_DAYS days."""
        day = start.astimezone(self.zone).date()
        for offset in range(MAX_DAYS):
            current = day + timedelta(days=offset)
            if not self.is_working_day(current):
                continue
            for begin, end in self.hours.periods:
                yield (
                    datetime.combine(current, begin, tzinfo=self.zone),
                    datetime.combine(current, end, tzinfo=self.zone),
                )
        raise ValueError(f"no end within {MAX_DAYS} days")

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The moment `work` of working time after `start` (`start` itself when `work` is nothing)."""
        if work <= timedelta(0):
            return start
        left = work
        for begin, end in self._periods(start):
            begin = max(begin, start)
            if end <= begin:
                continue
            if end - begin >= left:
                return (begin + left).astimezone(start.tzinfo)
            left -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from `start` to `end` (nothing when `end` is not later)."""
        total = timedelta(0)
        if end <= start:
            return total
        for begin, finish in self._periods(start):
            if begin >= end:
                return total
            begin, finish = max(begin, start), min(finish, end)
            if finish > begin:
                total += finish - begin
        return total  # pragma: no cover
