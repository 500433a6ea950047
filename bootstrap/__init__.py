"""The composition root: which contexts make up the app, which handlers hear which event, in what order, and
what a lower sub-package is provided with by a higher one.

The one module that may import every context. Lower contexts publish events and know nobody; what reacts to
them is wired here, at start-up, so the order in which handlers run is written down in one place.
"""

from collections.abc import Mapping
from typing import Any

from flask import Flask

import auth.commands
import auth.routes
import console.routes
import dashboards.commands
import dashboards.routes
import demo.commands
import grid.commands
import grid.routes
import hooks.blueprint
import hooks.integrations.routes
import hooks.open311.routes
import hooks.public.routes
import hooks.sms.routes
import notifications.commands
import notifications.outbox.routes
import notifications.webhooks.routes
import party.activities.routes
import party.alliances.routes
import party.assessment.commands
import party.assessment.routes
import party.checkins.routes
import party.lists.routes
import party.members.routes
import party.orgs.routes
import party.points.routes
import tasks.calendar.commands
import tasks.calendar.routes
import tasks.categories.routes
import tasks.commands
import tasks.photos.routes
import tasks.tickets.routes
import workforce.commands
import workforce.patrols.routes
import workforce.routes
from auth import service as accounts
from bootstrap.contract import declare_shared_enums
from dashboards.rollups import incremental as rollups
from grid.events import UnitRemoving
from hooks.sms import asks as sms_asks
from kernel import metrics
from kernel.app import build_app
from kernel.events import EventBus
from notifications.outbox import service as outbox
from notifications.outbox.metrics import outbox_gauges
from notifications.webhooks import service as webhooks
from party.activities.events import AttendanceChanged
from party.activities.service import PHOTO_HOLDER, ActivityPhotoRules
from party.assessment import figure_rollups as party_figure_rollups
from party.assessment import rollups as party_rollups
from party.checkins import records as service_records
from party.lists import needs as lists_needs
from party.lists import projects as lists_projects
from party.lists import ratings as lists_ratings
from party.lists.events import NeedChanged, ProjectChanged, ProjectRated
from party.orgs.events import OrgPlaceChanged, OrgPlaceChanging
from party.points import service as points
from party.points.events import PointsEntered
from tasks.metrics import ticket_gauges
from tasks.photos import service as photos
from tasks.tickets.events import TicketChanged, TicketsMerging
from tasks.tickets.photo_rules import TicketPhotoRules

# In dependency order; each module's register(app) adds its blueprints or commands.
CONTEXTS = (
    auth.routes,
    auth.commands,
    grid.routes,
    grid.commands,
    workforce.routes,
    workforce.patrols.routes,
    workforce.commands,
    tasks.tickets.routes,
    tasks.categories.routes,
    tasks.calendar.routes,
    tasks.calendar.commands,
    tasks.photos.routes,
    tasks.commands,
    notifications.outbox.routes,
    notifications.commands,
    notifications.webhooks.routes,
    hooks.integrations.routes,
    hooks.sms.routes,
    hooks.blueprint,
    hooks.open311.routes,
    hooks.public.routes,
    party.orgs.routes,
    party.members.routes,
    party.points.routes,
    party.activities.routes,
    party.checkins.routes,
    party.alliances.routes,
    party.assessment.routes,
    party.lists.routes,
    dashboards.routes,
    dashboards.commands,
    party.assessment.commands,
    demo.commands,
    console.routes,
)


def subscribe(bus: EventBus) -> None:
    """Every event handler, in the order it runs (all inside the publishing request's transaction).

        A ticket change is counted by the rollups first, then owes its notifications: the subscribed systems'
        webhooks, then the residents' SMS and the staff's inbox messages. The rollups' counter rows are written at
        commit in key order (see `kernel.records.total`), whatever the order here, and the owed messages are outbox
        rows that the delivery workers send only once the transaction commits. Last, the party layer writes the
        points the change earns or takes back (a party member's resolution, a reopen, a good rating), so a failure
        there rolls the change back with everything above. Then the 双报到 service records: a checked-in member's
        resolution in their community is a record with hours (earning `service.hours` points), a reopen withdraws it, a
        rated close rates it. A rating of a ticket promoted into a need whose project is done is also the resident's
    rating of that project (party.lists.ratings).

        An activity's attendance recorded or corrected (`AttendanceChanged`) writes or takes back the points of the
        members present, then their 双报到 service records (with their `service.hours` points), in the request that
        changed it.

        A need's step (`NeedChanged`) moves its counters in the assessment's rollup (`party_stats_daily`), written
        at commit like the tickets'; a project opened or moved (`ProjectChanged`), a rating of a project
        (`ProjectRated`) and a points entry written (`PointsEntered`, by the handlers above too) move theirs in
        `party_stats_figures`, and an organisation's new place (`OrgPlaceChanging`, then `OrgPlaceChanged`) moves
        its subtree's points to the units they now count in.

        A unit about to be deleted asks who still holds it: the grid itself names its children and workers, then
        auth the accounts placed there (the 409's list keeps that order).
    """
    bus.subscribe(UnitRemoving, accounts.hold_unit_with_accounts)
    bus.subscribe(TicketChanged, rollups.count_ticket_change)
    bus.subscribe(TicketChanged, webhooks.owe_for_ticket_change)
    bus.subscribe(TicketChanged, outbox.owe_for_ticket_change)
    bus.subscribe(TicketChanged, points.on_ticket_changed)
    bus.subscribe(TicketChanged, service_records.on_ticket_changed)
    bus.subscribe(TicketChanged, lists_ratings.on_ticket_changed)
    bus.subscribe(TicketsMerging, webhooks.owe_for_merge)
    bus.subscribe(TicketsMerging, outbox.owe_for_merge)
    bus.subscribe(AttendanceChanged, points.on_attendance_changed)
    bus.subscribe(AttendanceChanged, service_records.on_attendance_changed)
    bus.subscribe(NeedChanged, party_rollups.count_need_change)
    bus.subscribe(ProjectChanged, party_figure_rollups.count_project_change)
    bus.subscribe(ProjectRated, party_figure_rollups.count_rating)
    bus.subscribe(PointsEntered, party_figure_rollups.count_points)
    bus.subscribe(OrgPlaceChanging, party_figure_rollups.uncount_moving_orgs)
    bus.subscribe(OrgPlaceChanged, party_figure_rollups.count_moved_orgs)


def provide(app: Flask) -> None:
    """What a lower sub-package asks of a higher one through a protocol of its own, installed here."""
    photos.install_ticket_rules(app, TicketPhotoRules())  # photos ask tickets who may see and add them
    photos.install_photo_holder(app, PHOTO_HOLDER, ActivityPhotoRules())  # and activities who may see theirs
    photos.install_photo_holder(app, lists_needs.PHOTO_HOLDER, lists_needs.NeedPhotoRules())  # wishes' photos
    photos.install_photo_holder(app, lists_projects.PHOTO_HOLDER, lists_projects.ProjectPhotoRules())
    sms_asks.install_ask(app, lists_ratings.ASK_TEMPLATE, lists_ratings.ResidentAsk())  # SMS replies rate projects
    metrics.add_gauges(app, ticket_gauges)  # /metrics reads overdue tickets and the sweep's lag at each scrape,
    metrics.add_gauges(app, outbox_gauges)  # and the outbox's depth, age and failures


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    declare_shared_enums()
    app = build_app(overrides, contexts=CONTEXTS, subscribe=subscribe)
    provide(app)
    return app
