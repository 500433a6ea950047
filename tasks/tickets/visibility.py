"""Who sees a ticket, and how they stand to it: the rules every read and every action of a ticket starts from."""

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, false, or_, select, true
from sqlalchemy.orm import aliased, joinedload

from auth.models import Account, VolunteerArea
from grid.models import GridLevel, GridUnit
from grid.scope import scope_of
from kernel import privacy
from kernel.clock import utcnow
from kernel.compiled import CompiledSelect
from kernel.errors import NotFoundError
from kernel.i18n import _
from kernel.principals import Caller, Role
from kernel.scope import Scope
from tasks.lifecycle import TRANSITIONS, Action, Party, Status, actions_from
from tasks.tickets.models import Ticket
from tasks.tickets.rows import TicketRow, find_ticket_row, find_ticket_to_change

# --- who sees a ticket ----------------------------------------------------------------------------


class Viewer:
    """The caller with their scope worked out once per request, and only if a rule needs it (a worker's
    cells cost a query, which a worker's own queue or one of their own tickets does not need); likewise
    their account entity, which only taking a ticket needs."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    @classmethod
    def of(cls, caller: Caller) -> "Viewer":
        return cls(caller)

    @cached_property
    def scope(self) -> Scope:
        return scope_of(self.caller)

    @cached_property
    def account(self) -> Account:
        return self.caller.entity()

    @cached_property
    def volunteer_areas(self) -> Scope:
        """The units the caller volunteers in beyond their own scope (`auth.models.VolunteerArea`, e.g. a party
        member's confirmed 双报到 community): asked only when a rule needs it (a ticket open to volunteers that
        their own scope does not already settle)."""
        if self.role not in VOLUNTEER_AREA_ROLES:
            return Scope()
        return Scope.of_paths(path for (path,) in VOLUNTEER_AREA_PATHS.all({"account_id": self.caller.id}))

    @property
    def id(self) -> int:
        return self.caller.id

    @property
    def role(self) -> Role:
        return self.caller.role


_units, _areas = GridUnit.__table__, VolunteerArea.__table__
# Asked for every ticket open to volunteers that a worker or supervisor reads: built once, run as plain rows.
VOLUNTEER_AREA_PATHS = CompiledSelect(
    select(_units.c.path)
    .select_from(_units.join(_areas, _areas.c.grid_id == _units.c.id))
    .where(_areas.c.account_id == bindparam("account_id"))
)


# The roles a volunteer area (`auth.models.VolunteerArea`) lets take tickets: admins see everything anyway, and
# party staff have no ticket endpoints.
VOLUNTEER_AREA_ROLES = frozenset({Role.VOLUNTEER, Role.WORKER, Role.SUPERVISOR})


def visibility_clause(viewer: Viewer) -> Any:
    """Tickets the viewer may see: their scope's, owned there now or first received there (首接负责制: every unit a
    ticket has belonged to lies on its first unit's path, so covering that unit is covering one of them);
    volunteers only those open to volunteers; their own; and those open to volunteers in the units they volunteer
    in beyond their scope."""
    if viewer.role is Role.ADMIN or viewer.scope.unrestricted:
        return true()
    units_in_scope = select(GridUnit.id).where(viewer.scope.clause(GridUnit.path))  # once, not per ticket
    in_scope = or_(Ticket.grid_id.in_(units_in_scope), Ticket.origin_grid_id.in_(units_in_scope))
    if viewer.role is Role.VOLUNTEER:
        in_scope = and_(in_scope, Ticket.volunteer_claimable.is_(True))
    if viewer.role not in VOLUNTEER_AREA_ROLES:
        return or_(in_scope, Ticket.assignee_id == viewer.id)
    # In the statement rather than a query of its own: an account without areas pays no round trip for them.
    area = aliased(GridUnit)
    units_volunteered = (
        select(GridUnit.id)
        .join(area, GridUnit.path.startswith(area.path))
        .join(VolunteerArea, VolunteerArea.grid_id == area.id)
        .where(VolunteerArea.account_id == viewer.id)
    )
    volunteered = and_(Ticket.volunteer_claimable.is_(True), Ticket.grid_id.in_(units_volunteered))
    return or_(in_scope, Ticket.assignee_id == viewer.id, volunteered)


def can_see(viewer: Viewer, ticket: Ticket) -> bool:
    if ticket.assignee_id == viewer.id or viewer.role is Role.ADMIN:
        return True
    if viewer.role is Role.VOLUNTEER and not ticket.volunteer_claimable:
        return False
    if viewer.scope.covers(ticket.grid.path) or viewer.scope.covers(ticket.first_unit.path):
        return True
    return ticket.volunteer_claimable and viewer.volunteer_areas.covers(ticket.grid.path)


def followed_clause(viewer: Viewer) -> Any:
    """`GET /tickets?followed=true`: tickets first received in the viewer's scope and owned outside it now."""
    if viewer.scope.unrestricted:
        return false()
    units_in_scope = select(GridUnit.id).where(viewer.scope.clause(GridUnit.path))
    return and_(Ticket.origin_grid_id.in_(units_in_scope), Ticket.grid_id.not_in(units_in_scope))


# What a ticket's representation needs of its unit and assignee, and no more: a unit's boundary is a
# GeoJSON polygon that can run to kilobytes, and the assignee's own unit is not shown. The assignee's
# `party_member` is shown (党员亮身份) and read by the points ledger's handler of the ticket's events.
TICKET_LOAD = (
    joinedload(Ticket.grid).load_only(
        GridUnit.code, GridUnit.name, GridUnit.level, GridUnit.parent_id, GridUnit.path, GridUnit.active
    ),
    joinedload(Ticket.first_unit).load_only(
        GridUnit.code, GridUnit.name, GridUnit.level, GridUnit.parent_id, GridUnit.path, GridUnit.active
    ),
    joinedload(Ticket.assignee)
    .load_only(Account.display_name, Account.role, Account.active, Account.scope_grid_id, Account.party_member)
    .lazyload(Account.scope_grid),
)


def get_visible_ticket(actor: Caller, ticket_id: int, viewer: Viewer | None = None) -> Ticket:
    """A ticket the actor may see; 404 otherwise (its existence is private)."""
    viewer = viewer or Viewer.of(actor)
    ticket = find_ticket_to_change(ticket_id)
    if ticket is None or not can_see(viewer, ticket):
        raise NotFoundError(_("No such ticket."))
    return ticket


def get_visible_ticket_row(actor: Caller, ticket_id: int, viewer: Viewer | None = None) -> TicketRow:
    """`get_visible_ticket` read as a plain row, for a read that only shows the ticket; the same 404s."""
    viewer = viewer or Viewer.of(actor)
    ticket = find_ticket_row(ticket_id)
    if ticket is None or not can_see(viewer, ticket):
        raise NotFoundError(_("No such ticket."))
    return ticket


def is_supervising(actor: Caller, ticket: Ticket, viewer: Viewer | None = None) -> bool:
    """Admins, and supervisors whose scope covers the ticket's unit."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.SUPERVISOR:
        return False
    return (viewer or Viewer.of(actor)).scope.covers(ticket.grid.path)


def parties_of(viewer: Viewer, ticket: Ticket) -> set[Party]:
    """How the viewer stands to this ticket, for the lifecycle table."""
    parties: set[Party] = set()
    role = viewer.role
    if role is Role.ADMIN or (role is Role.SUPERVISOR and viewer.scope.covers(ticket.grid.path)):
        parties.add(Party.SUPERVISOR)
    if ticket.assignee_id is not None and ticket.assignee_id == viewer.id:
        parties.add(Party.ASSIGNEE)
    if ticket.volunteer_claimable and _volunteers_at(viewer, ticket):
        parties.add(Party.VOLUNTEER)
    # Only a pending ticket can be taken, and a worker's own queue holds none: their cells are read only then.
    if role is Role.WORKER and ticket.status in TAKEABLE and is_cell_worker(viewer, ticket):
        parties.add(Party.CELL_WORKER)
    return parties


def _volunteers_at(viewer: Viewer, ticket: Ticket) -> bool:
    """A volunteer in their own scope, or any account in a volunteer area of theirs (asked only for a ticket open
    to volunteers, and once per request)."""
    if viewer.role is Role.VOLUNTEER and viewer.scope.covers(ticket.grid.path):
        return True
    return viewer.volunteer_areas.covers(ticket.grid.path)


TAKEABLE = TRANSITIONS[Action.TAKE].sources


def is_cell_worker(viewer: Viewer, ticket: Ticket) -> bool:
    """A worker one of whose cells is the ticket's unit."""
    return viewer.role is Role.WORKER and ticket.grid.level is GridLevel.GRID and viewer.scope.covers(ticket.grid.path)


def scope_in_view(viewer: Viewer) -> Scope | None:
    """The scope that `parties_of` reads, so what a view depends on: supervisors' and volunteers'. None for
    admins (everything) and workers: besides whether they are the assignee, only `take` reads a worker's cells, on a
    pending cell ticket, and a worker sees such a ticket only through those cells, so the page's rows (which tickets
    are in view) already change with them."""
    return viewer.scope if viewer.role in (Role.SUPERVISOR, Role.VOLUNTEER) else None


def allowed_actions(viewer: Viewer, ticket: Ticket, now: datetime | None = None) -> list[Action]:
    """What this viewer may do to this ticket now: the table's rules, the parties and the guards."""
    now = now or utcnow()
    parties = parties_of(viewer, ticket)
    return [
        action
        for action in actions_from(ticket.status)
        if parties & TRANSITIONS[action].parties and guard(action, ticket, now, viewer) is None
    ]


def escalation_target_id(viewer: Viewer | None, ticket: Ticket) -> int | None:
    """Where 上报 sends the ticket: a supervisor's goes to the parent of the supervisor's own unit (a community
    supervisor's to the street, whatever cell the ticket is in), anyone else's one level up from the ticket's unit.
    None: there is nothing above."""
    caller = viewer.caller if viewer is not None else None
    if caller is not None and caller.role is Role.SUPERVISOR and caller.scope_path is not None:
        own = [int(part) for part in caller.scope_path.strip("/").split("/") if part]
        return own[-2] if len(own) > 1 else None
    return ticket.grid.parent_id


def guard(action: Action, ticket: Ticket, now: datetime, viewer: Viewer | None = None) -> str | None:
    """Why an action the table allows from this status is still not possible; None when it is."""
    if action is Action.ESCALATE and escalation_target_id(viewer, ticket) is None:
        return _("the ticket is already at the top of the territory")
    reviewing = action in (Action.APPROVE_RETURN, Action.REFUSE_RETURN)
    if reviewing and viewer is not None and ticket.assignee_id == viewer.id:
        return _("a handler's return is reviewed by someone else")
    why_not = _extension_guard(action, ticket, viewer)
    if why_not is not None:
        return why_not
    if action is Action.CLAIM and not ticket.volunteer_claimable:
        return _("this ticket is not open to volunteers")
    if action is Action.REOPEN and ticket.status is Status.CLOSED:
        window = timedelta(days=current_app.config["TICKET_REOPEN_DAYS"])
        if ticket.closed_at is None or now - ticket.closed_at > window:
            return _("closed more than %(days)s days ago", days=window.days)
    return None


def _extension_guard(action: Action, ticket: Ticket, viewer: Viewer | None) -> str | None:
    if action is Action.REQUEST_EXTENSION:
        if ticket.extension_requested_until is not None:
            return _("an extension request awaits a decision")
        limit = current_app.config["EXTENSIONS_MAX"]
        if ticket.extension_count >= limit:
            return _("the ticket has had its %(limit)s extensions", limit=limit)
    if action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION):
        if ticket.extension_requested_until is None:
            return _("no extension request awaits a decision")
        if viewer is not None and ticket.assignee_id == viewer.id:
            return _("a handler's extension is decided by someone else")
    return None


def sees_phone(viewer: Viewer, ticket: Ticket) -> bool:
    """Only whoever handles the ticket reads the resident's number in full; supervisors ask (and are logged)."""
    return privacy.reads_phone_in_full(viewer.id, ticket.assignee_id)
