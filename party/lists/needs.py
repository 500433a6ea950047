"""The needs list (需求清单) and a need's life: raising a need or promoting tickets into one, reading, and every
action of `lifecycle.TRANSITIONS` but the project's and the ratings' own (`projects`, `ratings`).

- A need is raised for a unit (`grid_id`) by an admin, a supervisor over the unit, or whoever acts for an
  organisation (`raised_by_org_id`) in whose territory the unit lies, or that is a live member of the need's
  alliance (whose territory must hold the unit). Tickets (`ticket_ids`, a supervisor's or an admin's, in their
  scope, in the need's unit's subtree, not linked to another need) become one need and link to it.
- A wish (`kind: wish`) names its resident (`resident.name`, `resident.phone`): personal data, shown only to
  whoever dispatches or confirms it, and never allowed in its public text (title, description: a 422).
- Every action is checked against the table (409 `invalid_transition` from the wrong status, with the caller's
  `allowed_actions`; 403 when the caller stands in none of its parties), moved by a compare-and-set on the status
  (two at once: one wins, the other is 409) and recorded (`records.record`).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select

from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.codes import CodedList
from kernel.errors import ConflictError, ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from kernel.privacy import mask_phone
from party.alliances import service as alliances
from party.alliances.models import AllianceStatus
from party.lists import access
from party.lists.lifecycle import TRANSITIONS, Action, Party
from party.lists.models import Need, NeedCategory, NeedEvent, NeedKind, NeedStatus, NeedTicket, Priority, Project
from party.lists.records import move, record
from party.orgs.models import PartyOrg
from party.points import service as points
from party.points.models import PointTrigger
from tasks.photos import service as photos
from tasks.tickets.models import Ticket

PHOTO_HOLDER: Final = "party_need"  # what the photos service calls a wish holding its fulfilment's photos
PHONE_LIKE: Final = re.compile(r"1\d{10}")

# --- categories ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultCategory:
    code: str
    name: str
    resource_kinds: list[str]
    position: int


ALL_KINDS: Final = ["venue", "funds", "volunteers", "expertise", "goods", "service"]
DEFAULT_CATEGORIES: Final = (  # as the migration seeds them
    DefaultCategory("elderly", "助老服务", ["volunteers", "service", "expertise"], 1),
    DefaultCategory("environment", "环境整治", ["volunteers", "funds", "goods"], 2),
    DefaultCategory("facilities", "设施改造", ["funds", "expertise", "goods"], 3),
    DefaultCategory("education", "助学", ["volunteers", "expertise", "venue", "goods"], 4),
    DefaultCategory("health", "健康服务", ["expertise", "service", "venue"], 5),
    DefaultCategory("culture", "文化活动", ["venue", "volunteers"], 6),
    DefaultCategory("other", "其他", ALL_KINDS, 99),
)
CATEGORIES: Final = CodedList(
    NeedCategory,
    what=N_("need category"),
    fields={"name": None, "resource_kinds": ALL_KINDS, "position": 0, "active": True},
    defaults=DEFAULT_CATEGORIES,
)
seed_default_categories = CATEGORIES.seed


# --- what a caller sees of a need -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResidentView:
    name: str | None
    phone: str | None  # masked


@dataclass(frozen=True)
class NeedView:
    id: int
    kind: NeedKind
    title: str
    description: str
    category: str
    grid_id: int
    priority: Priority
    beneficiaries: int
    status: NeedStatus
    raised_by: int | None
    raised_by_org_id: int | None
    alliance_id: int | None
    owner_org_id: int | None
    due_on: date | None
    ticket_ids: list[int]
    project_id: int | None
    claimed_by_member_id: int | None
    photo_ids: list[int]
    resident: ResidentView | None  # only for whoever dispatches or confirms it
    allowed_actions: list[str]
    met_at: datetime | None
    created_at: datetime
    updated_at: datetime


def allowed_actions(caller: Caller, need: Need) -> list[str]:
    """The actions of the table the caller may take on the need now (endpoints of the need only)."""
    return [
        rule.action.value
        for rule in TRANSITIONS.values()
        if not rule.by_system
        and need.kind in rule.kinds
        and need.status in rule.sources
        and any(access.stands_as(caller, need, party) for party in rule.parties)
    ]


def view_of(caller: Caller, need: Need) -> NeedView:
    return _views(caller, [need])[0]


def _views(caller: Caller, needs: Sequence[Need]) -> list[NeedView]:
    ids = [need.id for need in needs]
    tickets: dict[int, list[int]] = {}
    projects: dict[int, int] = {}
    if ids:
        for need_id, ticket_id in db.session.execute(
            select(NeedTicket.need_id, NeedTicket.ticket_id)
            .where(NeedTicket.need_id.in_(ids))
            .order_by(NeedTicket.ticket_id)
        ):
            tickets.setdefault(need_id, []).append(ticket_id)
        projects = dict(db.session.execute(select(Project.need_id, Project.id).where(Project.need_id.in_(ids))).all())
    held = photos.held_photo_ids(PHOTO_HOLDER, ids)
    return [
        NeedView(
            id=need.id,
            kind=need.kind,
            title=need.title,
            description=need.description,
            category=need.category_code,
            grid_id=need.grid_id,
            priority=need.priority,
            beneficiaries=need.beneficiaries,
            status=need.status,
            raised_by=need.raised_by,
            raised_by_org_id=need.raised_by_org_id,
            alliance_id=need.alliance_id,
            owner_org_id=need.owner_org_id,
            due_on=need.due_on,
            ticket_ids=tickets.get(need.id, []),
            project_id=projects.get(need.id),
            claimed_by_member_id=need.claimed_by_member_id,
            photo_ids=held.get(need.id, []),
            resident=_resident(caller, need),
            allowed_actions=allowed_actions(caller, need),
            met_at=need.met_at,
            created_at=need.created_at,
            updated_at=need.updated_at,
        )
        for need in needs
    ]


def _resident(caller: Caller, need: Need) -> ResidentView | None:
    if need.resident_name is None and need.resident_phone is None:
        return None
    if not access.stands_as(caller, need, Party.DISPATCHER):
        return None
    return ResidentView(need.resident_name, mask_phone(need.resident_phone) if need.resident_phone else None)


# --- reading ----------------------------------------------------------------------------------------------


def readable_needs_clause(caller: Caller) -> Any:
    return access.visible_clause(
        caller,
        grid_path=Need.grid_path,
        owner_org_id=Need.owner_org_id,
        alliance_id=Need.alliance_id,
        raised_by_org_id=Need.raised_by_org_id,
    )


def get_need(caller: Caller, need_id: int) -> Need:
    """The need, 404 when the caller may not read it (or it does not exist)."""
    stmt = select(Need).where(Need.id == need_id, readable_needs_clause(caller))
    need = db.session.scalars(stmt).first()
    if need is None:
        raise NotFoundError(_("No such need."))
    return need


def get_need_view(caller: Caller, need_id: int) -> NeedView:
    return view_of(caller, get_need(caller, need_id))


@dataclass(frozen=True)
class NeedFilters:
    kind: NeedKind | None = None
    status: NeedStatus | None = None
    category: str | None = None
    grid_id: int | None = None
    alliance_id: int | None = None
    owner_org_id: int | None = None


def list_needs(caller: Caller, filters: NeedFilters, *, limit: int, cursor: str | None) -> Page[NeedView]:
    """The needs the caller reads, newest first; `grid_id` keeps that unit's subtree."""
    stmt = select(Need).where(readable_needs_clause(caller))
    for column, value in (
        (Need.kind, filters.kind),
        (Need.status, filters.status),
        (Need.category_code, filters.category),
        (Need.alliance_id, filters.alliance_id),
        (Need.owner_org_id, filters.owner_org_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.grid_id is not None:
        unit = db.session.get(GridUnit, filters.grid_id)
        if unit is None:
            return Page([], None)
        stmt = stmt.where(Need.grid_path.startswith(unit.path, autoescape=True))
    fingerprint = {**filters.__dict__, "caller": caller.id}
    page = paginate(
        stmt, order_by=[Need.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint, descending=True
    )
    return Page(_views(caller, page.items), page.next_cursor)


def list_events(caller: Caller, need_id: int) -> list[NeedEvent]:
    need = get_need(caller, need_id)
    return list(db.session.scalars(select(NeedEvent).where(NeedEvent.need_id == need.id).order_by(NeedEvent.id)))


# --- raising a need ---------------------------------------------------------------------------------------


def create_need(caller: Caller, data: Mapping[str, Any]) -> NeedView:
    """Raise a need or a wish (see the module's docstring); with `ticket_ids`, promote those tickets into it."""
    unit = _unit(data["grid_id"])
    category = CATEGORIES.get_active(data["category"])
    if category is None:
        raise ValidationError(_("No such active need category."), {"category": ["unknown or inactive"]})
    alliance_id = _alliance_for(data.get("alliance_id"), unit)
    org = _raising_org(caller, data.get("raised_by_org_id"), unit, alliance_id)
    kind = NeedKind(data.get("kind", NeedKind.NEED))
    resident = data.get("resident") or {}
    _refuse_personal_data_in_public_text(data, resident)
    if kind is NeedKind.WISH and data.get("ticket_ids"):
        raise ValidationError(_("A wish is not promoted from tickets."), {"ticket_ids": ["not for a wish"]})
    need = Need(
        kind=kind,
        title=data["title"],
        description=data["description"],
        category_code=category.code,
        grid_id=unit.id,
        grid_path=unit.path,
        priority=data.get("priority", Priority.NORMAL),
        beneficiaries=data.get("beneficiaries") or 0,
        status=NeedStatus.OPEN,
        raised_by=caller.id or None,
        raised_by_org_id=org.id if org is not None else None,
        alliance_id=alliance_id,
        due_on=data.get("due_on"),
        resident_name=resident.get("name"),
        resident_phone=resident.get("phone"),
        created_at=utcnow(),
    )
    db.session.add(need)
    db.session.flush()
    ticket_ids = data.get("ticket_ids") or []
    if ticket_ids:
        _link_tickets(caller, need, unit, ticket_ids)
        if not data.get("beneficiaries"):
            need.beneficiaries = len(ticket_ids)
    record(
        need,
        "promote" if ticket_ids else "raise",
        actor_id=caller.id or None,
        from_status=None,
        details={"ticket_ids": [str(i) for i in ticket_ids]} if ticket_ids else None,
    )
    return view_of(caller, need)


def _unit(grid_id: int) -> GridUnit:
    unit = db.session.get(GridUnit, grid_id)
    if unit is None:
        raise ValidationError(_("No such grid unit."), {"grid_id": ["unknown unit"]})
    return unit


def _alliance_for(alliance_id: int | None, unit: GridUnit) -> int | None:
    if alliance_id is None:
        return None
    try:
        alliance = alliances.get_alliance(alliance_id)
    except NotFoundError:
        raise ValidationError(_("No such alliance."), {"alliance_id": ["unknown alliance"]}) from None
    if alliance.status is not AllianceStatus.ACTIVE:
        raise ValidationError(_("That alliance is not active."), {"alliance_id": ["not active"]})
    territory = db.session.get(GridUnit, alliance.grid_id)
    if territory is None or not unit.path.startswith(territory.path):
        raise ValidationError(
            _("That unit is outside the alliance's territory."), {"grid_id": ["outside the alliance's territory"]}
        )
    return alliance.id


def _raising_org(caller: Caller, org_id: int | None, unit: GridUnit, alliance_id: int | None) -> PartyOrg | None:
    """The organisation raising the need, which the caller acts for; a supervisor or admin may name none."""
    org = db.session.get(PartyOrg, org_id) if org_id is not None else None
    if org_id is not None and org is None:
        raise ValidationError(_("No such party organisation."), {"raised_by_org_id": ["unknown organisation"]})
    if org is not None:
        access.ensure_acts_for(caller, org)
    if access.supervises(caller, unit.path):
        return org
    if org is None:
        raise ForbiddenError(
            _("Raise a need in your scope, or for an organisation you act for."), {"grid_id": ["outside your scope"]}
        )
    in_territory = access.grid_scope(caller).covers(unit.path)
    in_alliance = alliance_id is not None and alliances.is_member_org(alliance_id, org.id)
    if not (in_territory or in_alliance):
        raise ForbiddenError(_("That unit is outside your scope."), {"grid_id": ["outside your scope"]})
    return org


def _refuse_personal_data_in_public_text(data: Mapping[str, Any], resident: Mapping[str, Any]) -> None:
    """A wish's title and description are read by every member: never the resident's name or a phone number."""
    name, phone = resident.get("name"), resident.get("phone")
    for field in ("title", "description"):
        text = data[field]
        if (name and name in text) or (phone and phone in text) or PHONE_LIKE.search(text):
            raise ValidationError(
                _("Public text may not show the resident's name or phone."), {field: ["holds personal data"]}
            )


def _link_tickets(caller: Caller, need: Need, unit: GridUnit, ticket_ids: Sequence[int]) -> None:
    if caller.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise ForbiddenError(_("Tickets are promoted by a supervisor."), {"ticket_ids": ["supervisor in scope"]})
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))).all()
    found = {ticket.id: ticket for ticket in tickets}
    for ticket_id in ticket_ids:
        ticket = found.get(ticket_id)
        if ticket is None or not access.supervises(caller, ticket.grid.path):
            raise ValidationError(_("No such ticket in your scope."), {"ticket_ids": [f"{ticket_id}: not found"]})
        if not ticket.grid.path.startswith(unit.path):
            raise ValidationError(
                _("That ticket is outside the need's unit."), {"ticket_ids": [f"{ticket_id}: outside the unit"]}
            )
    linked = db.session.scalars(select(NeedTicket.ticket_id).where(NeedTicket.ticket_id.in_(ticket_ids))).all()
    if linked:
        raise ConflictError(
            _("A ticket already belongs to a need."), {"ticket_ids": [f"{i}: already linked" for i in linked]}
        )
    for ticket_id in ticket_ids:
        db.session.add(NeedTicket(ticket_id=ticket_id, need_id=need.id, created_at=utcnow()))
    db.session.flush()


def need_of_ticket(ticket_id: int) -> Need | None:
    stmt = select(Need).join(NeedTicket, NeedTicket.need_id == Need.id).where(NeedTicket.ticket_id == ticket_id)
    return db.session.scalars(stmt).first()


# --- the need's life --------------------------------------------------------------------------------------


def check(caller: Caller, need: Need, action: Action) -> None:
    """409 from a status (or kind) the action does not leave; 403 when the caller stands in none of its parties."""
    rule = TRANSITIONS[action]
    if need.kind not in rule.kinds or need.status not in rule.sources:
        raise InvalidTransitionError(
            _("This need cannot be %(action)s now.", action=action.value),
            {"status": need.status.value, "allowed_actions": allowed_actions(caller, need)},
        )
    if not any(access.stands_as(caller, need, party) for party in rule.parties):
        raise ForbiddenError(
            _("You may not %(action)s this need.", action=action.value), {"role": sorted(rule.parties)}
        )


def perform(caller: Caller, need_id: int, action: Action, data: Mapping[str, Any]) -> NeedView:
    """One action of the need's life (assign, publish, withdraw, claim, fulfil, confirm) by the caller."""
    need = get_need(caller, need_id)
    check(caller, need, action)
    before = need.status
    details = _APPLY[action](caller, need, data)
    record(
        need,
        action.value,
        actor_id=caller.id or None,
        from_status=before,
        note=data.get("note") or data.get("reason"),
        details=details,
    )
    return view_of(caller, need)


def _assign(caller: Caller, need: Need, data: Mapping[str, Any]) -> dict[str, Any]:
    org = db.session.get(PartyOrg, data["org_id"])
    if org is None or not org.active:
        raise ValidationError(_("No such party organisation."), {"org_id": ["unknown organisation"]})
    if not access.may_take_for(need, org):
        raise ValidationError(
            _("That organisation is not a member of the need's alliance."), {"org_id": ["not a live member"]}
        )
    move(need, NeedStatus.MATCHED, owner_org_id=org.id)
    return {"org_id": str(org.id)}


def _publish(caller: Caller, need: Need, data: Mapping[str, Any]) -> dict[str, Any]:
    move(need, NeedStatus.PUBLISHED)
    return {}


def _withdraw(caller: Caller, need: Need, data: Mapping[str, Any]) -> dict[str, Any]:
    move(need, NeedStatus.WITHDRAWN)
    return {}


def _claim(caller: Caller, need: Need, data: Mapping[str, Any]) -> dict[str, Any]:
    member = access.member_of(caller)
    assert member is not None  # the MEMBER party requires one
    move(need, NeedStatus.CLAIMED, claimed_by_member_id=member.id)
    return {"member_id": str(member.id)}


def _fulfil(caller: Caller, need: Need, data: Mapping[str, Any]) -> dict[str, Any]:
    photos.hold_photos(caller, data["photo_ids"], holder_type=PHOTO_HOLDER, holder_id=need.id)
    move(need, NeedStatus.FULFILLED)
    return {"photo_ids": [str(i) for i in data["photo_ids"]]}


def _confirm(caller: Caller, need: Need, data: Mapping[str, Any]) -> dict[str, Any]:
    move(need, NeedStatus.MET, met_at=utcnow())
    member = need.claimed_by
    if member is None or not member.active:
        return {}
    entry = points.earn_by_rule(
        member_id=member.id,
        org_id=member.org_id,
        trigger=PointTrigger.WISH_FULFILLED,
        source=("wish", str(need.id)),
        note=f"微心愿 {need.title}",
    )
    return {"points": entry.points if entry is not None else 0}


_APPLY = {
    Action.ASSIGN: _assign,
    Action.PUBLISH: _publish,
    Action.WITHDRAW: _withdraw,
    Action.CLAIM: _claim,
    Action.FULFIL: _fulfil,
    Action.CONFIRM: _confirm,
}


class NeedPhotoRules:
    """`tasks.photos.service.PhotoHolder` for wishes: the fulfilment's photos are seen by whoever reads the wish."""

    def check_visible(self, actor: Caller, holder_id: int) -> None:
        get_need(actor, holder_id)
