"""Party scope: which part of the organisation tree a caller reads and manages.

An organisation's materialized path lists its ancestors' ids with a trailing separator ("/1/5/9/"), as grid units'
paths do, so the kernel's `Scope` works over `PartyOrg.path` unchanged. The rules:

- admin: every organisation, reads and writes;
- party_staff: the subtree of the organisation it is placed on (`PartyStaffPlacement`; not placed: nothing); it
  manages that organisation's details and everything below it, but not where its own organisation hangs;
- supervisor: reads the territorial organisations built on a unit of its grid subtree and everything below them
  (host organisations included, since their parent chain reaches such an organisation); writes nothing;
- worker, volunteer: no organisation (a member reads their own record: the members context checks that itself).

Every service of the party layer authorizes through this module: `org_scope_of` / `readable_orgs_clause` to
filter, `ensure_reads_org` (404) and `ensure_manages_org` (403) for one organisation.
"""

from sqlalchemy import ColumnElement, ScalarSelect, select

from grid.models import GridUnit
from kernel.errors import ForbiddenError, NotFoundError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.principals import Caller, Role
from kernel.scope import Scope
from party.orgs.models import PartyOrg, PartyStaffPlacement


def placement_of(account_id: int) -> PartyOrg | None:
    """The organisation a party_staff account is placed on, if any."""
    stmt = (
        select(PartyOrg)
        .join(PartyStaffPlacement, PartyStaffPlacement.org_id == PartyOrg.id)
        .where(PartyStaffPlacement.account_id == account_id)
    )
    return db.session.scalars(stmt).first()


def org_scope_of(caller: Caller) -> Scope:
    """The organisation subtrees the caller may read (over `PartyOrg.path`)."""
    if caller.role is Role.ADMIN:
        return Scope.everything()
    if caller.role is Role.PARTY_STAFF:
        return management_scope(caller)
    if caller.role is Role.SUPERVISOR and caller.scope_path is not None:
        return Scope.of_paths(outermost_paths(_territorial_org_paths_under(caller.scope_path)))
    return Scope()


def management_scope(caller: Caller) -> Scope:
    """The organisation subtrees the caller may change: admins everything, party_staff its placement's subtree."""
    if caller.role is Role.ADMIN:
        return Scope.everything()
    if caller.role is Role.PARTY_STAFF:
        org = placement_of(caller.id)
        return Scope.of_paths([org.path] if org is not None else [])
    return Scope()


def readable_orgs_clause(caller: Caller) -> ColumnElement[bool]:
    """A WHERE clause over `PartyOrg` keeping the organisations the caller may read."""
    return org_scope_of(caller).clause(PartyOrg.path)


def readable_org_ids(caller: Caller) -> ScalarSelect[int]:
    """A subquery of the ids of the organisations the caller may read (e.g. `PartyMember.org_id.in_(...)`)."""
    return select(PartyOrg.id).where(readable_orgs_clause(caller)).scalar_subquery()


def can_read_org(caller: Caller, org: PartyOrg) -> bool:
    return org_scope_of(caller).covers(org.path)


def ensure_reads_org(caller: Caller, org: PartyOrg | None) -> PartyOrg:
    """404 when the caller may not know the organisation exists (or it does not)."""
    if org is None or not can_read_org(caller, org):
        raise NotFoundError(_("No such party organisation."))
    return org


def can_manage_org(caller: Caller, org: PartyOrg) -> bool:
    """Whether the caller may change the organisation's details and what lies below it."""
    return management_scope(caller).covers(org.path)


def ensure_manages_org(caller: Caller, org: PartyOrg, what: str = N_("party organisation")) -> None:
    """403 when the caller may not change this organisation (or its members, or place things under it)."""
    if not can_manage_org(caller, org):
        raise ForbiddenError(
            _("That %(what)s is outside your scope.", what=_(what)), {"scope": [_("outside your party organisation")]}
        )


def is_scope_root(caller: Caller, org: PartyOrg) -> bool:
    """Whether the organisation is the top of a non-admin caller's managed subtree (its place is not theirs)."""
    if caller.role is Role.ADMIN:
        return False
    return org.path in management_scope(caller).paths


def _territorial_org_paths_under(grid_path: str) -> list[str]:
    stmt = (
        select(PartyOrg.path)
        .join(GridUnit, GridUnit.id == PartyOrg.grid_id)
        .where(GridUnit.path.startswith(grid_path, autoescape=True))
    )
    return list(db.session.scalars(stmt))


def outermost_paths(paths: list[str]) -> list[str]:
    """The paths not inside another of them: the fewest subtrees covering them all."""
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path.startswith(root) for root in kept):
            kept.append(path)
    return kept
