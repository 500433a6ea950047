"""Rules for logging in and for managing accounts. Plain functions over plain values."""

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import bindparam, delete, exists, func, or_, select, update

from auth import devices, throttle, tokens
from auth.models import Account, DeviceToken, VolunteerArea
from auth.own import AccountView, find_account_view
from auth.passwords import check_policy, hash_password, spend_verification_time, verify_password
from auth.tokens import TokenGrant
from grid import service as grid_service
from grid.events import UnitRemoving
from grid.models import GridUnit
from grid.scope import management_scope
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.names import role as role_name
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from kernel.scope import Scope, ensure_manageable

log = logging.getLogger("grid.auth")
# What a supervisor may create and manage; admins manage every role.
SUPERVISED_ROLES = frozenset({Role.WORKER, Role.VOLUNTEER})
# Roles with no grid unit: admins cover the whole territory; party staff are placed on a party organisation
# subtree instead (by an admin, through /api/v1/party/staff).
UNPLACED_ROLES = frozenset({Role.ADMIN, Role.PARTY_STAFF})
# Built once, like auth.principal.PRINCIPAL_QUERY; who may see the account is `_is_visible`.
ACCOUNT_BY_ID = select(Account).where(Account.id == bindparam("account_id"))


# --- logging in --------------------------------------------------------------------------------


def login(username: str, password: str, *, address: str, device_token: str | None = None) -> TokenGrant:
    """Check the credentials and open a session; failures are counted and throttled (`auth.throttle`).

    A device token this account earned on this device (`auth.devices`) lets it past the address brake and the
    lock. Failure records must outlive the refused request, so this commits them itself.
    """
    now = utcnow()
    name = normalize_username(username)
    account = find_account_by_username(name)
    device = devices.find_trusted(account, device_token, now) if account is not None and account.active else None
    if device is None:
        throttle.ensure_not_locked(account, name, now)
        throttle.take_address_attempt(address, now)
    if account is None:
        spend_verification_time(password)  # an unknown name costs what a wrong password costs
    if account is None or not verify_password(account.password_hash, password) or not account.active:
        _record_failure(account, name, address=address, device=device, now=now)
    if device is None:
        throttle.give_back_address_attempt(address)
    else:
        devices.revoke(device, "replaced")
    throttle.reset_account_failures(account)
    return tokens.open_session(account, with_device_token=True)


def _record_failure(
    account: Account | None, name: str, *, address: str, device: DeviceToken | None, now: datetime
) -> NoReturn:
    """Count a failed login everywhere it counts, keep the counts, and refuse: 401, or 429 when this failure locked
    the account (or name). A device past the brakes is answered 401: the lock does not apply to it."""
    locked_until = throttle.record_account_failure(account, name, now)
    if device is None:
        throttle.confirm_address_failure(address, now)
    else:
        devices.record_failure(device, now)
        throttle.count_address_failure(address, now)
    db.session.commit()
    if locked_until is not None and device is None:
        raise throttle.locked_error(locked_until, now)
    raise UnauthorizedError(_("Wrong username or password."))


def refresh(account: Account, claims: Mapping[str, Any]) -> TokenGrant:
    """Rotate a refresh token; a reused one revokes its whole login family (kept despite the 401)."""
    grant = tokens.rotate(account, dict(claims))
    if grant is None:
        tokens.revoke_session(claims["sid"], "refresh_reuse")
        db.session.commit()
        log.warning("refresh token reuse: session revoked", extra={"account_id": account.id})
        raise UnauthorizedError(_("This refresh token was already used; the session is closed."))
    return grant


def logout(session_id: str) -> None:
    tokens.revoke_session(session_id, "logout")


def change_password(account: Account, *, old_password: str, new_password: str, session_id: str) -> None:
    """Change one's own password; every other session of the account ends."""
    now = utcnow()
    throttle.ensure_password_attempts_left(account, now)
    if not verify_password(account.password_hash, old_password):
        # Nothing of this request stays (its Idempotency-Key included: a retry must run again) but the count.
        db.session.rollback()
        throttle.record_password_failure(account, now)
        db.session.commit()
        raise ValidationError(_("The current password is wrong."), {"old_password": [_("does not match")]})
    check_policy(new_password, username=account.username, field="new_password")
    _set_password(account, new_password)
    tokens.revoke_all_sessions(account.id, "password_changed", except_session=session_id)


def normalize_username(username: str) -> str:
    """The one spelling of a name: the login brakes count unknown names by it, as accounts store theirs."""
    return username.strip().lower()


def find_account_by_username(username: str) -> Account | None:
    return db.session.scalars(select(Account).where(Account.username == normalize_username(username))).one_or_none()


# --- managing accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFilters:
    role: Role | None = None
    q: str | None = None
    active: bool | None = None


def list_accounts(actor: Caller, filters: AccountFilters, *, limit: int, cursor: str | None) -> Page[Account]:
    """Accounts the actor may see: all for admins, workers and volunteers in a supervisor's subtree."""
    stmt = _visible_accounts(actor)
    if filters.role is not None:
        stmt = stmt.where(Account.role == filters.role)
    if filters.active is not None:
        stmt = stmt.where(Account.active == filters.active)
    if filters.q:
        # contains(autoescape): "_" and "%" in q are literal characters, not LIKE wildcards.
        needle = filters.q.lower()
        stmt = stmt.where(
            or_(
                Account.username.contains(needle, autoescape=True),
                func.lower(Account.display_name).contains(needle, autoescape=True),
            )
        )
    fingerprint = {"role": filters.role, "q": filters.q, "active": filters.active, "actor": actor.id}
    return paginate(stmt, order_by=[Account.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)


def get_account(actor: Caller, account_id: int) -> Account:
    """An account the actor may see; 404 otherwise (its existence is private)."""
    account = db.session.scalars(ACCOUNT_BY_ID, {"account_id": account_id}).one_or_none()
    if account is None or not _is_visible(actor, account):
        raise NotFoundError(_("No such account."))
    return account


def get_account_view(actor: Caller, account_id: int) -> AccountView:
    """`get_account` read as plain rows, for a read that only shows the account; the same 404s."""
    account = find_account_view(account_id)
    if account is None or not _is_visible(actor, account):
        raise NotFoundError(_("No such account."))
    return account


def create_account(actor: Caller, data: Mapping[str, Any]) -> Account:
    role = Role(data["role"])
    _ensure_may_manage_role(actor, role)
    scope_grid = _placement(management_scope(actor), role, data.get("scope_grid_id"))
    username = data["username"].lower()
    check_policy(data["password"], username=username)
    if find_account_by_username(username) is not None:
        raise ConflictError(_("That username is taken."), {"username": [_("already exists")]})
    account = Account(
        username=username,
        display_name=data["display_name"],
        role=role,
        scope_grid=scope_grid,
        phone=data.get("phone"),
        active=data.get("active", True),
        password_hash=hash_password(data["password"]),
    )
    db.session.add(account)
    db.session.flush()
    log.info("account created", extra={"account_id": account.id, "by": actor.id, "role": role.value})
    return account


def update_account(actor: Caller, account_id: int, changes: Mapping[str, Any]) -> Account:
    account = get_account(actor, account_id)
    was_admin = account.role is Role.ADMIN
    if was_admin:
        # One change to an admin at a time, so two cannot each leave the other as "the last admin".
        db.session.execute(select(Account.id).where(Account.role == Role.ADMIN).order_by(Account.id).with_for_update())
    _ensure_may_manage_role(actor, account.role)
    role = Role(changes.get("role", account.role))
    _ensure_may_manage_role(actor, role)
    if "role" in changes or "scope_grid_id" in changes:
        grid_id = changes.get("scope_grid_id", account.scope_grid_id)
        account.scope_grid = _placement(management_scope(actor), role, grid_id)
        account.role = role
    for name in ("display_name", "phone"):
        if name in changes:
            setattr(account, name, changes[name])
    if "password" in changes:
        check_policy(changes["password"], username=account.username)
        _set_password(account, changes["password"])
        tokens.revoke_all_sessions(account.id, "password_reset")
    if changes.get("active") is False and account.active:
        account.active = False
        tokens.revoke_all_sessions(account.id, "deactivated")
    elif changes.get("active") is True:
        account.active = True
    if was_admin:
        _ensure_an_admin_remains()
    db.session.flush()
    return account


def create_initial_account(
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    scope_grid_id: int | None = None,
    phone: str | None = None,
) -> Account:
    """For the CLI and the demo seed: no acting account, same rules on the password and the name."""
    username = username.strip().lower()
    check_policy(password, username=username)
    if find_account_by_username(username) is not None:
        raise ConflictError(_("That username is taken."), {"username": [_("already exists")]})
    scope_grid = _placement(Scope.everything(), role, scope_grid_id)
    account = Account(
        username=username,
        display_name=display_name or username,
        role=role,
        scope_grid=scope_grid,
        phone=phone,
        password_hash=hash_password(password),
    )
    db.session.add(account)
    db.session.flush()
    return account


def hold_unit_with_accounts(event: UnitRemoving) -> None:
    """A unit where accounts are placed, or volunteer, may not be deleted: they would lose their scope
    (`UnitRemoving`)."""
    placed = exists().where(Account.scope_grid_id == event.unit_id)
    volunteering = exists().where(VolunteerArea.grid_id == event.unit_id)
    if db.session.scalar(select(or_(placed, volunteering))):
        event.holders.append(N_("accounts"))


# --- volunteer areas: what a higher context grants an account (双报到) ------------------------------------------
# The party layer calls these; auth knows nothing of why. An area changes what the account sees of tickets, so each
# change moves the account's `updated_at` (part of the ticket pages' cache key, like its role and unit).

VOLUNTEER_ROLES = frozenset({Role.VOLUNTEER, Role.WORKER, Role.SUPERVISOR})  # the roles that may take tickets
ONE_TIME_PASSWORD_BYTES = 12  # 16 URL-safe characters


@dataclass(frozen=True)
class OpenedAccount:
    """A volunteer account just made, with its one-time password: shown once, never stored in clear."""

    account: Account
    password: str


def can_volunteer(account: Account) -> bool:
    """Whether a volunteer area would let the account take tickets (admins and party staff take none)."""
    return account.role in VOLUNTEER_ROLES


def grant_volunteer_area(account_id: int, grid_id: int) -> None:
    """The account volunteers in the unit's subtree too (no change when it already does)."""
    already = db.session.get(VolunteerArea, (account_id, grid_id))
    if already is None:
        db.session.add(VolunteerArea(account_id=account_id, grid_id=grid_id))
        _touch(account_id)
        db.session.flush()


def withdraw_volunteer_area(account_id: int, grid_id: int) -> None:
    """The account no longer volunteers in the unit (its own scope stays as it is)."""
    gone = db.session.execute(
        delete(VolunteerArea).where(VolunteerArea.account_id == account_id, VolunteerArea.grid_id == grid_id)
    )
    if gone.rowcount:
        _touch(account_id)


def volunteer_area_ids(account_id: int) -> list[int]:
    """The units an account volunteers in beyond its own scope."""
    stmt = select(VolunteerArea.grid_id).where(VolunteerArea.account_id == account_id).order_by(VolunteerArea.grid_id)
    return list(db.session.scalars(stmt))


def open_volunteer_account(*, username_base: str, display_name: str, phone: str | None, grid_id: int) -> OpenedAccount:
    """A new active volunteer placed on the unit, under the first free username from `username_base`, with a
    random one-time password returned once (the person changes it with `POST /auth/password`)."""
    username, suffix = username_base.lower(), 1
    while find_account_by_username(username) is not None:
        suffix += 1
        username = f"{username_base.lower()}-{suffix}"
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    unit = grid_service.find_unit(grid_id)
    account = Account(
        username=username,
        display_name=display_name,
        role=Role.VOLUNTEER,
        scope_grid=unit,
        phone=phone,
        active=True,
        password_hash=hash_password(password),
    )
    db.session.add(account)
    db.session.flush()
    log.info("volunteer account opened", extra={"account_id": account.id})
    return OpenedAccount(account, password)


def reopen_volunteer_account(account_id: int, grid_id: int) -> OpenedAccount:
    """A closed volunteer account active again on the unit, with a new one-time password (the old one may have been
    handed to someone else meanwhile)."""
    account = db.session.get(Account, account_id)
    assert account is not None
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    account.scope_grid = grid_service.find_unit(grid_id)
    account.active = True
    _set_password(account, password)
    db.session.flush()
    return OpenedAccount(account, password)


def close_volunteer_account(account_id: int) -> None:
    """Deactivate a volunteer account (its logins end), as an admin's PATCH `active: false` would."""
    account = db.session.get(Account, account_id)
    if account is not None and account.active:
        account.active = False
        tokens.revoke_all_sessions(account.id, "deactivated")
        db.session.flush()


def _touch(account_id: int) -> None:
    db.session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )


def _visible_accounts(actor: Caller) -> Any:
    """The accounts the actor may see, as a query for lists; `_is_visible` is the same rule for one account."""
    stmt = select(Account)
    if actor.role is Role.ADMIN:
        return stmt
    scope = management_scope(actor)
    return (
        stmt.join(GridUnit, GridUnit.id == Account.scope_grid_id)
        .where(Account.role.in_(SUPERVISED_ROLES))
        .where(scope.clause(GridUnit.path))
    )


def _is_visible(actor: Caller, account: Account | AccountView) -> bool:
    """`_visible_accounts` for one loaded account, so a read by id needs no statement of its own."""
    if actor.role is Role.ADMIN:
        return True
    home = account.scope_path
    return account.role in SUPERVISED_ROLES and home is not None and management_scope(actor).covers(home)


def _ensure_may_manage_role(actor: Caller, role: Role) -> None:
    if actor.role is Role.ADMIN:
        return
    if actor.role is not Role.SUPERVISOR or role not in SUPERVISED_ROLES:
        raise ForbiddenError(
            _("You may not manage %(role)s accounts.", role=role_name(role)), {"role": [_("worker or volunteer only")]}
        )


def _placement(reach: Scope, role: Role, grid_id: int | None) -> GridUnit | None:
    """The unit an account belongs to: none for admins and party staff, required and within `reach` otherwise."""
    if role in UNPLACED_ROLES:
        if grid_id is not None:
            raise ValidationError(
                _("A %(role)s account has no grid unit.", role=role_name(role)),
                {"scope_grid_id": [_("must be empty for %(role)s", role=role_name(role))]},
            )
        return None
    if grid_id is None:
        raise ValidationError(
            _("This role needs a grid unit."), {"scope_grid_id": [_("required for %(role)s", role=role_name(role))]}
        )
    unit = grid_service.find_unit(grid_id)
    if unit is None:
        raise ValidationError(_("No such grid unit."), {"scope_grid_id": [_("no such grid unit")]})
    ensure_manageable(reach, unit.path, N_("grid unit"))
    return unit


def _set_password(account: Account, password: str) -> None:
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()


def _ensure_an_admin_remains() -> None:
    db.session.flush()
    remaining = db.session.scalar(
        select(func.count()).select_from(Account).where(Account.role == Role.ADMIN, Account.active.is_(True))
    )
    if not remaining:
        raise ConflictError(_("This would leave no active admin."), {"active": [_("the last admin must stay")]})
