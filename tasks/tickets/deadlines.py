"""Deadlines from the category SLA: which clock runs, when it warns (80 %) and when it is overdue (100 %)."""

from datetime import datetime, timedelta

from tasks.categories.models import Category, Priority
from tasks.lifecycle import Status
from tasks.tickets.models import Ticket

WARN_FRACTION = 0.8
# An urgent ticket gets half of its category's time (urgent categories already have short SLAs).
URGENT_FACTOR = 0.5


def _factor(priority: Priority) -> float:
    return URGENT_FACTOR if priority is Priority.URGENT else 1.0


def acceptance_window(category: Category, priority: Priority) -> timedelta:
    return timedelta(minutes=category.accept_minutes * _factor(priority))


def resolution_window(category: Category, priority: Priority) -> timedelta:
    return timedelta(hours=category.resolve_hours * _factor(priority))


def start_resolution_clock(ticket: Ticket, category: Category, start: datetime) -> None:
    """A new resolution deadline from `start` (intake, or a reopen), and make it the running clock."""
    ticket.resolve_started_at = start
    ticket.resolve_due_at = start + resolution_window(category, ticket.priority)
    run_resolution_clock(ticket)


def run_resolution_clock(ticket: Ticket) -> None:
    """The resolution deadline runs (pending, in progress); an SLA edited since does not move it."""
    _run(ticket, ticket.resolve_started_at, ticket.resolve_due_at)


def start_acceptance_clock(ticket: Ticket, category: Category, start: datetime) -> None:
    """Dispatched: the assignee must accept by the acceptance deadline."""
    ticket.accept_due_at = start + acceptance_window(category, ticket.priority)
    _run(ticket, start, ticket.accept_due_at)


def stop_clock(ticket: Ticket) -> None:
    """Resolved, closed or cancelled: nothing is due any more."""
    ticket.warn_at = ticket.due_at = None
    ticket.warned_marked_at = ticket.overdue_marked_at = None


def _run(ticket: Ticket, start: datetime, due: datetime) -> None:
    ticket.warn_at = start + (due - start) * WARN_FRACTION
    if ticket.due_at != due:
        ticket.warned_marked_at = ticket.overdue_marked_at = None  # a new clock: its thresholds are new
    ticket.due_at = due


def clock_name(status: Status) -> str | None:
    """Which deadline the running clock is, for the docs and the API."""
    if status is Status.ASSIGNED:
        return "accept"
    if status in (Status.PENDING, Status.IN_PROGRESS):
        return "resolve"
    return None
