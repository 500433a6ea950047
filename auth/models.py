"""Accounts and their login sessions."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grid.models import CellAssignment, GridUnit
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from kernel.principals import Role


class Account(db.Model):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    # The unit a supervisor or volunteer covers, or a worker belongs to; none for admins.
    scope_grid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # 党员亮身份: true while an active party member record links this account. Kept by the party layer in the
    # same transaction as the member's change (it also moves `updated_at`, so cached ticket pages showing the
    # account re-render); read here with the account, so tickets and worker profiles show it without a query.
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    scope_grid: Mapped[GridUnit | None] = relationship(lazy="joined")
    cell_assignments: Mapped[list[CellAssignment]] = relationship(lazy="select", viewonly=True)

    @property
    def scope_path(self) -> str | None:
        return self.scope_grid.path if self.scope_grid is not None else None

    def entity(self) -> "Account":
        """Itself: an account serves wherever a caller (`kernel.principals.Caller`) is asked for."""
        return self

    @property
    def grid_ids(self) -> list[int]:
        """The cells a worker covers (other roles have none: no query for them)."""
        if self.role is not Role.WORKER:
            return []
        return sorted(assignment.grid_id for assignment in self.cell_assignments)


class VolunteerArea(db.Model):
    """A unit an account volunteers in beyond its own scope: it sees the tickets there that are open to volunteers
    and may claim them, whatever its role. Granted and withdrawn by a higher context through `auth.service`
    (双报到: a party member's confirmed check-in with a community)."""

    __tablename__ = "account_volunteer_areas"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("grid_units.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginSession(db.Model):
    """One login and every token rotated from it (the refresh-token family)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(db.Model):
    """One refresh token of a login (its jti; the token itself is never stored).

    `issued_at` is the instant written in the token pair (`iat`, whole seconds): with the jti it is all that is
    needed to sign the very same pair again (`auth.tokens`). `replaced_by` is the successor's jti, set when
    this token was rotated.
    """

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[str | None] = mapped_column(String(36))


class DeviceToken(db.Model):
    """A device that logged in to its account (OWASP "device cookies"): its token lets it past the login brakes.

    Only the SHA-256 of the token's random part is stored; the token itself is signed with the app's key for its
    account (`auth.devices`). It dies with the login that earned it (`session_id`), and is replaced by each
    login that presents it.
    """

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    # Wrong passwords presented with this token: past LOGIN_FAILURES_PER_ACCOUNT in the window it admits no more.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FailureCount(db.Model):
    """Failed attempts per key and window, shared by every process on the database (`auth.throttle`).

    kind `address`: failed logins from a client address; `username`: failed logins of a name no account
    has (locked like an account); `password`: wrong current passwords of an account (key: its id).
    """

    __tablename__ = "failure_counts"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
