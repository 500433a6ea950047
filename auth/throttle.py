"""Brute-force brakes on login, built so that their answers tell a guesser nothing (issue 20).

- Per account: the failure after the fifth (LOGIN_FAILURES_PER_ACCOUNT) within the window (15 minutes) locks the
  account's logins for ACCOUNT_LOCK_MINUTES. A name no account has is counted and locked the same way, by its
  normalised spelling (`failure_counts`, kind `username`), so a lock does not tell which names exist.
- Per address: once LOGIN_FAILURES_PER_ADDRESS (30) logins from an address have failed within the window, every
  login from it is 429 until the window ends, whatever the password: the password is not even checked, so a
  spray cannot read 429 as "wrong" and 200 as "hit". Only failures count: an attempt takes a place in the count
  before its password is checked and gives it back when the password was right, so concurrent attempts from
  several processes can never pass the limit.
- Wrong current passwords on a password change: LOGIN_FAILURES_PER_ACCOUNT per account and window, counted in the
  same place (checked before the hash, counted after a failure: that request's Idempotency-Key must not be kept).
- A device token (`auth.devices`) lets its account past the address brake and the lock; its own failures are
  capped there.

Where the counts live: the database (`failure_counts`, like the per-account lock on `accounts`), so every process
on it enforces the same numbers; or, with LOGIN_BRAKES_STORE=limiter (the default when RATELIMIT_STORAGE_URI names
a shared store such as Redis), flask-limiter's storage, which checks the count before an attempt and adds to it
after a failure (concurrent attempts can overshoot by as many as are in flight).
"""

import logging
import math
import time
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app
from limits import RateLimitItemPerSecond
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from auth.models import Account, DeviceToken, FailureCount
from kernel.clock import utcnow
from kernel.db import UTCDateTime
from kernel.errors import RateLimitedError
from kernel.extensions import db, limiter
from kernel.i18n import _l

log = logging.getLogger("grid.auth")

ADDRESS, USERNAME, PASSWORD = "address", "username", "password"
LOCKED_MESSAGE = _l("Too many failed logins for this account; try again later.")
ADDRESS_MESSAGE = _l("Too many failed logins from this address; try again later.")
PASSWORD_MESSAGE = _l("Too many wrong current passwords; try again later.")


# --- per account, or per unknown username -------------------------------------------------------------------


def ensure_not_locked(account: Account | None, username: str, now: datetime) -> None:
    """429 while the account, or the unknown name, is locked."""
    locked_until = _locked_until(account, username, now)
    if locked_until is not None and locked_until > now:
        raise locked_error(locked_until, now)


def record_account_failure(account: Account | None, username: str, now: datetime) -> datetime | None:
    """Count a failure atomically (concurrent failures must all count); past the threshold lock, and return until
    when. The caller commits."""
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    if account is not None:
        window_open = Account.failed_logins_since > now - window
        failures = db.session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(
                failed_logins=case((window_open, Account.failed_logins + 1), else_=1),
                failed_logins_since=case((window_open, Account.failed_logins_since), else_=literal(now, UTCDateTime())),
            )
            .returning(Account.failed_logins)
        ).scalar_one()
    else:
        failures = _count(USERNAME, username, now) or 0
    if failures <= current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]:
        return None
    locked_until = now + current_app.config["ACCOUNT_LOCK_DURATION"]
    if account is not None:
        db.session.execute(update(Account).where(Account.id == account.id).values(locked_until=locked_until))
        log.warning(
            "account login locked",
            extra={"account_id": account.id, "failures": failures, "locked_until": locked_until.isoformat()},
        )
    else:
        db.session.execute(
            update(FailureCount)
            .where(FailureCount.kind == USERNAME, FailureCount.key == username)
            .values(locked_until=locked_until)
        )
        # Never the name itself: a password typed into the username field would land in the log.
        log.warning("unknown username login locked", extra={"failures": failures})
    return locked_until


def locked_error(locked_until: datetime, now: datetime) -> RateLimitedError:
    """The one answer to a locked account or name: the same status, message and headers for both."""
    return RateLimitedError(str(LOCKED_MESSAGE), math.ceil((locked_until - now).total_seconds()))


def reset_account_failures(account: Account) -> None:
    account.failed_logins = 0
    account.failed_logins_since = None
    account.locked_until = None


def _locked_until(account: Account | None, username: str, now: datetime) -> datetime | None:
    if account is None:
        return db.session.scalar(
            select(FailureCount.locked_until).where(FailureCount.kind == USERNAME, FailureCount.key == username)
        )
    if account.locked_until is not None and account.locked_until <= now:
        log.info("account login lock ended", extra={"account_id": account.id})
        account.locked_until = None
    return account.locked_until


def _count(kind: str, key: str, now: datetime, *, below: int | None = None) -> int | None:
    """Add one failure to a database count (a new window when the last one ended) in one atomic upsert; the count
    now. With `below`, only while the count is below it: None when it was not."""
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    expired = FailureCount.window_started_at <= now - window
    statement = (
        _insert()
        .values(kind=kind, key=key, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={
                "failures": case((expired, 1), else_=FailureCount.failures + 1),
                "window_started_at": case((expired, literal(now, UTCDateTime())), else_=FailureCount.window_started_at),
            },
            where=None if below is None else expired | (FailureCount.failures < below),
        )
        .returning(FailureCount.failures)
    )
    row = db.session.execute(statement).first()
    return None if row is None else int(row[0])


# --- per address --------------------------------------------------------------------------------------------


def take_address_attempt(address: str, now: datetime) -> None:
    """Before a password is checked: 429 once the address has used up its failures for the window."""
    if not _store().take(ADDRESS, address, _address_limit(), now):
        raise RateLimitedError(str(ADDRESS_MESSAGE), _store().seconds_left(ADDRESS, address, _address_limit(), now))


def give_back_address_attempt(address: str) -> None:
    """The password was right: the attempt is no failure."""
    _store().give_back(ADDRESS, address)


def confirm_address_failure(address: str, now: datetime) -> None:
    """The password was wrong: the attempt taken stays a failure."""
    _store().confirm(ADDRESS, address, _address_limit(), now)


def count_address_failure(address: str, now: datetime) -> None:
    """A failure of an attempt that took no place (a device past the brake): it counts all the same."""
    _store().add(ADDRESS, address, _address_limit(), now)


# --- wrong current passwords --------------------------------------------------------------------------------


def ensure_password_attempts_left(account: Account, now: datetime) -> None:
    """A stolen session must not become a way to guess the password: wrong current passwords are capped.

    Read, not taken: a password change runs under its Idempotency-Key, whose row must not be committed before the
    request succeeds (so attempts in flight at the same moment may each still be checked)."""
    key, limit = str(account.id), current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    if not _store().has_room(PASSWORD, key, limit, now):
        raise RateLimitedError(str(PASSWORD_MESSAGE), _store().seconds_left(PASSWORD, key, limit, now))


def record_password_failure(account: Account, now: datetime) -> None:
    """Count a wrong current password (the caller commits it alone: the request itself fails)."""
    _store().add(PASSWORD, str(account.id), current_app.config["LOGIN_FAILURES_PER_ACCOUNT"], now)


def purge_ended() -> tuple[int, int]:
    """Remove what no longer brakes anything: counts whose window and lock ended, and device tokens that can no
    longer admit (revoked or expired). How many of each."""
    now = utcnow()
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    counts = db.session.execute(
        delete(FailureCount).where(
            FailureCount.window_started_at <= now - window,
            or_(FailureCount.locked_until.is_(None), FailureCount.locked_until <= now),
        )
    ).rowcount
    device_tokens = db.session.execute(
        delete(DeviceToken).where(or_(DeviceToken.revoked_at.is_not(None), DeviceToken.expires_at <= now))
    ).rowcount
    return counts, device_tokens


# --- where the counts live ----------------------------------------------------------------------------------


class _Counts(Protocol):
    def has_room(self, kind: str, key: str, limit: int, now: datetime) -> bool:
        """Whether the count is below the limit (a window that ended counts nothing)."""

    def take(self, kind: str, key: str, limit: int, now: datetime) -> bool:
        """Whether an attempt may go on; the database counts it now (and keeps that count)."""

    def give_back(self, kind: str, key: str) -> None:
        """The attempt taken did not fail."""

    def confirm(self, kind: str, key: str, limit: int, now: datetime) -> None:
        """The attempt taken failed."""

    def add(self, kind: str, key: str, limit: int, now: datetime) -> None:
        """A failure that took no attempt."""

    def seconds_left(self, kind: str, key: str, limit: int, now: datetime) -> int:
        """Until the window of a count that is used up ends."""


class _DatabaseCounts:
    """`failure_counts`: one row per key, changed by single atomic statements (an upsert with a condition)."""

    def has_room(self, kind: str, key: str, limit: int, now: datetime) -> bool:
        window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
        row = db.session.execute(
            select(FailureCount.failures, FailureCount.window_started_at).where(
                FailureCount.kind == kind, FailureCount.key == key
            )
        ).one_or_none()
        return row is None or row.window_started_at <= now - window or row.failures < limit

    def take(self, kind: str, key: str, limit: int, now: datetime) -> bool:
        taken = _count(kind, key, now, below=limit) is not None
        # Committed at once, so that the other processes see the place taken while this one checks the password
        # (and the row lock is not held through the hash); a failure must outlive the refused request anyway.
        db.session.commit()
        return taken

    def give_back(self, kind: str, key: str) -> None:
        db.session.execute(
            update(FailureCount)
            .where(FailureCount.kind == kind, FailureCount.key == key, FailureCount.failures > 0)
            .values(failures=FailureCount.failures - 1)
        )

    def confirm(self, kind: str, key: str, limit: int, now: datetime) -> None:
        return None  # counted when taken

    def add(self, kind: str, key: str, limit: int, now: datetime) -> None:
        _count(kind, key, now)

    def seconds_left(self, kind: str, key: str, limit: int, now: datetime) -> int:
        window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
        started = db.session.scalar(
            select(FailureCount.window_started_at).where(FailureCount.kind == kind, FailureCount.key == key)
        )
        return math.ceil(((started or now) + window - now).total_seconds())


class _LimiterCounts:
    """flask-limiter's storage (Redis): the count is read before an attempt and added to after a failure."""

    def has_room(self, kind: str, key: str, limit: int, now: datetime) -> bool:
        return bool(limiter.limiter.test(_item(limit), kind, key))

    def take(self, kind: str, key: str, limit: int, now: datetime) -> bool:
        return self.has_room(kind, key, limit, now)

    def give_back(self, kind: str, key: str) -> None:
        return None  # nothing was counted

    def confirm(self, kind: str, key: str, limit: int, now: datetime) -> None:
        limiter.limiter.hit(_item(limit), kind, key)

    def add(self, kind: str, key: str, limit: int, now: datetime) -> None:
        limiter.limiter.hit(_item(limit), kind, key)

    def seconds_left(self, kind: str, key: str, limit: int, now: datetime) -> int:
        reset_at = limiter.limiter.get_window_stats(_item(limit), kind, key).reset_time
        return math.ceil(reset_at - time.time())  # the limiter keeps real time, not the app's clock


_STORES: dict[str, _Counts] = {"database": _DatabaseCounts(), "limiter": _LimiterCounts()}


def _store() -> _Counts:
    return _STORES[current_app.config.get("LOGIN_BRAKES_STORE", "database")]


def _item(limit: int) -> RateLimitItemPerSecond:
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    return RateLimitItemPerSecond(limit, int(window.total_seconds()))


def _address_limit() -> int:
    return int(current_app.config["LOGIN_FAILURES_PER_ADDRESS"])


def _insert() -> postgresql.Insert | sqlite.Insert:
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(FailureCount)
