"""Rules of the member register: who reads and manages which members, their classes, and the account link.

A member is never deleted: leaving is a dated state (`left_on`, `active: false`). A member's phone is personal
data: only the member reads it in full with the record; anyone else sees it masked, and admins and party staff
over the member read it through `reveal_phone`, each read logged (`PersonalDataRead`). Whether an account is a
party member is kept on the account (`accounts.party_member`) here, in the same transaction as the change, so
tickets and worker profiles show it (党员亮身份) without asking this layer.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from auth.models import Account
from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.codes import CodedList
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.pagination import Page, paginate
from kernel.principals import Caller
from kernel.privacy import mask_phone
from kernel.scope import Scope
from party.members.models import MemberClass, PartyMember
from party.orgs.models import PartyOrg
from party.orgs.service import refresh_unit_summary
from party.scope import management_scope, org_scope_of
from tasks.tickets.models import PersonalDataRead

log = logging.getLogger("grid.party")

PHONE_SUBJECT: Final = "party_member_phone"


# --- member classes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultClass:
    code: str
    name: str
    position: int


DEFAULT_CLASSES: Final = (
    DefaultClass("serving", "在职党员", 1),
    DefaultClass("retired", "离退休党员", 2),
    DefaultClass("mobile", "流动党员", 3),
    DefaultClass("difficulty", "困难党员", 4),
)


CLASSES: Final = CodedList(
    MemberClass, what=N_("member class"), fields={"name": None, "position": 0, "active": True}, defaults=DEFAULT_CLASSES
)
seed_default_classes = CLASSES.seed


# --- what a caller sees of a member ----------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    """A member as one caller may see them: the phone in full only for the member themself."""

    id: int
    name: str
    phone: str | None
    org_id: int
    class_code: str
    joined_on: date | None
    left_on: date | None
    account_id: int | None
    home_grid_id: int | None
    active: bool
    created_at: datetime
    updated_at: datetime


def _view(actor: Caller, member: PartyMember) -> MemberView:
    own = member.account_id is not None and member.account_id == actor.id
    return MemberView(
        id=member.id,
        name=member.name,
        phone=member.phone if own else mask_phone(member.phone),
        org_id=member.org_id,
        class_code=member.class_code,
        joined_on=member.joined_on,
        left_on=member.left_on,
        account_id=member.account_id,
        home_grid_id=member.home_grid_id,
        active=member.active,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


# --- reading members --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilters:
    org_id: int | None = None
    class_code: str | None = None
    active: bool | None = None
    q: str | None = None
    home_grid_id: int | None = None
    has_account: bool | None = None


def list_members(actor: Caller, filters: MemberFilters, *, limit: int, cursor: str | None) -> Page[MemberView]:
    """Members of the organisations the actor reads, by id; `org_id` covers the organisation's subtree."""
    stmt = _visible_members(actor)
    if filters.org_id is not None:
        org = _visible_org(actor, filters.org_id)
        inside = select(PartyOrg.id).where(PartyOrg.path.startswith(org.path, autoescape=True))
        stmt = stmt.where(PartyMember.org_id.in_(inside))
    if filters.home_grid_id is not None:
        unit = db.session.get(GridUnit, filters.home_grid_id)
        if unit is None:
            raise NotFoundError(_("No such unit."))
        homes = select(GridUnit.id).where(GridUnit.path.startswith(unit.path, autoescape=True))
        stmt = stmt.where(PartyMember.home_grid_id.in_(homes))
    if filters.class_code is not None:
        stmt = stmt.where(PartyMember.class_code == filters.class_code)
    if filters.active is not None:
        stmt = stmt.where(PartyMember.active.is_(filters.active))
    if filters.has_account is not None:
        linked = PartyMember.account_id.is_not(None)
        stmt = stmt.where(linked if filters.has_account else ~linked)
    if filters.q:
        stmt = stmt.where(func.lower(PartyMember.name).contains(filters.q.lower(), autoescape=True))
    fingerprint = {**filters.__dict__, "actor": actor.id}
    page = paginate(stmt, order_by=[PartyMember.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)
    return Page([_view(actor, member) for member in page.items], page.next_cursor)


def get_member(actor: Caller, member_id: int) -> MemberView:
    """A member the actor may read (their own record, or one in their scope); 404 otherwise."""
    return _view(actor, _visible_member(actor, member_id))


@dataclass(frozen=True)
class MemberContact:
    name: str
    phone: str | None


def reveal_phone(actor: Caller, member_id: int, reason: str) -> MemberContact:
    """The member's full phone for admins and the party staff over them; every read is logged with its reason."""
    member = _visible_member(actor, member_id)
    if not management_scope(actor).covers(member.org.path):
        raise ForbiddenError(
            _("Only the party staff over this member may read their number."), {"role": [_("not yours")]}
        )
    read = PersonalDataRead(account_id=actor.id, subject=PHONE_SUBJECT, subject_id=member.id, reason=reason)
    db.session.add(read)
    log.info("personal data read", extra={"member_id": member.id, "reader_id": actor.id, "subject": PHONE_SUBJECT})
    return MemberContact(member.name, member.phone)


def _visible_members(actor: Caller) -> Select[tuple[PartyMember]]:
    in_scope = _scope_clause(org_scope_of(actor))
    return select(PartyMember).where(or_(in_scope, PartyMember.account_id == actor.id))


def _scope_clause(scope: Scope) -> ColumnElement[bool]:
    if not scope.unrestricted and not scope.paths:
        return false()
    return PartyMember.org_id.in_(select(PartyOrg.id).where(scope.clause(PartyOrg.path)))


def _visible_member(actor: Caller, member_id: int) -> PartyMember:
    member = db.session.scalars(_visible_members(actor).where(PartyMember.id == member_id)).one_or_none()
    if member is None:
        raise NotFoundError(_("No such party member."))
    return member


def _visible_org(actor: Caller, org_id: int) -> PartyOrg:
    org = db.session.get(PartyOrg, org_id)
    if org is None or not org_scope_of(actor).covers(org.path):
        raise NotFoundError(_("No such party organisation."))
    return org


# --- changing members -------------------------------------------------------------------------------


def create_member(actor: Caller, data: Mapping[str, Any]) -> MemberView:
    """Register a member in an organisation the actor manages."""
    member = PartyMember(
        name=data["name"],
        phone=data.get("phone"),
        org_id=_manageable_org(actor, data["org_id"]).id,
        class_code=_active_class(data["class_code"]).code,
        joined_on=data.get("joined_on"),
        left_on=data.get("left_on"),
        home_grid_id=_home(data.get("home_grid_id")),
        active=data.get("active", True),
    )
    if data.get("account_id") is not None:
        member.account_id = _free_account(data["account_id"], member_id=None)
    _check_dates_and_state(member)
    db.session.add(member)
    _flush_link(member)
    _keep_account_flags([member.account_id])
    return _view(actor, member)


def update_member(actor: Caller, member_id: int, changes: Mapping[str, Any]) -> MemberView:
    """Change a member the actor manages; leaving is `left_on` with `active: false`, never a delete."""
    member = _visible_member(actor, member_id)
    if not management_scope(actor).covers(member.org.path):
        raise ForbiddenError(_("That member is outside your scope."), {"scope": [_("outside your party scope")]})
    before = member.account_id
    if "org_id" in changes and changes["org_id"] != member.org_id:
        member.org_id = _manageable_org(actor, changes["org_id"]).id
    if "class_code" in changes and changes["class_code"] != member.class_code:
        member.class_code = _active_class(changes["class_code"]).code
    if "home_grid_id" in changes:
        member.home_grid_id = _home(changes["home_grid_id"])
    if "account_id" in changes and changes["account_id"] != member.account_id:
        account_id = changes["account_id"]
        member.account_id = None if account_id is None else _free_account(account_id, member_id=member.id)
    for name in ("name", "phone", "joined_on", "left_on", "active"):
        if name in changes:
            setattr(member, name, changes[name])
    _check_dates_and_state(member)
    _flush_link(member)
    _keep_account_flags([before, member.account_id])
    if {"name", "active"} & set(changes):
        _refresh_summaries_naming(member)
    return _view(actor, member)


def link_new_account(member: PartyMember, account_id: int) -> None:
    """Link an account just made for a member who had none (双报到), keeping the account's `party_member` flag."""
    member.account_id = account_id
    _flush_link(member)
    _keep_account_flags([account_id])


def _refresh_summaries_naming(member: PartyMember) -> None:
    """A secretary renamed or gone: the summaries of the units their organisations are built on follow."""
    units = db.session.scalars(
        select(PartyOrg.grid_id).where(PartyOrg.secretary_id == member.id, PartyOrg.grid_id.is_not(None))
    )
    for unit_id in set(units):
        refresh_unit_summary(unit_id)


def _manageable_org(actor: Caller, org_id: int) -> PartyOrg:
    org = db.session.get(PartyOrg, org_id)
    if org is None:
        raise ValidationError(_("No such party organisation."), {"org_id": [_("no such organisation")]})
    if not management_scope(actor).covers(org.path):
        raise ForbiddenError(_("That organisation is outside your scope."), {"org_id": [_("outside your party scope")]})
    if not org.active:
        raise ValidationError(_("That organisation is inactive."), {"org_id": [_("inactive organisation")]})
    return org


def _active_class(code: str) -> MemberClass:
    found = CLASSES.get_active(code)
    if found is None:
        raise ValidationError(_("Unknown or inactive member class."), {"class": [_("no such active class")]})
    return found


def _home(grid_id: int | None) -> int | None:
    if grid_id is not None and db.session.get(GridUnit, grid_id) is None:
        raise ValidationError(_("No such unit."), {"home_grid_id": [_("no such unit")]})
    return grid_id


def _free_account(account_id: int, *, member_id: int | None) -> int:
    """An existing account no other member is linked to."""
    if db.session.get(Account, account_id) is None:
        raise ValidationError(_("No such account."), {"account_id": [_("no such account")]})
    holder = db.session.scalars(select(PartyMember.id).where(PartyMember.account_id == account_id)).first()
    if holder is not None and holder != member_id:
        raise ConflictError(
            _("That account is linked to another member."), {"account_id": [_("linked to another member")]}
        )
    return account_id


def _check_dates_and_state(member: PartyMember) -> None:
    if member.joined_on is not None and member.left_on is not None and member.left_on < member.joined_on:
        raise ValidationError(_("A member leaves after joining."), {"left_on": [_("before joined_on")]})
    if member.left_on is not None and member.active:
        raise ValidationError(
            _("A member who left is inactive: send `active: false` with `left_on`."),
            {"active": [_("true with left_on")]},
        )


def _flush_link(member: PartyMember) -> None:
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request linked the same account to another member
        raise ConflictError(
            _("That account is linked to another member."), {"account_id": [_("linked to another member")]}
        ) from None


def _keep_account_flags(account_ids: Iterable[int | None]) -> None:
    """Each account's `party_member`: whether an active member is linked to it; `updated_at` moves with it."""
    for account_id in {account_id for account_id in account_ids if account_id is not None}:
        linked = select(PartyMember.id).where(PartyMember.account_id == account_id, PartyMember.active.is_(True))
        is_member = db.session.scalars(linked).first() is not None
        db.session.execute(
            update(Account)
            .where(Account.id == account_id, Account.party_member != is_member)
            .values(party_member=is_member, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
