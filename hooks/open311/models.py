"""What Open311 clients filed and commented: enough to answer a retry with the first answer, and the media URL a
client gave (a link to its own copy of the photo: Open311 has no upload)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.extensions import db

MEDIA_URL_MAX_LENGTH = 2000
UPDATE_ID_MAX_LENGTH = 64


class Open311Request(db.Model):
    """A request filed through `POST /open311/v2/requests`: claimed by its fingerprint (the integration, the
    client's `device_id` and the body) before the intake, so a client's retry within the window files nothing new.
    A claim older than the window is retired (its fingerprint made unique to it) when the same body comes again."""

    __tablename__ = "open311_requests"
    __table_args__ = (UniqueConstraint("integration_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(BigId, ForeignKey("integrations.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Set in the claiming transaction, so a committed row always has it.
    request_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resident_requests.id"), index=True, unique=True)
    media_url: Mapped[str | None] = mapped_column(String(MEDIA_URL_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Open311Update(db.Model):
    """A comment posted through `POST /open311/v2/servicerequestupdates`: one per (integration, the client's own
    `update_id`), so a repeat answers with the first one's id. Its id, as `c<id>`, is the update's `update_id`."""

    __tablename__ = "open311_updates"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(BigId, ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(UPDATE_ID_MAX_LENGTH))
    request_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resident_requests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
