"""The composition root: which contexts make up the app, and which handlers hear which event, in what order.

The one module that may import every context. Lower contexts publish events and know nobody; what reacts to
them is wired here, at start-up, so the order in which handlers run is written down in one place.
"""

from collections.abc import Mapping
from typing import Any

from flask import Flask

import auth.commands
import auth.routes
import dashboards.commands
import dashboards.routes
import demo.commands
import grid.commands
import grid.routes
import hooks.routes
import notifications.commands
import notifications.routes
import notifications.webhook_routes
import tasks.attachment_routes
import tasks.category_routes
import tasks.commands
import tasks.routes
import workforce.commands
import workforce.routes
from dashboards.rollups import incremental as rollups
from kernel.app import build_app
from kernel.events import EventBus
from notifications import service as notify
from tasks.events import TicketChanged, TicketsMerging

# In dependency order; each module's register(app) adds its blueprints or commands.
CONTEXTS = (
    auth.routes,
    auth.commands,
    grid.routes,
    grid.commands,
    workforce.routes,
    workforce.commands,
    tasks.routes,
    tasks.category_routes,
    tasks.attachment_routes,
    tasks.commands,
    notifications.routes,
    notifications.commands,
    notifications.webhook_routes,
    hooks.routes,
    dashboards.routes,
    dashboards.commands,
    demo.commands,
)


def subscribe(bus: EventBus) -> None:
    """Every event handler, in the order it runs (all inside the publishing request's transaction).

    A ticket change is counted by the rollups first, then owes its notifications: the rollups' counter rows
    are written at commit in key order (see `kernel.records.total`), whatever the order here, and the owed
    messages are outbox rows that the delivery workers send only once the transaction commits.
    """
    bus.subscribe(TicketChanged, rollups.count_ticket_change)
    bus.subscribe(TicketChanged, notify.owe_for_ticket_change)
    bus.subscribe(TicketsMerging, notify.owe_for_merge)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    return build_app(overrides, contexts=CONTEXTS, subscribe=subscribe)
