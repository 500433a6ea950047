"""Rules of 双报到: service areas, check-ins with a community, and what confirming or ending one does to accounts.

- A **member check-in** is a serving (在职, class `serving`) member's registration with the community where they
  live (by default the community holding their `home_grid_id`). Members of other classes serve in other ways (the
  activities of their branch) and are refused (422). A member has at most one live (pending or confirmed)
  check-in: a second is 409 until the first is ended or rejected (`live_key`, unique).
- A **unit check-in** (单位报到) is a host organisation's (机关, 学校, 医院, …) registration with a community;
  territorial organisations are already part of their community. One live check-in per organisation.
- Who: the member themself, or admins and the party staff over the member's (or unit's) organisation, create;
  admins and supervisors whose grid scope covers the community confirm or reject (with a note); those, the member
  and the party staff over the organisation end one, on a day (never deleted).
- Confirming a member check-in makes them a volunteer of the community: a member without an account gets a
  volunteer account placed on the community, its username and a one-time password shown once in the confirmation's
  response; a member whose account is a volunteer elsewhere, a worker or a supervisor gets the community as a
  volunteer area of that account (`auth.service.grant_volunteer_area`). Admin and party_staff accounts take no
  tickets: such a member's check-in is refused (422). Ending the check-in withdraws the area; an account made for
  a check-in is closed with it, and opened again (new one-time password) by the member's next confirmed check-in.

Read scope: admins everything; party staff the check-ins of their organisation subtree; supervisors those with a
community in their grid subtree; everyone their own (as the member). Outside it: 404.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.exc import IntegrityError

from auth import service as accounts
from auth.models import Account
from grid.models import GridLevel, GridUnit
from kernel.clock import BEIJING, utcnow
from kernel.codes import CodedList
from kernel.errors import ConflictError, ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _, _l
from kernel.names import CHECK_IN_STATUSES, name_of
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from party.checkins.models import (
    LIVE_STATUSES,
    CheckIn,
    CheckInKind,
    CheckInStatus,
    ServiceArea,
)
from party.members import service as members
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.scope import management_scope, org_scope_of

CHECKING_IN_CLASS: Final = "serving"  # 在职党员: the class that checks in with its home community
USERNAME_BASE: Final = "member-{id}"  # a volunteer account made for a member: member-17 (member-17-2 if taken)


# --- service areas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultArea:
    code: str
    name: str
    position: int


DEFAULT_AREAS: Final = (  # as the migration seeds them
    DefaultArea("environment", "环境整治", 1),
    DefaultArea("elderly", "助老", 2),
    DefaultArea("mediation", "矛盾调解", 3),
    DefaultArea("civility", "文明劝导", 4),
    DefaultArea("patrol", "治安巡逻", 5),
    DefaultArea("tutoring", "助学", 6),
)


AREAS: Final = CodedList(
    ServiceArea, what=N_("service area"), fields={"name": None, "position": 0, "active": True}, defaults=DEFAULT_AREAS
)
seed_default_areas = AREAS.seed


def _chosen_areas(codes: Sequence[str]) -> list[ServiceArea]:
    wanted = list(dict.fromkeys(codes))
    found = {
        area.code: area
        for area in db.session.scalars(select(ServiceArea).where(ServiceArea.code.in_(wanted)))
        if area.active
    }
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise ValidationError(
            _("Unknown or inactive service areas."),
            {"service_areas": [_("no such active area: %(value)s", value=", ".join(unknown))]},
        )
    return [found[code] for code in wanted]


# --- reading check-ins -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInFilters:
    community_id: int | None = None
    org_id: int | None = None
    status: CheckInStatus | None = None
    kind: CheckInKind | None = None
    member_id: int | None = None


def visible_check_ins(actor: Caller) -> Select[tuple[CheckIn]]:
    """The check-ins the actor may read (see the module's docstring)."""
    own = CheckIn.member_id.in_(select(PartyMember.id).where(PartyMember.account_id == actor.id))
    return select(CheckIn).where(or_(_scope_clause(actor), own))


def _scope_clause(actor: Caller) -> ColumnElement[bool]:
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.PARTY_STAFF:
        scope = org_scope_of(actor)
        if not scope.paths:
            return false()
        return CheckIn.org_id.in_(select(PartyOrg.id).where(scope.clause(PartyOrg.path)))
    if actor.role is Role.SUPERVISOR and actor.scope_path is not None:
        return CheckIn.community_id.in_(
            select(GridUnit.id).where(GridUnit.path.startswith(actor.scope_path, autoescape=True))
        )
    return false()


def list_check_ins(actor: Caller, filters: CheckInFilters, *, limit: int, cursor: str | None) -> Page[CheckIn]:
    """Check-ins the actor reads, newest first; `community_id` and `org_id` cover their subtrees."""
    stmt = visible_check_ins(actor)
    if filters.community_id is not None:
        unit = db.session.get(GridUnit, filters.community_id)
        if unit is None:
            raise NotFoundError(_("No such unit."))
        stmt = stmt.where(
            CheckIn.community_id.in_(select(GridUnit.id).where(GridUnit.path.startswith(unit.path, autoescape=True)))
        )
    if filters.org_id is not None:
        org = db.session.get(PartyOrg, filters.org_id)
        if org is None or not org_scope_of(actor).covers(org.path):
            raise NotFoundError(_("No such party organisation."))
        stmt = stmt.where(
            CheckIn.org_id.in_(select(PartyOrg.id).where(PartyOrg.path.startswith(org.path, autoescape=True)))
        )
    if filters.status is not None:
        stmt = stmt.where(CheckIn.status == filters.status)
    if filters.kind is not None:
        stmt = stmt.where(CheckIn.kind == filters.kind)
    if filters.member_id is not None:
        stmt = stmt.where(CheckIn.member_id == filters.member_id)
    fingerprint = {**{k: v and str(v) for k, v in filters.__dict__.items()}, "actor": actor.id}
    return paginate(
        stmt, order_by=[CheckIn.id], descending=True, limit=limit, cursor=cursor, query_fingerprint=fingerprint
    )


def my_check_ins(actor: Caller, *, limit: int, cursor: str | None) -> Page[CheckIn]:
    """The caller's own member record's check-ins, newest first; 404 without a member record."""
    member_id = db.session.scalars(select(PartyMember.id).where(PartyMember.account_id == actor.id)).first()
    if member_id is None:
        raise NotFoundError(_("You have no party member record."))
    stmt = select(CheckIn).where(CheckIn.member_id == member_id)
    return paginate(
        stmt, order_by=[CheckIn.id], descending=True, limit=limit, cursor=cursor, query_fingerprint={"me": actor.id}
    )


def get_check_in(actor: Caller, check_in_id: int) -> CheckIn:
    """A check-in the actor may read; 404 otherwise."""
    found = db.session.scalars(visible_check_ins(actor).where(CheckIn.id == check_in_id)).one_or_none()
    if found is None:
        raise NotFoundError(_("No such check-in."))
    return found


# --- creating --------------------------------------------------------------------------------------


def create_check_in(actor: Caller, data: Mapping[str, Any]) -> CheckIn:
    """A pending check-in: a serving member's with their home community, or a host organisation's (单位报到)."""
    kind = CheckInKind(data["kind"])
    check_in = _member_check_in(actor, data) if kind is CheckInKind.MEMBER else _unit_check_in(actor, data)
    check_in.areas = _chosen_areas(data["service_areas"])
    check_in.status = CheckInStatus.PENDING
    check_in.note = data.get("note")
    check_in.created_by = actor.id
    check_in.account_created = False
    db.session.add(check_in)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request registered the same member or unit first
        raise _already_live(kind) from None
    return check_in


def _member_check_in(actor: Caller, data: Mapping[str, Any]) -> CheckIn:
    if data.get("member_id") is None:
        raise ValidationError(_("Say which member checks in."), {"member_id": [_("required for a member check-in")]})
    if data.get("org_id") is not None:
        raise ValidationError(_("A member checks in for their own organisation."), {"org_id": [_("only for a unit")]})
    members.get_member(actor, data["member_id"])  # 404 when the actor may not see the member
    member = db.session.get(PartyMember, data["member_id"])
    assert member is not None
    own = member.account_id is not None and member.account_id == actor.id
    if not own and not management_scope(actor).covers(member.org.path):
        raise ForbiddenError(
            _("Only the member, or the party staff over them, register their check-in."),
            {"member_id": [_("not yours")]},
        )
    _ensure_may_serve(member)
    community = _community(data.get("community_id"), home=member.home_grid_id)
    _ensure_not_live(f"member:{member.id}", CheckInKind.MEMBER)
    return CheckIn(
        kind=CheckInKind.MEMBER,
        member_id=member.id,
        org_id=member.org_id,
        community_id=community.id,
        live_key=f"member:{member.id}",
    )


def _ensure_may_serve(member: PartyMember) -> None:
    """An active serving member whose account (if any) may take tickets; 422 otherwise."""
    if not member.active:
        raise ValidationError(_("That member has left."), {"member_id": [_("inactive member")]})
    if member.class_code != CHECKING_IN_CLASS:
        raise ValidationError(
            _("Only serving (在职) members check in with their community."),
            {
                "member_id": [
                    _(
                        "class %(class_code)s, not %(CHECKING_IN_CLASS)s",
                        class_code=member.class_code,
                        CHECKING_IN_CLASS=CHECKING_IN_CLASS,
                    )
                ]
            },
        )
    account = db.session.get(Account, member.account_id) if member.account_id is not None else None
    if account is not None and not accounts.can_volunteer(account):
        raise ValidationError(
            _("The member's account is a %(role)s account, which takes no tickets.", role=account.role.value),
            {"member_id": [_("linked to a %(role)s account", role=account.role.value)]},
        )


def _unit_check_in(actor: Caller, data: Mapping[str, Any]) -> CheckIn:
    if data.get("org_id") is None:
        raise ValidationError(_("Say which organisation checks in."), {"org_id": [_("required for a unit check-in")]})
    if data.get("member_id") is not None:
        raise ValidationError(_("A unit check-in names no member."), {"member_id": [_("only for a member")]})
    org = db.session.get(PartyOrg, data["org_id"])
    if org is None:
        raise ValidationError(_("No such party organisation."), {"org_id": [_("no such organisation")]})
    if not management_scope(actor).covers(org.path):
        raise ForbiddenError(_("That organisation is outside your scope."), {"org_id": [_("outside your party scope")]})
    if not org.active:
        raise ValidationError(_("That organisation is inactive."), {"org_id": [_("inactive organisation")]})
    if org.host_kind is None:
        raise ValidationError(
            _("Only a host organisation (机关, 学校, 医院, …) checks in as a unit."),
            {"org_id": [_("a territorial organisation is part of its community already")]},
        )
    if data.get("community_id") is None:
        raise ValidationError(_("Say which community."), {"community_id": [_("required for a unit check-in")]})
    community = _community(data["community_id"], home=None)
    _ensure_not_live(f"unit:{org.id}", CheckInKind.UNIT)
    return CheckIn(kind=CheckInKind.UNIT, org_id=org.id, community_id=community.id, live_key=f"unit:{org.id}")


def _community(grid_id: int | None, *, home: int | None) -> GridUnit:
    """The community given, or the one holding the home unit; 422 when neither is a community."""
    if grid_id is not None:
        unit = db.session.get(GridUnit, grid_id)
        if unit is None or unit.level is not GridLevel.COMMUNITY:
            raise ValidationError(_("Check in with a community."), {"community_id": [_("not a community")]})
        return unit
    home_unit = db.session.get(GridUnit, home) if home is not None else None
    if home_unit is not None:
        ancestors = [int(part) for part in home_unit.path.strip("/").split("/")]
        found = db.session.scalars(
            select(GridUnit).where(GridUnit.id.in_(ancestors), GridUnit.level == GridLevel.COMMUNITY)
        ).first()
        if found is not None:
            return found
    raise ValidationError(
        _("The member has no home community: say which."),
        {"community_id": [_("required: no home unit in a community")]},
    )


def _ensure_not_live(key: str, kind: CheckInKind) -> None:
    if db.session.scalars(select(CheckIn.id).where(CheckIn.live_key == key)).first() is not None:
        raise _already_live(kind)


def _already_live(kind: CheckInKind) -> ConflictError:
    field = "member_id" if kind is CheckInKind.MEMBER else "org_id"
    return ConflictError(
        _("A pending or confirmed check-in exists: end it first."), {field: [_("has a pending or confirmed check-in")]}
    )


# --- deciding and ending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A volunteer account's login, shown once: in the response of the confirmation that opened it."""

    username: str
    password: str


@dataclass(frozen=True)
class Decision:
    check_in: CheckIn
    credentials: Credentials | None = None


def confirm(actor: Caller, check_in_id: int, note: str | None) -> Decision:
    """The community's supervisor (or an admin) confirms: a member becomes a volunteer of the community."""
    check_in = _decidable(actor, check_in_id, "confirm")
    credentials = _make_volunteer(check_in) if check_in.kind is CheckInKind.MEMBER else None
    _decide(actor, check_in, CheckInStatus.CONFIRMED, note)
    return Decision(check_in, credentials)


def reject(actor: Caller, check_in_id: int, note: str) -> CheckIn:
    """The community's supervisor (or an admin) rejects, saying why; the member may register again."""
    check_in = _decidable(actor, check_in_id, "reject")
    _decide(actor, check_in, CheckInStatus.REJECTED, note)
    check_in.live_key = None
    db.session.flush()
    return check_in


def end(actor: Caller, check_in_id: int, data: Mapping[str, Any]) -> CheckIn:
    """End a pending or confirmed check-in on a day (today by default): its volunteer area is withdrawn."""
    check_in = get_check_in(actor, check_in_id)
    if not (_decides(actor, check_in) or _manages(actor, check_in) or _is_own(actor, check_in)):
        raise ForbiddenError(
            _("Only the member, the party staff over them or the community's supervisor end it."),
            {"role": [_("not yours")]},
        )
    if check_in.status not in LIVE_STATUSES:
        raise _transition_error(check_in, "end")
    ended_on = data.get("ended_on") or _today()
    if ended_on > _today():
        raise ValidationError(_("A check-in ends today or earlier."), {"ended_on": [_("in the future")]})
    if ended_on < check_in.created_at.astimezone(BEIJING).date():
        raise ValidationError(_("A check-in ends after it began."), {"ended_on": [_("before the check-in")]})
    if check_in.status is CheckInStatus.CONFIRMED and check_in.account_id is not None:
        _withdraw_volunteer(check_in)
    check_in.status = CheckInStatus.ENDED
    check_in.live_key = None
    check_in.ended_on = ended_on
    check_in.ended_by = actor.id
    check_in.end_reason = data["reason"]
    check_in.updated_at = utcnow()
    db.session.flush()
    return check_in


def _decidable(actor: Caller, check_in_id: int, action: str) -> CheckIn:
    check_in = get_check_in(actor, check_in_id)
    if not _decides(actor, check_in):
        raise ForbiddenError(
            _("Only the community's supervisor or an admin may %(action)s it.", action=ACTION_NAMES[action]),
            {"role": [_("supervisor of the community")]},
        )
    if check_in.status is not CheckInStatus.PENDING:
        raise _transition_error(check_in, action)
    return check_in


def _decide(actor: Caller, check_in: CheckIn, status: CheckInStatus, note: str | None) -> None:
    now = utcnow()
    check_in.status = status
    check_in.decided_by = actor.id
    check_in.decided_at = now
    check_in.decision_note = note
    check_in.updated_at = now
    db.session.flush()


# Whole sentences per action; %(status)s is the status's name (kernel.CHECK_IN_STATUSES).
REFUSALS: Final = {
    "confirm": _l("A check-in that is %(status)s cannot be confirmed."),
    "reject": _l("A check-in that is %(status)s cannot be rejected."),
    "end": _l("A check-in that is %(status)s cannot be ended."),
}
ACTION_NAMES: Final = {"confirm": _l("confirm"), "reject": _l("reject"), "end": _l("end")}


def _transition_error(check_in: CheckIn, action: str) -> InvalidTransitionError:
    allowed = {CheckInStatus.PENDING: ["confirm", "reject", "end"], CheckInStatus.CONFIRMED: ["end"]}
    return InvalidTransitionError(
        REFUSALS[action] % {"status": name_of(CHECK_IN_STATUSES, check_in.status)},
        {"status": check_in.status.value, "allowed_actions": allowed.get(check_in.status, [])},
    )


def _decides(actor: Caller, check_in: CheckIn) -> bool:
    """Admins, and supervisors whose grid scope covers the community."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.SUPERVISOR or actor.scope_path is None:
        return False
    community = db.session.get(GridUnit, check_in.community_id)
    return community is not None and community.path.startswith(actor.scope_path)


def _manages(actor: Caller, check_in: CheckIn) -> bool:
    org = db.session.get(PartyOrg, check_in.org_id)
    return org is not None and management_scope(actor).covers(org.path)


def _is_own(actor: Caller, check_in: CheckIn) -> bool:
    if check_in.member_id is None:
        return False
    member = db.session.get(PartyMember, check_in.member_id)
    return member is not None and member.account_id == actor.id


def _make_volunteer(check_in: CheckIn) -> Credentials | None:
    """The member's account volunteers in the community from now on; a new account's login is returned once."""
    member = db.session.get(PartyMember, check_in.member_id)
    assert member is not None
    if not member.active:
        raise ConflictError(_("That member has left since registering."), {"member_id": [_("inactive member")]})
    account = db.session.get(Account, member.account_id) if member.account_id is not None else None
    if account is None:
        opened = accounts.open_volunteer_account(
            username_base=USERNAME_BASE.format(id=member.id),
            display_name=member.name,
            phone=None,  # the member's number is personal data of the register (masked, reads logged): not copied
            grid_id=check_in.community_id,
        )
        members.link_new_account(member, opened.account.id)
        return _opened(check_in, opened)
    if not account.active:
        if not _made_for_a_check_in(member, account):
            raise ConflictError(_("The member's account is inactive."), {"member_id": [_("account inactive")]})
        return _opened(check_in, accounts.reopen_volunteer_account(account.id, check_in.community_id))
    if not accounts.can_volunteer(account):
        raise ConflictError(
            _("The member's account is a %(role)s account, which takes no tickets.", role=account.role.value),
            {"member_id": [_("linked to a %(role)s account", role=account.role.value)]},
        )
    accounts.grant_volunteer_area(account.id, check_in.community_id)
    check_in.account_id = account.id
    return None


def _opened(check_in: CheckIn, opened: accounts.OpenedAccount) -> Credentials:
    check_in.account_id = opened.account.id
    check_in.account_created = True
    return Credentials(opened.account.username, opened.password)


def _made_for_a_check_in(member: PartyMember, account: Account) -> bool:
    stmt = select(CheckIn.id).where(
        CheckIn.member_id == member.id, CheckIn.account_id == account.id, CheckIn.account_created.is_(True)
    )
    return db.session.scalars(stmt).first() is not None


def _withdraw_volunteer(check_in: CheckIn) -> None:
    """The community is no longer the account's to volunteer in: its area goes; an account made for the check-in
    (still a volunteer placed there) is closed."""
    account = db.session.get(Account, check_in.account_id)
    if account is None:
        return
    made_here = (
        check_in.account_created and account.role is Role.VOLUNTEER and account.scope_grid_id == check_in.community_id
    )
    if made_here:
        accounts.close_volunteer_account(account.id)
    else:
        accounts.withdraw_volunteer_area(account.id, check_in.community_id)


def confirmed_check_in_of(member_id: int) -> CheckIn | None:
    """The member's confirmed check-in, if any (at most one is live)."""
    stmt = select(CheckIn).where(CheckIn.member_id == member_id, CheckIn.status == CheckInStatus.CONFIRMED)
    return db.session.scalars(stmt).first()


def _today() -> date:
    return utcnow().astimezone(BEIJING).date()
