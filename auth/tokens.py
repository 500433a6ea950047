"""Access and refresh tokens, login sessions (refresh families) and their revocation.

Access tokens carry the session id (`sid`); revoking the session kills every token of that login.
Refresh tokens rotate: each is good once, and presenting a used one revokes its whole family,
because only a thief or a replay would hold a refresh token that was already exchanged.

The grace window: a phone on 4G whose refresh response was lost sends the same refresh token again. Within
REFRESH_REUSE_GRACE_SECONDS (60) of the rotation, while the successor refresh token has not been exchanged
itself, that retry gets the very same pair back instead of a revocation. Nothing secret is stored for this:
a pair is a deterministic function of (account, session, successor jti, issue instant), because every claim
that would vary (iat, nbf, exp, both jtis) is fixed by us and HS256 signatures are deterministic. The stored
row of the successor (its jti, its `issued_at` = the `iat` in whole seconds) and the predecessor's
`replaced_by` are enough to sign the same two strings again with the app's key; a database reader learns
nothing they could present. Concurrent refreshes of one token thus all get the one pair the winner minted.
"""

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from flask import current_app, g
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token
from sqlalchemy import select, update

from auth import devices
from auth.models import Account, LoginSession, RefreshToken
from auth.own import principal_and_own_account, wants_own_account
from auth.principal import Principal, find_principal, principal_and_row
from kernel.clock import utcnow
from kernel.extensions import db
from kernel.token_reads import read_with_the_token


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: int
    user: Account
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    # Login only: the token of this device for its next logins past the brakes (`auth.devices`).
    device_token: str | None = None


# Access tokens' jti derives from their refresh token's, so a pair can be signed again identically.
_ACCESS_JTI_NAMESPACE = uuid.UUID("6f1d3c1e-2b1a-4c59-9d0e-4a8f3f1b7c21")


def open_session(account: Account, *, with_device_token: bool = False) -> TokenGrant:
    """A new login: a new session (family) with its first pair of tokens, and a device token if asked."""
    session = LoginSession(id=uuid.uuid4().hex, account_id=account.id)
    db.session.add(session)
    grant = _grant(account, session.id, str(uuid.uuid4()))
    if not with_device_token:
        return grant
    db.session.flush()  # the device token refers to the session
    return dataclasses.replace(grant, device_token=devices.issue(account, session.id))


def rotate(account: Account, claims: dict[str, Any]) -> TokenGrant | None:
    """Exchange a refresh token once; within the grace window a retry gets the same pair again (module
    docstring); None when it was already used otherwise (the caller revokes the family)."""
    now = utcnow()
    successor = str(uuid.uuid4())
    used = db.session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == claims["jti"],
            RefreshToken.session_id == claims["sid"],
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now, replaced_by=successor)
    )
    if used.rowcount == 1:
        return _grant(account, claims["sid"], successor)
    return _same_pair_again(account, claims, now=now)


def _same_pair_again(account: Account, claims: dict[str, Any], *, now: datetime) -> TokenGrant | None:
    """The pair the rotation of this token gave, when it was rotated within the grace window, in this session,
    and its successor is still unused and alive; else None."""
    grace = timedelta(seconds=int(current_app.config.get("REFRESH_REUSE_GRACE_SECONDS", 60)))
    if grace <= timedelta(0):
        return None
    rotated = db.session.execute(
        select(RefreshToken.used_at, RefreshToken.replaced_by).where(
            RefreshToken.jti == claims["jti"], RefreshToken.session_id == claims["sid"]
        )
    ).one_or_none()
    if rotated is None or rotated.used_at is None or rotated.replaced_by is None or now - rotated.used_at > grace:
        return None
    successor = db.session.execute(
        select(RefreshToken.jti, RefreshToken.issued_at).where(
            RefreshToken.jti == rotated.replaced_by,
            RefreshToken.session_id == claims["sid"],
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
    ).one_or_none()
    if successor is None:
        return None
    grant = _sign(account, claims["sid"], successor.jti, successor.issued_at)
    remaining = successor.issued_at + current_app.config["JWT_ACCESS_TOKEN_EXPIRES"] - datetime.now(UTC)
    return dataclasses.replace(grant, expires_in=max(int(remaining.total_seconds()), 0))


def revoke_session(session_id: str, reason: str) -> None:
    """End one login, and the device token it earned."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    devices.revoke_of_sessions([session_id], reason)


def revoke_all_sessions(account_id: int, reason: str, *, except_session: str | None = None) -> None:
    """End every login of the account (but `except_session`), and the device tokens they earned."""
    stmt = update(LoginSession).where(LoginSession.account_id == account_id, LoginSession.revoked_at.is_(None))
    sessions = select(LoginSession.id).where(LoginSession.account_id == account_id)
    if except_session is not None:
        stmt = stmt.where(LoginSession.id != except_session)
        sessions = sessions.where(LoginSession.id != except_session)
    db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))
    devices.revoke_of_sessions(sessions, reason)


def _grant(account: Account, session_id: str, refresh_jti: str) -> TokenGrant:
    """A new pair: its refresh token's row (jti and issue instant), and the two tokens signed."""
    issued = datetime.now(UTC).replace(microsecond=0)  # the JWTs' own clock: `iat` is checked against it
    expires_at: datetime = utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    db.session.add(RefreshToken(jti=refresh_jti, session_id=session_id, issued_at=issued, expires_at=expires_at))
    return _sign(account, session_id, refresh_jti, issued)


def _sign(account: Account, session_id: str, refresh_jti: str, issued: datetime) -> TokenGrant:
    """The pair of tokens for this refresh jti issued at `issued`: the same strings every time."""
    access_lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    moments: dict[str, Any] = {"iat": issued}
    if current_app.config.get("JWT_ENCODE_NBF", True):
        moments["nbf"] = issued
    identity = str(account.id)
    access_jti = str(uuid.uuid5(_ACCESS_JTI_NAMESPACE, refresh_jti))
    csrf = str(uuid.uuid5(_ACCESS_JTI_NAMESPACE, f"csrf:{refresh_jti}"))  # unused with header tokens; fixed too
    access = create_access_token(
        identity,
        additional_claims={
            "sid": session_id,
            "role": account.role.value,
            "jti": access_jti,
            "csrf": csrf,
            **moments,
            "exp": issued + access_lifetime,
        },
    )
    refresh = create_refresh_token(
        identity,
        additional_claims={
            "sid": session_id,
            "jti": refresh_jti,
            "csrf": csrf,
            **moments,
            "exp": issued + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        },
    )
    return TokenGrant(access, refresh, int(access_lifetime.total_seconds()), account)


def register_token_loaders(jwt: JWTManager) -> None:
    """One indexed query per request: the caller (`Principal`) and whether their session was revoked."""

    @jwt.token_in_blocklist_loader
    def session_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        session_id, subject = payload.get("sid"), payload.get("sub")
        # Only shapes the database can compare without an error (no NUL byte, no number past BIGINT).
        if not (isinstance(session_id, str) and session_id.isascii() and session_id.isalnum()):
            return True
        if not (isinstance(subject, str) and subject.isascii() and subject.isdigit() and len(subject) <= 18):
            return True
        found = _lookup()(session_id, int(subject))
        if found is None:
            return True
        g.token_principal, revoked = found
        return revoked

    def _lookup() -> Callable[[str, int], tuple[Principal | None, bool] | None]:
        """The token check's query: the principal's, or one that also reads what the view marked itself with."""
        if wants_own_account():
            return principal_and_own_account
        read = read_with_the_token()
        return find_principal if read is None else partial(principal_and_row, read)

    @jwt.user_lookup_loader
    def active_principal(_header: dict[str, Any], _payload: dict[str, Any]) -> Principal | None:
        principal: Principal | None = g.pop("token_principal", None)
        return principal
