"""Device tokens (OWASP "device cookies"): a device that logged in to an account may log in to it again past the
login brakes, so a tripped office address or a lock an attacker caused cannot shut the real user out.

A token is `<nonce>.<signature>`: 32 random bytes, and an HMAC-SHA256 with the app's SECRET_KEY over the account id
and the nonce. A token of another account or a forged one fails the signature before any query; the database
holds only the nonce's SHA-256, so a reader of it learns no token. A token dies with the login that earned it
(logout, refresh-token reuse, every session of the account on a password change or deactivation: `auth.tokens`),
after the refresh-token lifetime, and is replaced by each login that presents it. Its own wrong passwords are
capped like an account's: past LOGIN_FAILURES_PER_ACCOUNT in the window it admits no more until the window ends.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

from flask import current_app
from sqlalchemy import case, select, update

from auth.models import Account, DeviceToken
from kernel.clock import utcnow
from kernel.extensions import db
from kernel.signing import equal

HEADER: Final = "X-Device-Token"
# A longer header is not one of ours: it is not even hashed.
MAX_LENGTH: Final = 128


def issue(account: Account, session_id: str) -> str:
    """A new device token for the account, bound to the login (session) that earned it."""
    nonce = secrets.token_urlsafe(32)
    db.session.add(
        DeviceToken(
            account_id=account.id,
            session_id=session_id,
            token_hash=_digest(nonce),
            expires_at=utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
            failed_logins=0,
        )
    )
    return f"{nonce}.{_signature(account.id, nonce)}"


def find_trusted(account: Account, token: str | None, now: datetime) -> DeviceToken | None:
    """The account's device this token names, when it may pass the brakes now; None for anything else."""
    nonce = _verified_nonce(account.id, token)
    if nonce is None:
        return None
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    worn_out = (DeviceToken.failed_logins >= current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]) & (
        DeviceToken.failed_logins_since > now - window
    )
    return db.session.scalars(
        select(DeviceToken).where(
            DeviceToken.token_hash == _digest(nonce),
            DeviceToken.account_id == account.id,
            DeviceToken.revoked_at.is_(None),
            DeviceToken.expires_at > now,
            ~worn_out,
        )
    ).one_or_none()


def record_failure(device: DeviceToken, now: datetime) -> None:
    """A wrong password presented with this device's token (atomic: concurrent failures all count)."""
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    window_open = DeviceToken.failed_logins_since > now - window
    db.session.execute(
        update(DeviceToken)
        .where(DeviceToken.id == device.id)
        .values(
            failed_logins=case((window_open, DeviceToken.failed_logins + 1), else_=1),
            failed_logins_since=case((window_open, DeviceToken.failed_logins_since), else_=now),
        )
    )


def revoke(device: DeviceToken, reason: str) -> None:
    db.session.execute(
        update(DeviceToken)
        .where(DeviceToken.id == device.id, DeviceToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def revoke_of_sessions(session_ids: object, reason: str) -> None:
    """Revoke the device tokens earned by these logins (a select of session ids, or a list)."""
    db.session.execute(
        update(DeviceToken)
        .where(DeviceToken.session_id.in_(session_ids), DeviceToken.revoked_at.is_(None))  # type: ignore[arg-type]
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def _verified_nonce(account_id: int, token: str | None) -> str | None:
    if not token or len(token) > MAX_LENGTH or not token.isascii():
        return None
    nonce, _dot, signature = token.rpartition(".")
    if not nonce or not equal(signature, _signature(account_id, nonce)):
        return None
    return nonce


def _signature(account_id: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"device-token:{account_id}:{nonce}".encode(), hashlib.sha256).hexdigest()


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()
