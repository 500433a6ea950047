"""Domain events: how a lower context tells the higher ones what happened without knowing them.

A context publishes a frozen dataclass (`tasks.tickets.events.TicketChanged`, …) after its state change, inside the
request's transaction; handlers subscribed at start-up (`bootstrap/__init__.py`, the one place that wires them) run at
once, in the order they were subscribed, on the same session. So what a handler writes (a rollup counter, an
owed message) commits or rolls back with the change, and a handler that raises fails the whole request.

The registry belongs to the app (`app.extensions["events"]`), so two apps in one process (tests, benchmarks)
keep their own wiring.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    """Handlers by event type, in subscription order."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers.setdefault(event_type, []).append(handler)

    def handlers_of(self, event_type: type) -> tuple[Handler, ...]:
        return tuple(self._handlers.get(event_type, ()))

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            handler(event)


def install(app: Flask) -> EventBus:
    bus = EventBus()
    app.extensions["events"] = bus
    return bus


def bus_of(app: Flask) -> EventBus:
    return app.extensions["events"]


def publish(event: object) -> None:
    """Run the current app's handlers of this event's type, in order, in the current transaction."""
    current_app.extensions["events"].publish(event)
