"""Access and refresh tokens, login sessions (refresh families) and their revocation.

Access tokens carry the session id (`sid`); revoking the session kills every token of that login.
Refresh tokens rotate: each is good once, and presenting a used one revokes its whole family,
because only a thief or a replay would hold a refresh token that was already exchanged.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, g
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token
from sqlalchemy import update

from auth.models import Account, LoginSession, RefreshToken
from auth.principal import Principal, find_principal
from kernel.clock import utcnow
from kernel.extensions import db


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: int
    user: Account
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret


def open_session(account: Account) -> TokenGrant:
    """A new login: a new session (family) with its first pair of tokens."""
    session = LoginSession(id=uuid.uuid4().hex, account_id=account.id)
    db.session.add(session)
    return _grant(account, session.id)


def rotate(account: Account, claims: dict[str, Any]) -> TokenGrant | None:
    """Exchange a refresh token once; None when it was already used (the caller revokes the family)."""
    now = utcnow()
    used = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == claims["jti"], RefreshToken.used_at.is_(None), RefreshToken.expires_at > now)
        .values(used_at=now)
    )
    if used.rowcount != 1:
        return None
    return _grant(account, claims["sid"])


def revoke_session(session_id: str, reason: str) -> None:
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def revoke_all_sessions(account_id: int, reason: str, *, except_session: str | None = None) -> None:
    stmt = update(LoginSession).where(LoginSession.account_id == account_id, LoginSession.revoked_at.is_(None))
    if except_session is not None:
        stmt = stmt.where(LoginSession.id != except_session)
    db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))


def _grant(account: Account, session_id: str) -> TokenGrant:
    refresh_jti = str(uuid.uuid4())
    expires_at: datetime = utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    db.session.add(RefreshToken(jti=refresh_jti, session_id=session_id, expires_at=expires_at))
    identity = str(account.id)
    access = create_access_token(identity, additional_claims={"sid": session_id, "role": account.role.value})
    refresh = create_refresh_token(identity, additional_claims={"sid": session_id, "jti": refresh_jti})
    lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return TokenGrant(access, refresh, int(lifetime.total_seconds()), account)


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
        found = find_principal(session_id, int(subject))
        if found is None:
            return True
        g.token_principal, revoked = found
        return revoked

    @jwt.user_lookup_loader
    def active_principal(_header: dict[str, Any], _payload: dict[str, Any]) -> Principal | None:
        principal: Principal | None = g.pop("token_principal", None)
        return principal
