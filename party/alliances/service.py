"""Rules of party alliances (党建联合体): organisations of different units joined for a purpose, under a lead
organisation (牵头党组织), serving a subtree of the territory.

- Proposing: an admin, a supervisor whose grid scope covers the territory, or whoever acts for the lead
  organisation (the party staff managing it, or its secretary through their own account). A new alliance is
  `proposed`; the lead organisation is its first member (joined on `formed_on`, or today).
- 审批备案: an admin or a supervisor over the territory approves a proposed alliance (`active`, with who and
  when). Dissolving (from proposed or active) ends every live membership on that day; a dissolved alliance takes
  no more changes, members or meetings.
- Changing its details, its members and recording its meetings: an admin, a supervisor over the territory, or
  whoever acts for the lead organisation; the territory and the lead organisation change only while proposed.
- Members: any active organisation (territorial or host), with its commitment (共建协议). Leaving is dated
  (`left_on`, not after today, not before it joined) and kept on record; one live membership per organisation
  and alliance (a unique index settles two adds at once); an organisation may belong to several alliances, and
  joining changes nothing of its own party relations. The lead organisation does not leave.
- Meetings (联席会议) are activities of kind `alliance_meeting` held by the lead organisation, carrying the
  alliance, the member organisations present (live members on the day) and the decisions taken, in order, each
  of which may open or review a project of the projects list.
- Readers: admins everything; a supervisor the alliances whose territory lies in their grid subtree; party
  staff those whose lead or member organisation (past or present) lies in their party scope; a secretary those
  their organisation leads or belongs to. Anyone else: 404 (and 403 on the lists for workers and volunteers
  without a secretary's standing). Every change is kept (`party_alliance_changes`).

Functions other parts of the party layer call (needs, projects, assessment):

- `get_alliance(alliance_id)`: the alliance, 404 otherwise (no scope check: the caller's own rules decide);
- `active_member_org_ids(alliance_id, on=day)`: the organisations whose membership is live on that day;
- `acts_for_org(caller, org)`: whether the caller acts for an organisation (an admin, party staff managing it, or
  its secretary: the active member who is its 书记, through their own account);
- `is_alliance_lead(caller, alliance)`: whether the caller acts for the alliance's lead organisation (may 派单);
- `readable_alliances_clause(caller)`: a WHERE clause over `Alliance` keeping those the caller reads.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, exists, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from grid.models import GridUnit
from kernel.api import format_timestamp
from kernel.clock import BEIJING, utcnow
from kernel.codes import CodedList
from kernel.errors import ConflictError, ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from party.alliances.models import Alliance, AllianceChange, AllianceMember, AllianceStatus, AllianceTheme
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.scope import can_manage_org, readable_org_ids

# --- themes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultTheme:
    code: str
    name: str
    position: int


DEFAULT_THEMES: Final = (  # as the migration seeds them
    DefaultTheme("grassroots_governance", "基层治理", 1),
    DefaultTheme("red_property", "红色物业", 2),
    DefaultTheme("enterprise_support", "助企发展", 3),
    DefaultTheme("volunteer_service", "志愿服务", 4),
    DefaultTheme("caring_service", "暖心服务", 5),
)

THEMES: Final = CodedList(
    AllianceTheme,
    what=N_("alliance theme"),
    fields={"name": None, "position": 0, "active": True},
    defaults=DEFAULT_THEMES,
)
seed_default_themes = THEMES.seed


# --- for the rest of the party layer -----------------------------------------------------------------


def today() -> date:
    """Today in Beijing, the calendar memberships are dated by."""
    return utcnow().astimezone(BEIJING).date()


def get_alliance(alliance_id: int) -> Alliance:
    """The alliance with this id, whatever its status; 404 otherwise (the caller checks scope)."""
    alliance = db.session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFoundError(_("No such alliance."))
    return alliance


def live_on(day: date) -> ColumnElement[bool]:
    """A WHERE clause over `AllianceMember` keeping the memberships live on the day (joined, not yet left)."""
    return (AllianceMember.joined_on <= day) & or_(AllianceMember.left_on.is_(None), AllianceMember.left_on > day)


def active_member_org_ids(alliance_id: int, on: date | None = None) -> list[int]:
    """The organisations whose membership of the alliance is live on the day (today by default), by id."""
    stmt = select(AllianceMember.org_id).where(AllianceMember.alliance_id == alliance_id, live_on(on or today()))
    return sorted(set(db.session.scalars(stmt)))


def is_member_org(alliance_id: int, org_id: int, on: date | None = None) -> bool:
    """Whether the organisation is a live member of the alliance on the day (today by default)."""
    return org_id in active_member_org_ids(alliance_id, on)


def is_secretary(caller: Caller, org: PartyOrg) -> bool:
    """Whether the caller's account is that of the organisation's secretary (an active member)."""
    if org.secretary_id is None:
        return False
    secretary = db.session.get(PartyMember, org.secretary_id)
    return secretary is not None and secretary.active and secretary.account_id == caller.id


def acts_for_org(caller: Caller, org: PartyOrg) -> bool:
    """Whether the caller acts for the organisation: an admin, the party staff managing it, or its secretary."""
    return can_manage_org(caller, org) or is_secretary(caller, org)


def is_alliance_lead(caller: Caller, alliance: Alliance) -> bool:
    """Whether the caller acts for the alliance's lead organisation (牵头党组织), which dispatches its work."""
    return acts_for_org(caller, alliance.lead_org)


def secretary_org_ids(caller: Caller) -> list[int]:
    """The organisations whose secretary the caller is (through their own account)."""
    stmt = (
        select(PartyOrg.id)
        .join(PartyMember, PartyMember.id == PartyOrg.secretary_id)
        .where(PartyMember.account_id == caller.id, PartyMember.active.is_(True))
    )
    return list(db.session.scalars(stmt))


def covers_territory(caller: Caller, grid: GridUnit) -> bool:
    """Whether the caller is an admin or a supervisor whose grid subtree holds the unit (approves, manages)."""
    if caller.role is Role.ADMIN:
        return True
    return caller.role is Role.SUPERVISOR and caller.scope_path is not None and grid.path.startswith(caller.scope_path)


def readable_alliances_clause(caller: Caller) -> ColumnElement[bool]:
    """A WHERE clause over `Alliance` keeping the alliances the caller reads (see the module's rules)."""
    if caller.role is Role.ADMIN:
        return true()
    kept: list[ColumnElement[bool]] = []
    if caller.role is Role.SUPERVISOR and caller.scope_path is not None:
        in_subtree = select(GridUnit.id).where(GridUnit.path.startswith(caller.scope_path, autoescape=True))
        kept.append(Alliance.grid_id.in_(in_subtree))
    if caller.role is Role.PARTY_STAFF:
        kept.append(_led_or_joined_by(readable_org_ids(caller)))
    own = secretary_org_ids(caller)
    if own:
        kept.append(_led_or_joined_by(own))
    return or_(*kept) if kept else false()


def _led_or_joined_by(org_ids: Any) -> ColumnElement[bool]:
    joined = exists().where(AllianceMember.alliance_id == Alliance.id, AllianceMember.org_id.in_(org_ids))
    return or_(Alliance.lead_org_id.in_(org_ids), joined)


def has_party_standing(caller: Caller) -> bool:
    """Whether the caller may list alliances at all: staff roles, or the secretary of an organisation."""
    return caller.role in (Role.ADMIN, Role.SUPERVISOR, Role.PARTY_STAFF) or bool(secretary_org_ids(caller))


def readable_alliance(caller: Caller, alliance_id: int) -> Alliance:
    """The alliance if the caller reads it; 404 otherwise."""
    stmt = select(Alliance).where(Alliance.id == alliance_id, readable_alliances_clause(caller))
    alliance = db.session.scalars(stmt.options(selectinload(Alliance.lead_org))).first()
    if alliance is None:
        raise NotFoundError(_("No such alliance."))
    return alliance


def may_manage(caller: Caller, alliance: Alliance) -> bool:
    """Admins, a supervisor over its territory, or whoever acts for its lead organisation."""
    grid = db.session.get(GridUnit, alliance.grid_id)
    return (grid is not None and covers_territory(caller, grid)) or is_alliance_lead(caller, alliance)


def may_approve(caller: Caller, alliance: Alliance) -> bool:
    grid = db.session.get(GridUnit, alliance.grid_id)
    return grid is not None and covers_territory(caller, grid)


def managed_alliance(caller: Caller, alliance_id: int) -> Alliance:
    """An alliance the caller reads and may manage, not dissolved: 404, 403 or 409 otherwise."""
    alliance = readable_alliance(caller, alliance_id)
    if not may_manage(caller, alliance):
        raise ForbiddenError(
            _("Only the lead organisation or a supervisor over the territory manages an alliance."),
            {"role": ["not the alliance's lead organisation, nor over its territory"]},
        )
    if alliance.status is AllianceStatus.DISSOLVED:
        raise InvalidTransitionError(_("A dissolved alliance stays on record as it is."), {"status": ["dissolved"]})
    return alliance


# --- what a caller sees ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllianceView:
    id: int
    name: str
    theme: str
    theme_name: str
    lead_org_id: int
    lead_org_name: str
    grid_id: int
    grid_name: str
    charter: str | None
    formed_on: date | None
    status: AllianceStatus
    approved_by: int | None
    approved_on: date | None
    dissolved_on: date | None
    dissolve_reason: str | None
    member_count: int  # live memberships today
    allowed_actions: list[str]
    created_by: int | None
    created_at: datetime
    updated_at: datetime


def _views(caller: Caller, alliances: Sequence[Alliance]) -> list[AllianceView]:
    ids = [alliance.id for alliance in alliances]
    counts: dict[int, int] = {}
    if ids:
        stmt = (
            select(AllianceMember.alliance_id, func.count())
            .where(AllianceMember.alliance_id.in_(ids), live_on(today()))
            .group_by(AllianceMember.alliance_id)
        )
        counts = {alliance_id: int(n) for alliance_id, n in db.session.execute(stmt)}
    themes = {theme.code: theme.name for theme in db.session.scalars(select(AllianceTheme))}
    grid_ids = {alliance.grid_id for alliance in alliances}
    grids = {unit.id: unit.name for unit in db.session.scalars(select(GridUnit).where(GridUnit.id.in_(grid_ids)))}
    return [
        AllianceView(
            id=alliance.id,
            name=alliance.name,
            theme=alliance.theme_code,
            theme_name=themes.get(alliance.theme_code, alliance.theme_code),
            lead_org_id=alliance.lead_org_id,
            lead_org_name=alliance.lead_org.name,
            grid_id=alliance.grid_id,
            grid_name=grids.get(alliance.grid_id, ""),
            charter=alliance.charter,
            formed_on=alliance.formed_on,
            status=alliance.status,
            approved_by=alliance.approved_by_id,
            approved_on=alliance.approved_on,
            dissolved_on=alliance.dissolved_on,
            dissolve_reason=alliance.dissolve_reason,
            member_count=counts.get(alliance.id, 0),
            allowed_actions=allowed_actions(caller, alliance),
            created_by=alliance.created_by,
            created_at=alliance.created_at,
            updated_at=alliance.updated_at,
        )
        for alliance in alliances
    ]


def allowed_actions(caller: Caller, alliance: Alliance) -> list[str]:
    """What the caller may do to the alliance now: update, approve, dissolve, add_member, record_meeting."""
    if alliance.status is AllianceStatus.DISSOLVED:
        return []
    actions: list[str] = []
    if may_manage(caller, alliance):
        actions += ["update", "add_member", "dissolve"]
        if alliance.status is AllianceStatus.ACTIVE:
            actions.append("record_meeting")
    if alliance.status is AllianceStatus.PROPOSED and may_approve(caller, alliance):
        actions.append("approve")
    return sorted(actions)


def get_alliance_view(caller: Caller, alliance_id: int) -> AllianceView:
    """One alliance the caller reads; 404 otherwise."""
    return _views(caller, [readable_alliance(caller, alliance_id)])[0]


@dataclass(frozen=True)
class AllianceFilters:
    status: AllianceStatus | None = None
    theme: str | None = None
    grid_id: int | None = None  # alliances serving a unit of this subtree
    org_id: int | None = None  # alliances this organisation leads or belongs to (live)
    q: str | None = None


def list_alliances(caller: Caller, filters: AllianceFilters, *, limit: int, cursor: str | None) -> Page[AllianceView]:
    """The alliances the caller reads, by id; 403 for a caller with no party standing."""
    if not has_party_standing(caller):
        raise ForbiddenError(_("Your role may not do this."), {"role": ["not a party organisation's secretary"]})
    stmt = select(Alliance).where(readable_alliances_clause(caller)).options(selectinload(Alliance.lead_org))
    if filters.status is not None:
        stmt = stmt.where(Alliance.status == filters.status)
    if filters.theme is not None:
        stmt = stmt.where(Alliance.theme_code == filters.theme)
    if filters.grid_id is not None:
        unit = db.session.get(GridUnit, filters.grid_id)
        if unit is None:
            raise NotFoundError(_("No such grid unit."))
        in_subtree = select(GridUnit.id).where(GridUnit.path.startswith(unit.path, autoescape=True))
        stmt = stmt.where(Alliance.grid_id.in_(in_subtree))
    if filters.org_id is not None:
        live = select(AllianceMember.alliance_id).where(AllianceMember.org_id == filters.org_id, live_on(today()))
        stmt = stmt.where(Alliance.id.in_(live))
    if filters.q:
        stmt = stmt.where(Alliance.name.contains(filters.q, autoescape=True))
    fingerprint = {**filters.__dict__, "actor": caller.id}
    page = paginate(stmt, order_by=[Alliance.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)
    return Page(_views(caller, page.items), page.next_cursor)


# --- proposing, changing, approving, dissolving ------------------------------------------------------


def create_alliance(caller: Caller, data: Mapping[str, Any]) -> AllianceView:
    """Propose an alliance: the proposer covers its territory or acts for its lead organisation, which becomes
    its first member."""
    lead = _active_org(data["lead_org_id"], "lead_org_id")
    grid = _grid(data["grid_id"])
    if not (covers_territory(caller, grid) or acts_for_org(caller, lead)):
        raise ForbiddenError(
            _("Only the lead organisation or a supervisor over the territory proposes an alliance."),
            {"lead_org_id": ["you do not act for this organisation"], "grid_id": ["outside your grid scope"]},
        )
    alliance = Alliance(
        name=data["name"],
        theme_code=_active_theme(data["theme"]).code,
        lead_org_id=lead.id,
        grid_id=grid.id,
        charter=data.get("charter"),
        formed_on=data.get("formed_on"),
        status=AllianceStatus.PROPOSED,
        created_by=caller.id,
    )
    alliance.lead_org = lead
    db.session.add(alliance)
    db.session.flush()
    joined_on = alliance.formed_on or today()
    db.session.add(AllianceMember(alliance_id=alliance.id, org_id=lead.id, joined_on=joined_on))
    given = {name: _plain(data[name]) for name in sorted(data) if name != "note"}
    _record(alliance, caller, "create", given, data.get("note"))
    db.session.flush()
    return get_alliance_view(caller, alliance.id)


UPDATABLE: Final = {"name": "name", "theme": "theme_code", "charter": "charter", "formed_on": "formed_on"}
WHILE_PROPOSED: Final = {"grid_id": "grid_id", "lead_org_id": "lead_org_id"}


def update_alliance(caller: Caller, alliance_id: int, changes: Mapping[str, Any]) -> AllianceView:
    """Change an alliance's details; its territory and lead organisation only while it is proposed."""
    alliance = managed_alliance(caller, alliance_id)
    moved = [name for name in WHILE_PROPOSED if name in changes]
    if moved and alliance.status is not AllianceStatus.PROPOSED:
        raise InvalidTransitionError(
            _("An approved alliance keeps its territory and lead organisation."), {name: ["approved"] for name in moved}
        )
    if "theme" in changes and changes["theme"] != alliance.theme_code:
        _active_theme(changes["theme"])
    if "grid_id" in changes:
        grid = _grid(changes["grid_id"])
        if not (covers_territory(caller, grid) or is_alliance_lead(caller, alliance)):
            raise ForbiddenError(_("That unit is outside your scope."), {"grid_id": ["outside your grid scope"]})
    if "lead_org_id" in changes and changes["lead_org_id"] != alliance.lead_org_id:
        _move_lead(caller, alliance, _active_org(changes["lead_org_id"], "lead_org_id"))
    record: dict[str, Any] = {}
    for name, column in {**UPDATABLE, **WHILE_PROPOSED}.items():
        if name in changes and changes[name] != getattr(alliance, column):
            record[name] = {"from": _plain(getattr(alliance, column)), "to": _plain(changes[name])}
            setattr(alliance, column, changes[name])
    if record:
        alliance.updated_at = utcnow()
        _record(alliance, caller, "update", record, changes.get("note"))
    db.session.flush()
    return get_alliance_view(caller, alliance.id)


def _move_lead(caller: Caller, alliance: Alliance, lead: PartyOrg) -> None:
    """A proposed alliance's new lead organisation is its member (joining now if it was not)."""
    if not (acts_for_org(caller, lead) or may_approve(caller, alliance)):
        raise ForbiddenError(
            _("You do not act for that organisation."), {"lead_org_id": ["you do not act for this organisation"]}
        )
    if not is_member_org(alliance.id, lead.id):
        _add_membership(alliance, lead, commitment=None, joined_on=today())
    alliance.lead_org = lead


def approve_alliance(caller: Caller, alliance_id: int, data: Mapping[str, Any]) -> AllianceView:
    """审批备案: a supervisor over the territory (or an admin) approves a proposed alliance, which becomes active."""
    alliance = readable_alliance(caller, alliance_id)
    if not may_approve(caller, alliance):
        raise ForbiddenError(
            _("Only a supervisor over the alliance's territory approves it."), {"role": ["not over its territory"]}
        )
    approved_on = data.get("approved_on") or today()
    if approved_on > today():
        raise ValidationError(_("An approval is recorded once given."), {"approved_on": ["in the future"]})
    claimed = db.session.execute(
        Alliance.__table__.update()
        .where(Alliance.id == alliance.id, Alliance.status == AllianceStatus.PROPOSED)
        .values(
            status=AllianceStatus.ACTIVE,
            approved_by_id=caller.id,
            approved_on=approved_on,
            updated_at=utcnow(),
            version=Alliance.version + 1,
        )
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(alliance)
        raise InvalidTransitionError(
            _("Only a proposed alliance is approved."),
            {"status": [alliance.status.value], "allowed_actions": allowed_actions(caller, alliance)},
        )
    db.session.refresh(alliance)
    changes = {"status": {"from": "proposed", "to": "active"}, "approved_on": _plain(approved_on)}
    _record(alliance, caller, "approve", changes, data.get("note"))
    db.session.flush()
    return get_alliance_view(caller, alliance.id)


def dissolve_alliance(caller: Caller, alliance_id: int, data: Mapping[str, Any]) -> AllianceView:
    """Dissolve an alliance (proposed or active): its live memberships end that day; it stays on record."""
    alliance = managed_alliance(caller, alliance_id)
    day = data.get("dissolved_on") or today()
    if day > today():
        raise ValidationError(_("A dissolution is recorded once it happened."), {"dissolved_on": ["in the future"]})
    previous = alliance.status
    alliance.status = AllianceStatus.DISSOLVED
    alliance.dissolved_on = day
    alliance.dissolve_reason = data["reason"]
    alliance.updated_at = utcnow()
    for membership in _live_memberships(alliance.id):
        membership.left_on = max(day, membership.joined_on)
        membership.left_reason = data["reason"]
    changes = {"status": {"from": previous.value, "to": "dissolved"}, "dissolved_on": _plain(day)}
    _record(alliance, caller, "dissolve", changes, data["reason"])
    db.session.flush()
    return get_alliance_view(caller, alliance.id)


def list_changes(caller: Caller, alliance_id: int) -> list[AllianceChange]:
    """The alliance's record of changes, oldest first."""
    readable_alliance(caller, alliance_id)
    stmt = select(AllianceChange).where(AllianceChange.alliance_id == alliance_id).order_by(AllianceChange.id)
    return list(db.session.scalars(stmt))


# --- members -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipView:
    id: int
    alliance_id: int
    org_id: int
    org_name: str
    org_kind: str
    host_kind: str | None
    is_lead: bool
    commitment: str | None
    joined_on: date
    left_on: date | None
    left_reason: str | None
    live: bool


def _membership_view(alliance: Alliance, membership: AllianceMember) -> MembershipView:
    day = today()
    org = membership.org
    return MembershipView(
        id=membership.id,
        alliance_id=alliance.id,
        org_id=org.id,
        org_name=org.name,
        org_kind=str(org.kind),  # a str until the row is read back
        host_kind=str(org.host_kind) if org.host_kind is not None else None,
        is_lead=org.id == alliance.lead_org_id,
        commitment=membership.commitment,
        joined_on=membership.joined_on,
        left_on=membership.left_on,
        left_reason=membership.left_reason,
        live=membership.joined_on <= day and (membership.left_on is None or membership.left_on > day),
    )


def list_members(caller: Caller, alliance_id: int, *, include_left: bool) -> list[MembershipView]:
    """The alliance's memberships in the order they began (those ended too when asked)."""
    alliance = readable_alliance(caller, alliance_id)
    stmt = select(AllianceMember).where(AllianceMember.alliance_id == alliance.id)
    if not include_left:
        stmt = stmt.where(AllianceMember.left_on.is_(None))
    stmt = stmt.options(selectinload(AllianceMember.org)).order_by(AllianceMember.joined_on, AllianceMember.id)
    return [_membership_view(alliance, membership) for membership in db.session.scalars(stmt)]


def add_member(caller: Caller, alliance_id: int, data: Mapping[str, Any]) -> MembershipView:
    """An organisation joins the alliance with its commitment; 409 while it is already a member."""
    alliance = managed_alliance(caller, alliance_id)
    org = _active_org(data["org_id"], "org_id")
    joined_on = data.get("joined_on") or today()
    if joined_on > today():
        raise ValidationError(_("A membership is recorded once it begins."), {"joined_on": ["in the future"]})
    last_left = db.session.scalar(
        select(func.max(AllianceMember.left_on)).where(
            AllianceMember.alliance_id == alliance.id, AllianceMember.org_id == org.id
        )
    )
    if last_left is not None and joined_on < last_left:
        raise ValidationError(
            _("An organisation joins again after it left."), {"joined_on": [f"before {last_left.isoformat()}"]}
        )
    membership = _add_membership(alliance, org, commitment=data.get("commitment"), joined_on=joined_on)
    changes = {"org_id": str(org.id), "joined_on": _plain(joined_on), "commitment": data.get("commitment")}
    _record(alliance, caller, "member_add", changes, data.get("note"))
    db.session.flush()
    return _membership_view(alliance, membership)


def _add_membership(alliance: Alliance, org: PartyOrg, *, commitment: str | None, joined_on: date) -> AllianceMember:
    taken = ConflictError(_("That organisation is already a member."), {"org_id": ["already a member"]})
    live = select(AllianceMember.id).where(
        AllianceMember.alliance_id == alliance.id, AllianceMember.org_id == org.id, AllianceMember.left_on.is_(None)
    )
    if db.session.scalars(live).first() is not None:
        raise taken
    membership = AllianceMember(alliance_id=alliance.id, org_id=org.id, commitment=commitment, joined_on=joined_on)
    membership.org = org
    db.session.add(membership)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request added it first
        raise taken from None
    return membership


def remove_member(caller: Caller, alliance_id: int, membership_id: int, data: Mapping[str, Any]) -> MembershipView:
    """End a membership on a day (today by default), with the reason; it stays on record."""
    alliance = managed_alliance(caller, alliance_id)
    membership = db.session.get(AllianceMember, membership_id)
    if membership is None or membership.alliance_id != alliance.id:
        raise NotFoundError(_("No such alliance member."))
    if membership.left_on is not None:
        raise InvalidTransitionError(_("That organisation has left already."), {"left_on": [str(membership.left_on)]})
    if membership.org_id == alliance.lead_org_id:
        raise ConflictError(
            _("The lead organisation stays a member; change the lead first."), {"org_id": ["the lead organisation"]}
        )
    left_on = data.get("left_on") or today()
    if left_on > today():
        raise ValidationError(_("A membership ends once it has ended."), {"left_on": ["in the future"]})
    if left_on < membership.joined_on:
        raise ValidationError(
            _("A membership ends after it began."), {"left_on": [f"before {membership.joined_on.isoformat()}"]}
        )
    membership.left_on = left_on
    membership.left_reason = data["reason"]
    changes = {"org_id": str(membership.org_id), "left_on": _plain(left_on)}
    _record(alliance, caller, "member_remove", changes, data["reason"])
    db.session.flush()
    return _membership_view(alliance, membership)


def _live_memberships(alliance_id: int) -> list[AllianceMember]:
    stmt = select(AllianceMember).where(AllianceMember.alliance_id == alliance_id, AllianceMember.left_on.is_(None))
    return list(db.session.scalars(stmt))


# --- helpers -----------------------------------------------------------------------------------------


def _active_org(org_id: int, field: str) -> PartyOrg:
    org = db.session.get(PartyOrg, org_id)
    if org is None:
        raise ValidationError(_("No such party organisation."), {field: ["no such organisation"]})
    if not org.active:
        raise ValidationError(_("That organisation is inactive."), {field: ["inactive organisation"]})
    return org


def _grid(grid_id: int) -> GridUnit:
    unit = db.session.get(GridUnit, grid_id)
    if unit is None or not unit.active:
        raise ValidationError(_("No such grid unit."), {"grid_id": ["no such active unit"]})
    return unit


def _active_theme(code: str) -> AllianceTheme:
    found = THEMES.get_active(code)
    if found is None:
        raise ValidationError(_("Unknown or inactive alliance theme."), {"theme": ["no such active theme"]})
    return found


def _record(
    alliance: Alliance, caller: Caller, action: str, changes: Mapping[str, Any], note: str | None = None
) -> None:
    db.session.add(
        AllianceChange(alliance_id=alliance.id, action=action, actor_id=caller.id, note=note, changes=dict(changes))
    )


def _plain(value: Any) -> Any:
    """A value as the record keeps it (JSON): days and times as the API writes them, ids as strings."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
