"""Brute-force brakes on login. Only failures count, so an office behind one address is never slowed
by its own successful logins.

- Per account, in the database (holds across processes): the failure after the fifth within the
  window locks the account's logins for a while.
- Per address, in flask-limiter's storage (memory, or Redis via RATELIMIT_STORAGE_URI): more than
  thirty failures in the window answer 429.
"""

import logging
import math
import time
from datetime import datetime, timedelta

from flask import current_app
from limits import RateLimitItemPerSecond
from sqlalchemy import case, update

from auth.models import Account
from kernel.errors import RateLimitedError
from kernel.extensions import db, limiter

log = logging.getLogger("grid.auth")


def ensure_not_locked(account: Account, now: datetime) -> None:
    if account.locked_until is None:
        return
    if account.locked_until > now:
        raise RateLimitedError(
            "Too many failed logins for this account; try again later.",
            math.ceil((account.locked_until - now).total_seconds()),
        )
    log.info("account login lock ended", extra={"account_id": account.id})
    account.locked_until = None


def record_account_failure(account: Account, now: datetime) -> None:
    """Count a failure atomically (concurrent failures must all count); lock past the threshold."""
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    window_open = Account.failed_logins_since > now - window
    result = db.session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(
            failed_logins=case((window_open, Account.failed_logins + 1), else_=1),
            failed_logins_since=case((window_open, Account.failed_logins_since), else_=now),
        )
        .returning(Account.failed_logins)
    )
    failures = result.scalar_one()
    if failures > current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]:
        locked_until = now + current_app.config["ACCOUNT_LOCK_DURATION"]
        db.session.execute(update(Account).where(Account.id == account.id).values(locked_until=locked_until))
        log.warning(
            "account login locked",
            extra={"account_id": account.id, "failures": failures, "locked_until": locked_until.isoformat()},
        )
        db.session.commit()
        raise RateLimitedError(
            "Too many failed logins for this account; try again later.",
            math.ceil((locked_until - now).total_seconds()),
        )


def reset_account_failures(account: Account) -> None:
    account.failed_logins = 0
    account.failed_logins_since = None
    account.locked_until = None


def record_address_failure(address: str) -> None:
    """Count a failed login from an address; 429 once it is past the limit."""
    item = _address_limit()
    if limiter.limiter.hit(item, "login-failures", address):
        return
    db.session.commit()  # keep the per-account count of this failure
    raise RateLimitedError(
        "Too many failed logins from this address; try again later.", _seconds_left(item, "login-failures", address)
    )


def ensure_password_attempts_left(account: Account) -> None:
    """A stolen session must not become a way to guess the password: wrong current passwords are capped."""
    item = _password_limit()
    if not limiter.limiter.test(item, "password-failures", str(account.id)):
        raise RateLimitedError(
            "Too many wrong current passwords; try again later.",
            _seconds_left(item, "password-failures", str(account.id)),
        )


def record_password_failure(account: Account) -> None:
    limiter.limiter.hit(_password_limit(), "password-failures", str(account.id))


def _seconds_left(item: RateLimitItemPerSecond, namespace: str, key: str) -> int:
    reset_at = limiter.limiter.get_window_stats(item, namespace, key).reset_time
    return math.ceil(reset_at - time.time())  # the limiter keeps real time, not the app's clock


def _password_limit() -> RateLimitItemPerSecond:
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    return RateLimitItemPerSecond(current_app.config["LOGIN_FAILURES_PER_ACCOUNT"], int(window.total_seconds()))


def _address_limit() -> RateLimitItemPerSecond:
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    return RateLimitItemPerSecond(current_app.config["LOGIN_FAILURES_PER_ADDRESS"], int(window.total_seconds()))
