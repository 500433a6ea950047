"""Photos (照片): a row per stored photo, saying what and whose it is; the bytes live in the storage."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.extensions import db


class Attachment(db.Model):
    """A photo: uploaded before intake (no ticket yet) or to a ticket; the bytes live in the storage.

    A photo may instead be held by a record of a higher context (`holder_type`, `holder_id`: a party activity),
    which photos know only by that name and id; a photo is linked to one ticket or one holder, never both.
    """

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_holder_type_holder_id", "holder_type", "holder_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    holder_type: Mapped[str | None] = mapped_column(String(32))  # e.g. "party_activity"
    holder_id: Mapped[int | None] = mapped_column(BigId)
    uploaded_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
