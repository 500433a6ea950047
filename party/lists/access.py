"""Who a caller is to a need (the parties of `lifecycle.Party`), and which needs, resources and projects they read.

- admin: everything, and stands in every party but a wish's member and claimer;
- supervisor: the needs, resources and projects of its grid subtree (resources: those serving a unit that holds
  or lies in its subtree); dispatches, confirms wishes and records visit ratings there;
- party_staff, or an organisation's secretary: acts for the organisations it manages (`acts_for_org`); reads the
  needs and projects of the territory of its territorial organisations, those its organisations own or raised,
  those of the alliances they are live members of, and the resources its organisations or those alliances offer;
- worker, volunteer: reads the needs of its grid scope; a party member among them claims the wishes there.
"""

from sqlalchemy import false, or_, select, true

from grid.models import GridUnit
from kernel.errors import ForbiddenError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller, Role
from kernel.scope import Scope
from party.alliances import service as alliances
from party.alliances.models import Alliance, AllianceMember
from party.lists.lifecycle import Party
from party.lists.models import Need
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.scope import management_scope, outermost_paths


def is_admin(caller: Caller) -> bool:
    return caller.role is Role.ADMIN


def grid_scope(caller: Caller) -> Scope:
    """The territory whose needs the caller reads: an account's grid scope, a party_staff's territorial
    organisations' units."""
    if caller.role is Role.ADMIN:
        return Scope.everything()
    if caller.role is Role.PARTY_STAFF:
        stmt = (
            select(GridUnit.path)
            .join(PartyOrg, PartyOrg.grid_id == GridUnit.id)
            .where(management_scope(caller).clause(PartyOrg.path))
        )
        return Scope.of_paths(outermost_paths(list(db.session.scalars(stmt))))
    return Scope.of_paths([caller.scope_path] if caller.scope_path is not None else [])


def supervises(caller: Caller, grid_path: str) -> bool:
    """An admin, or a supervisor whose grid scope covers the unit."""
    if caller.role is Role.ADMIN:
        return True
    return caller.role is Role.SUPERVISOR and caller.scope_path is not None and grid_path.startswith(caller.scope_path)


def acting_org_ids(caller: Caller) -> list[int]:
    """The organisations a non-admin caller acts for: those it manages (party_staff) and those it is secretary of."""
    managed = management_scope(caller)
    stmt = select(PartyOrg.id).where(
        or_(
            managed.clause(PartyOrg.path),
            PartyOrg.secretary_id.in_(
                select(PartyMember.id).where(PartyMember.account_id == caller.id, PartyMember.active.is_(True))
            ),
        )
    )
    return sorted(db.session.scalars(stmt))


def ensure_acts_for(caller: Caller, org: PartyOrg) -> None:
    """403 unless the caller acts for the organisation."""
    if not alliances.acts_for_org(caller, org):
        raise ForbiddenError(
            _("You do not act for that party organisation."), {"org_id": ["not an organisation you act for"]}
        )


def _alliances_of(org_ids: list[int]):  # type: ignore[no-untyped-def]
    members = select(AllianceMember.alliance_id).where(
        AllianceMember.org_id.in_(org_ids), alliances.live_on(alliances.today())
    )
    leads = select(Alliance.id).where(Alliance.lead_org_id.in_(org_ids))
    return members.union(leads)


def visible_clause(caller: Caller, *, grid_path, owner_org_id, alliance_id, raised_by_org_id=None):  # type: ignore[no-untyped-def]
    """A WHERE clause over a list (needs, projects, resources) keeping the rows the caller reads."""
    if caller.role is Role.ADMIN:
        return true()
    clauses = [grid_scope(caller).clause(grid_path)]
    org_ids = acting_org_ids(caller)
    if org_ids:
        clauses.append(owner_org_id.in_(org_ids))
        clauses.append(alliance_id.in_(_alliances_of(org_ids)))
        if raised_by_org_id is not None:
            clauses.append(raised_by_org_id.in_(org_ids))
    return or_(*clauses) if clauses else false()


def member_of(caller: Caller) -> PartyMember | None:
    """The caller's own active member record, if any."""
    stmt = select(PartyMember).where(PartyMember.account_id == caller.id, PartyMember.active.is_(True))
    return db.session.scalars(stmt).first()


def may_take_for(need: Need, org: PartyOrg) -> bool:
    """An organisation may take a need of an alliance only as its live member; any organisation otherwise."""
    return need.alliance_id is None or alliances.is_member_org(need.alliance_id, org.id)


def stands_as(caller: Caller, need: Need, party: Party) -> bool:
    """Whether the caller stands in that party to the need."""
    return _CHECKS[party](caller, need)


def _dispatcher(caller: Caller, need: Need) -> bool:
    if supervises(caller, need.grid_path):
        return True
    return need.alliance_id is not None and alliances.is_alliance_lead(caller, alliances.get_alliance(need.alliance_id))


def _taker(caller: Caller, need: Need) -> bool:
    if is_admin(caller):
        return True
    orgs = db.session.scalars(select(PartyOrg).where(PartyOrg.id.in_(acting_org_ids(caller)))).all()
    return any(may_take_for(need, org) for org in orgs)


def _owner(caller: Caller, need: Need) -> bool:
    return need.owner_org is not None and alliances.acts_for_org(caller, need.owner_org)


def _member(caller: Caller, need: Need) -> bool:
    member = member_of(caller)
    if member is None:
        return False
    if caller.scope_path is not None and need.grid_path.startswith(caller.scope_path):
        return True
    home = db.session.get(GridUnit, member.home_grid_id) if member.home_grid_id is not None else None
    return home is not None and need.grid_path.startswith(home.path)


def _claimer(caller: Caller, need: Need) -> bool:
    member = member_of(caller)
    return member is not None and member.id == need.claimed_by_member_id


def _rater(caller: Caller, need: Need) -> bool:
    if supervises(caller, need.grid_path):
        return True
    if need.alliance_id is None:
        return False
    members = set(alliances.active_member_org_ids(need.alliance_id)) - {need.owner_org_id}
    return bool(members & set(acting_org_ids(caller)))


_CHECKS = {
    Party.DISPATCHER: _dispatcher,
    Party.TAKER: _taker,
    Party.OWNER: _owner,
    Party.MEMBER: _member,
    Party.CLAIMER: _claimer,
    Party.COMMUNITY: lambda caller, need: supervises(caller, need.grid_path),
    Party.RATER: _rater,
}
