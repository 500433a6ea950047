"""Photos (照片): stored under random keys, linked to tickets, read by who may see them.

A photo is uploaded before its ticket exists (intake, resolve) and linked by the ticket service with
`link_photos`, or uploaded to a ticket directly. The bytes (recognised and stripped by `imaging`) live in a
`Storage` under a random key, never one derived from the client's filename; the row in `attachments` says
what and whose they are. Stored bytes are final: a file written in a transaction that rolls back is deleted
again, and the files of purged rows go once their deletion commits.

Photos know a ticket only by its id and import nothing of tickets (the ticket service links photos). What
only the ticket can answer (who may see it, who may add a photo to it) photos ask `TicketRules`, which
`bootstrap.provide` installs at start-up.

A record of a higher context may hold photos too (a party activity's): it links them with `hold_photos` under
a holder name of its own, and answers who may see them through a `PhotoHolder` installed under that name. A
held photo is linked like a ticket's: never purged, seen by whoever may see its holder.
"""

import io
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Final, Protocol

from flask import Flask, current_app
from sqlalchemy import ColumnElement, and_, delete, event, or_, select, update
from sqlalchemy.orm import Session

from kernel.errors import AppError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.principals import Caller, Role
from tasks.photos.imaging import (
    CHUNK,
    FORMAT_NAMES,
    HEIC,
    JPEG,
    MalformedImageError,
    Measured,
    UndisplayableImageError,
    check_displayable,
    heic_to_jpeg,
    sniff,
    strip_metadata,
    whole,
)
from tasks.photos.models import Attachment
from tasks.photos.storage import Storage, new_storage_key, storage

log = logging.getLogger("grid.attachments")

TICKET_RULES_EXTENSION: Final = "photos.ticket_rules"
PHOTO_HOLDERS_EXTENSION: Final = "photos.holders"


class PayloadTooLargeError(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaTypeError(AppError):
    status, code = 415, "unsupported_media_type"


# --- what photos ask of their ticket --------------------------------------------------------------


class TicketRules(Protocol):
    """The ticket's answers for its photos; each raises the ticket's error (404, 403, 409) to refuse."""

    def check_visible(self, actor: Caller, ticket_id: int) -> None:
        """The actor may see the ticket, and so its photos."""

    def check_takes_photo(self, actor: Caller, ticket_id: int) -> None:
        """The actor may add a photo to the ticket, and the ticket takes one now."""

    def photo_added(self, actor: Caller, ticket_id: int, attachment_id: int) -> None:
        """A photo was stored on the ticket: it joins the ticket's record."""


def install_ticket_rules(app: Flask, rules: TicketRules) -> None:
    app.extensions[TICKET_RULES_EXTENSION] = rules


def ticket_rules() -> TicketRules:
    """The installed rules; without them (a wiring mistake) a photo on a ticket is refused with a 500."""
    rules: TicketRules = current_app.extensions[TICKET_RULES_EXTENSION]
    return rules


# --- what photos ask of another record holding them --------------------------------------------------


class PhotoHolder(Protocol):
    """A higher context's answer for the photos its records hold (installed under its holder name)."""

    def check_visible(self, actor: Caller, holder_id: int) -> None:
        """The actor may see the record, and so its photos; raises NotFoundError to refuse."""


def install_photo_holder(app: Flask, holder_type: str, holder: PhotoHolder) -> None:
    app.extensions.setdefault(PHOTO_HOLDERS_EXTENSION, {})[holder_type] = holder


def photo_holder(holder_type: str) -> PhotoHolder:
    """The installed holder; without it (a wiring mistake) its photos are refused with a 500."""
    holders: dict[str, PhotoHolder] = current_app.extensions[PHOTO_HOLDERS_EXTENSION]
    return holders[holder_type]


class OnTicket(Protocol):
    """A ticket as photos see it: its id (the ticket service passes its Ticket)."""

    @property
    def id(self) -> int: ...


# Files written in the open transaction (deleted if it rolls back) and files whose rows it deletes
# (deleted once it commits), kept on the session so the database decides what the disk holds.
_WRITTEN, _DOOMED = "attachments.written", "attachments.doomed"


@event.listens_for(db.session, "after_rollback")
def _discard_written(session: Session) -> None:
    for store, key in session.info.pop(_WRITTEN, []):
        _delete_quietly(store, key)
    session.info.pop(_DOOMED, None)


@event.listens_for(db.session, "after_commit")
def _delete_doomed(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for store, key in session.info.pop(_DOOMED, []):
        _delete_quietly(store, key)


def _delete_quietly(store: Storage, key: str) -> None:
    try:
        store.delete(key)
    except OSError:  # the database is already settled; a leftover file is only disk space
        log.warning("could not delete stored photo", extra={"storage_key": key})


# --- uploading ------------------------------------------------------------------------------------


def upload_photo(actor: Caller, stream: IO[bytes], filename: str | None) -> Attachment:
    """Store a photo not yet linked to a ticket (intake, resolve); only its uploader may link or see it."""
    return _store(actor, stream, filename, ticket_id=None)


def attach_photo(actor: Caller, ticket_id: int, stream: IO[bytes], filename: str | None) -> Attachment:
    """Store a photo on a ticket, if the ticket's rules let the actor add one (its assignee, or a supervisor)."""
    rules = ticket_rules()
    rules.check_takes_photo(actor, ticket_id)
    attachment = _store(actor, stream, filename, ticket_id=ticket_id)
    rules.photo_added(actor, ticket_id, attachment.id)
    return attachment


def _store(actor: Caller, stream: IO[bytes], filename: str | None, *, ticket_id: int | None) -> Attachment:
    max_bytes: int = current_app.config["ATTACHMENTS_MAX_BYTES"]
    source = _seekable(stream, max_bytes)
    content_type = _content_type(source)
    strip = current_app.config["ATTACHMENTS_STRIP_METADATA"]
    _ensure_displayable(content_type, source)
    if content_type == HEIC:  # browsers and most phones cannot show HEIC; every one shows JPEG
        source, content_type = heic_to_jpeg(source, keep_metadata=not strip), JPEG
    measured = Measured(strip_metadata(content_type, source) if strip else whole(source))
    store, key = storage(), new_storage_key()
    try:
        store.save(key, measured)
    except MalformedImageError as error:
        name = FORMAT_NAMES[content_type]
        raise UnsupportedMediaTypeError(
            _("The file is not a readable %(name)s image.", name=name),
            {"file": [_("not a well-formed %(name)s: %(error)s", name=name, error=error)]},
        ) from None
    db.session.info.setdefault(_WRITTEN, []).append((store, key))
    attachment = Attachment(
        ticket_id=ticket_id,
        uploaded_by_id=actor.id,
        content_type=content_type,
        size=measured.size,
        sha256=measured.sha256.hexdigest(),
        storage_key=key,
        filename=display_filename(filename),
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _seekable(stream: IO[bytes], max_bytes: int) -> IO[bytes]:
    """The upload, at most `max_bytes`, rewound; spooled to a temporary file first if it cannot seek."""
    if not stream.seekable():
        spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - returned open
        while chunk := stream.read(CHUNK):
            spooled.write(chunk)
            if spooled.tell() > max_bytes:
                break
        stream = spooled  # type: ignore[assignment]
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > max_bytes:
        raise PayloadTooLargeError(
            _("A photo may be at most %(value)s MB.", value=max_bytes // (1024 * 1024)),
            {"file": [_("at most %(max_bytes)s bytes", max_bytes=max_bytes)]},
        )
    if size == 0:
        raise ValidationError(_("The file is empty."), {"file": [_("empty file")]})
    return stream


def _content_type(source: IO[bytes]) -> str:
    content_type = sniff(source.read(16))
    source.seek(0)
    if content_type is None:
        raise UnsupportedMediaTypeError(
            _("Send a JPEG, PNG, WebP or HEIC image."),
            {"file": [_("not a JPEG, PNG, WebP or HEIC image (judged by its content)")]},
        )
    return content_type


def _ensure_displayable(content_type: str, source: IO[bytes]) -> None:
    """422 with the reason for an image no phone can show: over 40 megapixels or 16,384 pixels a side, or pixels
    that do not decode (`imaging.check_displayable`)."""
    try:
        check_displayable(content_type, source)
    except UndisplayableImageError as error:
        message = f"This {FORMAT_NAMES[content_type]} image cannot be shown on a phone: {error}."
        raise ValidationError(message, {"file": [str(error)]}) from None


def display_filename(filename: str | None) -> str | None:
    """The client's name for the file, for display only: no folders, no control characters, 255 at most."""
    if not filename:
        return None
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(character for character in name if character.isprintable()).strip()
    return name[:255] or None


# --- reading --------------------------------------------------------------------------------------


def get_visible_attachment(actor: Caller, attachment_id: int) -> Attachment:
    """An attachment the actor may see: unlinked, its uploader's (and admins'); linked, its ticket's (or holding
    record's) viewers'."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFoundError(_("No such attachment."))
    if attachment.holder_type is not None and attachment.holder_id is not None:
        try:
            photo_holder(attachment.holder_type).check_visible(actor, attachment.holder_id)
        except NotFoundError:
            raise NotFoundError(_("No such attachment.")) from None
        return attachment
    if attachment.ticket_id is None:
        if attachment.uploaded_by_id == actor.id or actor.role is Role.ADMIN:
            return attachment
        raise NotFoundError(_("No such attachment."))
    try:
        ticket_rules().check_visible(actor, attachment.ticket_id)
    except NotFoundError:
        raise NotFoundError(_("No such attachment.")) from None
    return attachment


def open_photo(actor: Caller, attachment_id: int) -> tuple[Attachment, IO[bytes]]:
    """A visible attachment and its bytes, to stream to the client (who closes the file)."""
    attachment = get_visible_attachment(actor, attachment_id)
    try:
        return attachment, storage().open(attachment.storage_key)
    except FileNotFoundError:
        log.error("stored photo is missing", extra={"attachment_id": attachment.id})
        raise NotFoundError(_("The photo's file is missing.")) from None


# --- for the ticket service and the records of other contexts ------------------------------------


def link_photos(actor: Caller, photo_ids: Sequence[int], ticket: OnTicket) -> list[Attachment]:
    """Link the actor's own unlinked photos to a (flushed) ticket; ids already on this ticket are fine."""
    return _link(actor, photo_ids, _Target(ticket_id=ticket.id))


def hold_photos(actor: Caller, photo_ids: Sequence[int], *, holder_type: str, holder_id: int) -> list[Attachment]:
    """Link the actor's own unlinked photos to another context's (flushed) record, e.g. a party activity; ids
    already held by this record are fine. The same checks as a ticket's photos, under `photo_ids`."""
    return _link(actor, photo_ids, _Target(holder_type=holder_type, holder_id=holder_id), field="photo_ids")


@dataclass(frozen=True)
class _Target:
    """Where photos are linked: a ticket, or a record of another context."""

    ticket_id: int | None = None
    holder_type: str | None = None
    holder_id: int | None = None

    @property
    def what(self) -> str:
        return N_("ticket") if self.ticket_id is not None else N_("record")

    def holds(self, attachment: Attachment) -> bool:
        if self.ticket_id is not None:
            return attachment.ticket_id == self.ticket_id
        return (attachment.holder_type, attachment.holder_id) == (self.holder_type, self.holder_id)

    def clause(self) -> ColumnElement[bool]:
        if self.ticket_id is not None:
            return Attachment.ticket_id == self.ticket_id
        return and_(Attachment.holder_type == self.holder_type, Attachment.holder_id == self.holder_id)

    def values(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "holder_type": self.holder_type, "holder_id": self.holder_id}


def _link(actor: Caller, photo_ids: Sequence[int], target: _Target, *, field: str = "photos") -> list[Attachment]:
    wanted = list(dict.fromkeys(photo_ids))
    if not wanted:
        return []
    found = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(wanted)))}
    problems = [f"{photo_id}: {why}" for photo_id in wanted if (why := _unlinkable(found.get(photo_id), actor, target))]
    if problems:
        raise ValidationError(
            _("Some photos cannot be attached to this %(what)s.", what=_(target.what)), {field: problems}
        )
    # Checked again in the UPDATE: a concurrent request may have linked one of them meanwhile.
    result = db.session.execute(
        update(Attachment)
        .where(
            Attachment.id.in_(wanted),
            Attachment.uploaded_by_id == actor.id,
            or_(and_(Attachment.ticket_id.is_(None), Attachment.holder_type.is_(None)), target.clause()),
        )
        .values(**target.values())
    )
    if result.rowcount != len(wanted):
        meanwhile = _("linked to another %(what)s meanwhile", what=_(target.what))
        raise ValidationError(
            _("Some photos cannot be attached to this %(what)s.", what=_(target.what)), {field: [meanwhile]}
        )
    return [found[photo_id] for photo_id in wanted]


def _unlinkable(attachment: Attachment | None, actor: Caller, target: _Target) -> str | None:
    if attachment is None or attachment.uploaded_by_id != actor.id:
        return _("no such photo of yours")  # others' photos are not even confirmed to exist
    if target.holds(attachment):
        return None
    if attachment.ticket_id is not None:
        return (
            _("already attached to another ticket")
            if target.ticket_id is not None
            else _("already attached to a ticket")
        )
    if attachment.holder_type is not None:
        return _("already attached to another record")
    return None


def held_photo_ids(holder_type: str, holder_ids: Sequence[int]) -> dict[int, list[int]]:
    """The ids of the photos each record holds, oldest first (records without photos absent)."""
    if not holder_ids:
        return {}
    stmt = (
        select(Attachment.holder_id, Attachment.id)
        .where(Attachment.holder_type == holder_type, Attachment.holder_id.in_(list(holder_ids)))
        .order_by(Attachment.id)
    )
    held: dict[int, list[int]] = {}
    for holder_id, attachment_id in db.session.execute(stmt):
        held.setdefault(holder_id, []).append(attachment_id)
    return held


def attachment_ids_of(ticket_id: int) -> list[int]:
    """The ids of a ticket's photos, oldest first."""
    stmt = select(Attachment.id).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    return list(db.session.scalars(stmt))


def purge_unlinked(older_than: datetime) -> int:
    """Delete photos never linked to a ticket nor held by a record, uploaded before `older_than`; their files go
    on commit."""
    # One statement: a photo linked meanwhile no longer matches, so its file is never doomed.
    stmt = (
        delete(Attachment)
        .where(Attachment.ticket_id.is_(None), Attachment.holder_type.is_(None), Attachment.created_at < older_than)
        .returning(Attachment.storage_key)
    )
    keys = list(db.session.scalars(stmt))
    store = storage()
    db.session.info.setdefault(_DOOMED, []).extend((store, key) for key in keys)
    return len(keys)
