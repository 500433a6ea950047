"""What the tasks context tells the rest of the app, published through `kernel.events`.

Both are published inside the transaction that makes the change, after it: a handler sees the ticket as it
now is, and what it writes commits or rolls back with the change. Who listens, and in what order, is wired in
`bootstrap.subscribe`; the tasks code knows no handler.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.tickets.models import Ticket


@dataclass(frozen=True, slots=True)
class TicketChanged:
    """A ticket's event was recorded (every lifecycle action, and the record's own: photo, warned, merge, …)."""

    ticket: Ticket
    action: str  # the event's action, as stored in ticket_events.action
    details: Mapping[str, Any]  # the event's details, as stored
    note: str | None = None  # the reason, note or comment given with it


@dataclass(frozen=True, slots=True)
class TicketsMerging:
    """`merged` is about to be folded into `survivor`; its requests (and their reporters) still point at it."""

    merged: Ticket
    survivor: Ticket
