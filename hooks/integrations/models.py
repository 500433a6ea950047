"""What integrations keep: who they are, the requests they pushed, the signatures already accepted."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth.models import Account
from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime, str_enum
from kernel.extensions import db
from kernel.signing import SECRET_MAX_LENGTH  # one HMAC key length for webhooks out and hooks in

NAME_MAX_LENGTH = 64
DESCRIPTION_MAX_LENGTH = 200
EXTERNAL_ID_MAX_LENGTH = 64


class AuthMethod(enum.StrEnum):
    """How an integration proves who it is; only its own method is accepted."""

    API_KEY = "api_key"  # X-Api-Key: the key shown once at creation, stored as its SHA-256
    HMAC = "hmac"  # X-Grid-Key-Id, X-Grid-Timestamp, X-Grid-Signature over "<timestamp>.<body>"


class Integration(db.Model):
    """Another system allowed to push resident requests (a 12345 hotline platform), acting through its own
    service account: inactive (it never logs in), placed on `grid_id` (a supervisor there) or, without a grid,
    an admin; the tickets it files say so in their `create` event."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    auth_method: Mapped[AuthMethod] = mapped_column(str_enum(AuthMethod))
    # Public: the first part of an API key, or the X-Grid-Key-Id of signed pushes.
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str | None] = mapped_column(String(64))  # hex SHA-256 of the whole API key
    # The HMAC key, stored as given (see kernel.signing on why it is not hashed); None for API keys.
    secret: Mapped[str | None] = mapped_column(String(SECRET_MAX_LENGTH))
    grid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grid_units.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The integration's own category codes (a 12345 hotline's "环境卫生") mapped to ours; codes neither mapped nor
    # ours go to `default_category_code` (422 without one).
    category_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    default_category_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("categories.code"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class PushedRequest(db.Model):
    """Which resident request an integration's `external_id` became: one per (integration, external_id),
    claimed before the intake so two concurrent pushes of one id cannot both file it."""

    __tablename__ = "integration_requests"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(BigId, ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_MAX_LENGTH))
    # Set in the claiming transaction, so a committed row always has it.
    request_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resident_requests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsedSignature(db.Model):
    """Signatures already accepted, kept a little longer than a timestamp stays fresh: a replay is refused."""

    __tablename__ = "hook_signatures"
    __table_args__ = (UniqueConstraint("scope", "signature"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # e.g. integration:7
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
