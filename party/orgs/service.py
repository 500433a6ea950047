"""Rules of the party organisation tree: kinds under kinds, territorial units inside their parent's, moves,
secretaries, the grid units' summary of the organisation built on them, coverage (两个覆盖) and staff placements.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, func, select, update

from auth.models import Account
from grid.coords import to_wgs84
from grid.models import GridLevel, GridUnit
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.names import ORG_KINDS, name_of
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from kernel.scope import Scope
from party import scope as party_scope
from party.members.models import PartyMember
from party.orgs.events import OrgPlaceChanged, OrgPlaceChanging
from party.orgs.models import OrgKind, PartyOrg, PartyStaffPlacement

# Which kinds an organisation of each kind may hang under (None: at the root).
ALLOWED_PARENTS: Final[Mapping[OrgKind, frozenset[OrgKind | None]]] = {
    OrgKind.GROUP: frozenset({OrgKind.BRANCH}),
    OrgKind.BRANCH: frozenset({OrgKind.GENERAL_BRANCH, OrgKind.PARTY_COMMITTEE}),
    OrgKind.GENERAL_BRANCH: frozenset({OrgKind.PARTY_COMMITTEE}),
    OrgKind.PARTY_COMMITTEE: frozenset({OrgKind.PARTY_COMMITTEE, None}),
}

# The organisation a unit's `party_branch` summary names when several are built on it: the highest in rank.
SUMMARY_RANK: Final[Mapping[OrgKind, int]] = {
    OrgKind.PARTY_COMMITTEE: 0,
    OrgKind.GENERAL_BRANCH: 1,
    OrgKind.BRANCH: 2,
    OrgKind.GROUP: 3,
}

HOST_COLUMNS: Final = ("host_kind", "host_name", "host_address", "host_lat", "host_lng")


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgFilters:
    parent_id: int | None = None
    subtree: bool = False
    kind: OrgKind | None = None
    grid_id: int | None = None
    q: str | None = None
    active: bool | None = None


def list_orgs(actor: Caller, filters: OrgFilters, *, limit: int, cursor: str | None) -> Page[PartyOrg]:
    """Organisations the actor may read, filtered; `parent_id` with `subtree` gives every descendant."""
    stmt: Select[tuple[PartyOrg]] = select(PartyOrg).where(party_scope.readable_orgs_clause(actor))
    if filters.parent_id is not None:
        parent = get_readable_org(actor, filters.parent_id)
        if filters.subtree:
            stmt = stmt.where(PartyOrg.path.startswith(parent.path, autoescape=True), PartyOrg.id != parent.id)
        else:
            stmt = stmt.where(PartyOrg.parent_id == parent.id)
    if filters.kind is not None:
        stmt = stmt.where(PartyOrg.kind == filters.kind)
    if filters.grid_id is not None:
        stmt = stmt.where(PartyOrg.grid_id == filters.grid_id)
    if filters.active is not None:
        stmt = stmt.where(PartyOrg.active == filters.active)
    if filters.q:
        stmt = stmt.where(func.lower(PartyOrg.name).contains(filters.q.lower(), autoescape=True))
    fingerprint = {**filters.__dict__, "actor": actor.id}
    page = paginate(stmt, order_by=[PartyOrg.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)
    _count_members(page.items)
    return page


def get_readable_org(actor: Caller, org_id: int) -> PartyOrg:
    """An organisation the actor may read, with its member count; 404 otherwise."""
    org = party_scope.ensure_reads_org(actor, db.session.get(PartyOrg, org_id))
    _count_members([org])
    return org


def active_member_counts(org_ids: Iterable[int]) -> dict[int, int]:
    ids = list(org_ids)
    if not ids:
        return {}
    stmt = (
        select(PartyMember.org_id, func.count())
        .where(PartyMember.org_id.in_(ids), PartyMember.active.is_(True))
        .group_by(PartyMember.org_id)
    )
    return {org_id: count for org_id, count in db.session.execute(stmt)}


def _count_members(orgs: Sequence[PartyOrg]) -> None:
    counts = active_member_counts(org.id for org in orgs)
    for org in orgs:
        org.member_count = counts.get(org.id, 0)  # type: ignore[attr-defined]  # shown, not stored


# --- creating and changing -------------------------------------------------------------------------


def create_org(actor: Caller, data: Mapping[str, Any]) -> PartyOrg:
    """Create an organisation under one the actor manages (admins also create root committees)."""
    parent = _parent_for_write(actor, data.get("parent_id"))
    kind = OrgKind(data["kind"])
    _check_kind_under(kind, parent)
    unit = _unit_or_none(data.get("grid_id"))
    if unit is not None:
        _check_unit_inside_parent(unit, parent)
    org = PartyOrg(kind=kind, name=data["name"], parent=parent, path="/pending/", active=data.get("active", True))
    org.grid_id = unit.id if unit is not None else None
    _set_host(org, data.get("host"))
    db.session.add(org)
    db.session.flush()  # the path needs the id
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    db.session.flush()
    if unit is not None:
        refresh_unit_summary(unit.id)
    _count_members([org])
    return org


def update_org(actor: Caller, org_id: int, changes: Mapping[str, Any]) -> PartyOrg:
    """Change an organisation's details or place; the grid units it is (or was) built on follow, and the app is
    told of a new place before and after (`OrgPlaceChanging`, `OrgPlaceChanged`)."""
    org = get_readable_org(actor, org_id)
    party_scope.ensure_manages_org(actor, org)
    units_before = {org.grid_id}
    moves = "parent_id" in changes and changes["parent_id"] != org.parent_id
    replaces = "grid_id" in changes or "host" in changes
    if moves or replaces:
        publish(OrgPlaceChanging(org.id))
    if moves:
        _move(actor, org, changes["parent_id"])
    if replaces:
        _change_place(org, changes)
    if "secretary_id" in changes:
        org.secretary_id = _checked_secretary(org, changes["secretary_id"])
    if "name" in changes:
        org.name = changes["name"]
    if "active" in changes and changes["active"] != org.active:
        _change_active(org, changes["active"])
    db.session.flush()
    if moves or replaces:
        publish(OrgPlaceChanged(org.id))
    for unit_id in units_before | {org.grid_id}:
        if unit_id is not None:
            refresh_unit_summary(unit_id)
    _count_members([org])
    return org


def _parent_for_write(actor: Caller, parent_id: int | None) -> PartyOrg | None:
    if parent_id is None:
        if actor.role is not Role.ADMIN:
            raise ForbiddenError(_("Only admins create root organisations."), {"parent_id": ["required"]})
        return None
    parent = db.session.get(PartyOrg, parent_id)
    if parent is None:
        raise ValidationError(_("No such parent organisation."), {"parent_id": [_("no such party organisation")]})
    party_scope.ensure_manages_org(actor, parent, N_("parent organisation"))
    if not parent.active:
        raise ValidationError(_("The parent organisation is inactive."), {"parent_id": ["inactive"]})
    return parent


def _check_kind_under(kind: OrgKind, parent: PartyOrg | None) -> None:
    allowed = ALLOWED_PARENTS[kind]
    if (parent.kind if parent is not None else None) in allowed:
        return
    kind_name = name_of(ORG_KINDS, kind)
    parents = _(", ").join(sorted(_("no parent") if k is None else name_of(ORG_KINDS, k) for k in allowed))
    if parent is None:
        message = _("A %(kind)s cannot be a root organisation.", kind=kind_name)
    else:
        message = _("A %(kind)s cannot sit under a %(parent)s.", kind=kind_name, parent=name_of(ORG_KINDS, parent.kind))
    raise ValidationError(
        message, {"parent_id": [_("a %(kind)s sits under: %(value)s", kind=kind_name, value=parents)]}
    )


def _unit_or_none(grid_id: int | None) -> GridUnit | None:
    if grid_id is None:
        return None
    unit = db.session.get(GridUnit, grid_id)
    if unit is None:
        raise ValidationError(_("No such grid unit."), {"grid_id": [_("no such grid unit")]})
    return unit


def _check_unit_inside_parent(unit: GridUnit, parent: PartyOrg | None) -> None:
    """A territorial organisation's unit lies inside its territorial parent's unit."""
    if parent is None or parent.grid_id is None:
        return
    parent_unit = db.session.get(GridUnit, parent.grid_id)
    if parent_unit is not None and not unit.path.startswith(parent_unit.path):
        raise ValidationError(
            _("The unit lies outside the parent organisation's unit."),
            {"grid_id": [_("must lie inside the parent organisation's unit %(code)s", code=parent_unit.code)]},
        )


def _check_children_inside(org: PartyOrg, unit: GridUnit) -> None:
    """The territorial children of an organisation moved to `unit` must still lie inside it."""
    stmt = (
        select(GridUnit.code)
        .join(PartyOrg, PartyOrg.grid_id == GridUnit.id)
        .where(PartyOrg.parent_id == org.id, ~GridUnit.path.startswith(unit.path, autoescape=True))
    )
    outside = list(db.session.scalars(stmt))
    if outside:
        raise ValidationError(
            _("Sub-organisations would lie outside the unit."),
            {"grid_id": [_("sub-organisations are built on %(value)s, outside it", value=", ".join(sorted(outside)))]},
        )


def _set_host(org: PartyOrg, host: Mapping[str, Any] | None) -> None:
    if host is None:
        for column in HOST_COLUMNS:
            setattr(org, column, None)
        return
    org.host_kind, org.host_name, org.host_address = host["kind"], host["name"], host.get("address")
    location = host.get("location")
    if location is None:
        org.host_lat = org.host_lng = None
    else:
        org.host_lat, org.host_lng = to_wgs84(location["lat"], location["lng"], location["coord_system"])


def _change_place(org: PartyOrg, changes: Mapping[str, Any]) -> None:
    """Setting one of grid_id and host clears the other; the new unit follows the rules of a created one."""
    if "grid_id" in changes:
        unit = _unit_or_none(changes["grid_id"])
        if unit is not None:
            _check_unit_inside_parent(unit, org.parent)
            _check_children_inside(org, unit)
            if "host" not in changes:
                _set_host(org, None)
        org.grid_id = unit.id if unit is not None else None
    if "host" in changes:
        _set_host(org, changes["host"])
        if changes["host"] is not None and "grid_id" not in changes:
            org.grid_id = None


def _checked_secretary(org: PartyOrg, member_id: int | None) -> int | None:
    if member_id is None:
        return None
    member = db.session.get(PartyMember, member_id)
    if member is None:
        raise ValidationError(_("No such party member."), {"secretary_id": [_("no such party member")]})
    if member.org_id != org.id or not member.active:
        raise ValidationError(
            _("The secretary must be an active member of this organisation."),
            {"secretary_id": [_("not an active member of this organisation")]},
        )
    return member.id


def _change_active(org: PartyOrg, active: bool) -> None:
    if not active:
        below = select(PartyOrg.id).where(PartyOrg.parent_id == org.id, PartyOrg.active.is_(True))
        if db.session.scalars(below).first() is not None:
            raise ConflictError(
                _("The organisation still has active sub-organisations; deactivate them first."),
                {"active": [_("active sub-organisations")]},
            )
    elif org.parent is not None and not org.parent.active:
        raise ValidationError(_("The parent organisation is inactive."), {"active": [_("the parent is inactive")]})
    org.active = active


def _move(actor: Caller, org: PartyOrg, parent_id: int | None) -> None:
    """Re-hang an organisation and its subtree; cycles, wrong kinds and units outside the parent's are refused."""
    if party_scope.is_scope_root(actor, org):
        raise ForbiddenError(
            _("You may not move the organisation you are placed on."),
            {"parent_id": [_("your own organisation's place")]},
        )
    new_parent = _parent_for_write(actor, parent_id)
    if new_parent is not None and new_parent.path.startswith(org.path):
        raise ValidationError(
            _("An organisation cannot move under itself."), {"parent_id": [_("would create a cycle")]}
        )
    _check_kind_under(org.kind, new_parent)
    if org.grid_id is not None:
        unit = db.session.get(GridUnit, org.grid_id)
        if unit is not None:
            _check_unit_inside_parent(unit, new_parent)
    old_prefix, new_prefix = org.path, f"{new_parent.path if new_parent else '/'}{org.id}/"
    db.session.execute(
        update(PartyOrg)
        .where(PartyOrg.path.startswith(old_prefix, autoescape=True))
        .values(path=new_prefix + func.substr(PartyOrg.path, len(old_prefix) + 1), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    org.parent = new_parent
    db.session.flush()
    db.session.refresh(org)


# --- the grid units' summary ----------------------------------------------------------------------


def refresh_unit_summary(unit_id: int) -> None:
    """Write `grid_units.party_branch_name/_secretary` from the active organisation built on the unit (the highest
    in rank, then the oldest), or clear them. The grid layer shows them and never writes them; the party layer
    calls this whenever such an organisation's name, unit, activity or secretary changes."""
    unit = db.session.get(GridUnit, unit_id)
    if unit is None:
        return
    orgs = db.session.scalars(select(PartyOrg).where(PartyOrg.grid_id == unit_id, PartyOrg.active.is_(True))).all()
    top = min(orgs, key=lambda o: (SUMMARY_RANK[o.kind], o.id), default=None)
    name = top.name if top is not None else None
    secretary = None
    if top is not None and top.secretary_id is not None:
        secretary = db.session.scalar(select(PartyMember.name).where(PartyMember.id == top.secretary_id))
    if (unit.party_branch_name, unit.party_branch_secretary) != (name, secretary):
        unit.party_branch_name, unit.party_branch_secretary = name, secretary
        db.session.flush()


# --- coverage (两个覆盖) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelCoverage:
    total: int
    covered_count: int
    uncovered_count: int
    covered: list[GridUnit]
    uncovered: list[GridUnit]


@dataclass(frozen=True)
class Coverage:
    grid: GridUnit | None
    cells: LevelCoverage
    communities: LevelCoverage
    orgs: list[PartyOrg]


def coverage(actor: Caller, grid_id: int | None) -> Coverage:
    """Cells and communities of a grid subtree with and without an active territorial organisation built on them,
    and the organisations built there (and below them) with their members."""
    territory = territory_of(actor)
    unit = None
    if grid_id is not None:
        unit = db.session.get(GridUnit, grid_id)
        if unit is None or not territory.covers(unit.path):
            raise NotFoundError(_("No such grid unit."))
    area = Scope.of_paths([unit.path]) if unit is not None else territory
    covered_ids = set(
        db.session.scalars(
            select(PartyOrg.grid_id)
            .join(GridUnit, GridUnit.id == PartyOrg.grid_id)
            .where(PartyOrg.active.is_(True), area.clause(GridUnit.path))
        )
    )
    orgs = _orgs_built_in(actor, area)
    _count_members(orgs)
    return Coverage(
        grid=unit,
        cells=_level_coverage(area, GridLevel.GRID, covered_ids),
        communities=_level_coverage(area, GridLevel.COMMUNITY, covered_ids),
        orgs=orgs,
    )


def territory_of(actor: Caller) -> Scope:
    """The grid subtrees whose coverage the actor may read: admins all, supervisors their own, party staff the
    units their territorial organisations are built on."""
    if actor.role is Role.ADMIN:
        return Scope.everything()
    if actor.role is Role.SUPERVISOR:
        return Scope.of_paths([actor.scope_path] if actor.scope_path is not None else [])
    stmt = (
        select(GridUnit.path)
        .join(PartyOrg, PartyOrg.grid_id == GridUnit.id)
        .where(party_scope.readable_orgs_clause(actor))
    )
    return Scope.of_paths(party_scope.outermost_paths(list(db.session.scalars(stmt))))


def _level_coverage(area: Scope, level: GridLevel, covered_ids: set[int]) -> LevelCoverage:
    units = db.session.scalars(
        select(GridUnit)
        .where(area.clause(GridUnit.path), GridUnit.level == level, GridUnit.active.is_(True))
        .order_by(GridUnit.code)
    ).all()
    covered = [u for u in units if u.id in covered_ids]
    uncovered = [u for u in units if u.id not in covered_ids]
    return LevelCoverage(len(units), len(covered), len(uncovered), covered, uncovered)


def _orgs_built_in(actor: Caller, area: Scope) -> list[PartyOrg]:
    roots = db.session.scalars(
        select(PartyOrg.path)
        .join(GridUnit, GridUnit.id == PartyOrg.grid_id)
        .where(PartyOrg.active.is_(True), area.clause(GridUnit.path))
    )
    below = Scope.of_paths(party_scope.outermost_paths(list(roots)))
    stmt = (
        select(PartyOrg)
        .where(below.clause(PartyOrg.path), PartyOrg.active.is_(True), party_scope.readable_orgs_clause(actor))
        .order_by(PartyOrg.path)
    )
    return list(db.session.scalars(stmt))


# --- party staff placements -------------------------------------------------------------------------


def place_staff(account_id: int, org_id: int) -> PartyStaffPlacement:
    """Place a party_staff account on an organisation subtree (replacing any earlier placement)."""
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFoundError(_("No such account."))
    if account.role is not Role.PARTY_STAFF:
        raise ValidationError(
            _("Only party_staff accounts are placed on organisations."),
            {"account_id": [_("not a party_staff account")]},
        )
    org = db.session.get(PartyOrg, org_id)
    if org is None:
        raise ValidationError(_("No such party organisation."), {"org_id": [_("no such party organisation")]})
    placement = db.session.get(PartyStaffPlacement, account_id)
    if placement is None:
        placement = PartyStaffPlacement(account_id=account_id, org_id=org.id)
        db.session.add(placement)
    else:
        placement.org_id = org.id
        placement.created_at = utcnow()
    placement.org = org
    db.session.flush()
    return placement


def get_placement(actor: Caller, account_id: int) -> PartyStaffPlacement:
    """Where a party_staff account is placed: admins see any, party staff their own; 404 when not placed."""
    if actor.role is not Role.ADMIN and actor.id != account_id:
        raise NotFoundError(_("No such placement."))
    placement = db.session.get(PartyStaffPlacement, account_id)
    if placement is None:
        raise NotFoundError(_("No such placement."))
    return placement
