"""Deadlines from the category SLA: which clock runs, when it warns (80 %) and when it is overdue (100 %).

An SLA is in calendar time (`accept_minutes`, `resolve_hours`) or, when the category gives it, in working time
(`accept_working_hours`, `resolve_working_days`: the working days and hours of `tasks.calendar`). A ticket
remembers which each clock counts (`accept_in_working_time`, `resolve_in_working_time`), so an SLA edited since
does not change how its running clock is measured; the 80 % mark is 80 % of the clock's own kind of time.
"""

from datetime import datetime, timedelta

from tasks.calendar import service as calendar_service
from tasks.calendar.worktime import Calendar
from tasks.categories.models import Category, Priority
from tasks.lifecycle import Status
from tasks.tickets.models import Ticket

WARN_FRACTION = 0.8
# An urgent ticket gets half of its category's time (urgent categories already have short SLAs).
URGENT_FACTOR = 0.5


def _factor(priority: Priority) -> float:
    return URGENT_FACTOR if priority is Priority.URGENT else 1.0


def acceptance_window(category: Category, priority: Priority) -> timedelta:
    """Calendar time, or working time when the category gives `accept_working_hours`."""
    if category.accept_working_hours is not None:
        return timedelta(hours=category.accept_working_hours * _factor(priority))
    return timedelta(minutes=category.accept_minutes * _factor(priority))


def resolution_window(category: Category, priority: Priority) -> timedelta:
    """Calendar time, or working time (days × the working day's length) with `resolve_working_days`."""
    if category.resolve_working_days is not None:
        day = calendar_service.working_hours().day_length
        return day * category.resolve_working_days * _factor(priority)
    return timedelta(hours=category.resolve_hours * _factor(priority))


def start_resolution_clock(ticket: Ticket, category: Category, start: datetime) -> None:
    """A new resolution deadline from `start` (intake, or a reopen), and make it the running clock."""
    ticket.resolve_started_at = start
    ticket.calendar_missing = False  # a new deadline: whether it reaches an unknown year is found again
    ticket.resolve_in_working_time = category.resolve_working_days is not None
    ticket.resolve_due_at = _add(ticket, start, resolution_window(category, ticket.priority), working=None)
    run_resolution_clock(ticket)


def run_resolution_clock(ticket: Ticket) -> None:
    """The resolution deadline runs (pending, in progress); an SLA edited since does not move it."""
    _run(ticket, ticket.resolve_started_at, ticket.resolve_due_at, ticket.resolve_in_working_time)


def start_acceptance_clock(ticket: Ticket, category: Category, start: datetime) -> None:
    """Dispatched: the assignee must accept by the acceptance deadline."""
    ticket.accept_in_working_time = category.accept_working_hours is not None
    window = acceptance_window(category, ticket.priority)
    ticket.accept_due_at = _add(ticket, start, window, working=ticket.accept_in_working_time)
    _run(ticket, start, ticket.accept_due_at, ticket.accept_in_working_time)


def push_back(ticket: Ticket, since: datetime, now: datetime) -> timedelta:
    """After a suspension from `since` to `now`: the resolution clock's start and deadline move on by the time
    spent, in its own kind of time, and it runs again. Returns the time added."""
    if ticket.resolve_in_working_time:
        calendar = calendar_service.calendar()
        spent = calendar.between(since, now)
        ticket.resolve_started_at = calendar.add(ticket.resolve_started_at, spent)
        ticket.resolve_due_at = calendar.add(ticket.resolve_due_at, spent)
        _note_missing(ticket, calendar)
    else:
        spent = now - since
        ticket.resolve_started_at += spent
        ticket.resolve_due_at += spent
    run_resolution_clock(ticket)
    return spent


def stop_clock(ticket: Ticket) -> None:
    """Resolved, closed or cancelled: nothing is due any more."""
    ticket.warn_at = ticket.due_at = None
    ticket.warned_marked_at = ticket.overdue_marked_at = None


def _add(ticket: Ticket, start: datetime, window: timedelta, *, working: bool | None) -> datetime:
    """`start` + `window`, in working time when `working` (None: the resolution clock's kind)."""
    if working is None:
        working = ticket.resolve_in_working_time
    if not working:
        return start + window
    calendar = calendar_service.calendar()
    due = calendar.add(start, window)
    _note_missing(ticket, calendar)
    return due


def _run(ticket: Ticket, start: datetime, due: datetime, working: bool) -> None:
    if working:
        calendar = calendar_service.calendar()
        ticket.warn_at = calendar.add(start, calendar.between(start, due) * WARN_FRACTION)
        _note_missing(ticket, calendar)
    else:
        ticket.warn_at = start + (due - start) * WARN_FRACTION
    if ticket.due_at != due:
        ticket.warned_marked_at = ticket.overdue_marked_at = None  # a new clock: its thresholds are new
    ticket.due_at = due


def _note_missing(ticket: Ticket, calendar: Calendar) -> None:
    if calendar.missing:
        ticket.calendar_missing = True


def clock_name(status: Status, returned_from: Status | None = None) -> str | None:
    """Which deadline the running clock is, for the docs and the API; a return under review keeps the clock of the
    status it came from (`returned_from`)."""
    if status is Status.RETURN_REQUESTED:
        return clock_name(returned_from or Status.IN_PROGRESS)
    if status is Status.SUSPEND_REQUESTED:
        return "resolve"
    if status is Status.ASSIGNED:
        return "accept"
    if status in (Status.PENDING, Status.IN_PROGRESS):
        return "resolve"
    return None
