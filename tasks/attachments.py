"""Photos (照片): recognised from their bytes, stripped of metadata, kept behind a small storage interface.

A photo is uploaded before its ticket exists (intake, resolve) and linked by the ticket service with
`link_photos`, or uploaded to a ticket directly. The bytes live in a `Storage` under a random key,
never one derived from the client's filename; the row in `attachments` says what and whose they are.
Stored bytes are final: a file written in a transaction that rolls back is deleted again, and the
files of purged rows go once their deletion commits.
"""

import contextlib
import hashlib
import io
import logging
import os
import re
import secrets
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from flask import current_app
from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session

from kernel.errors import AppError, ForbiddenError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.principals import Caller, Role
from tasks.models import Attachment, Ticket

log = logging.getLogger("grid.attachments")

CHUNK: Final = 64 * 1024
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
FORMAT_NAMES: Final[Mapping[str, str]] = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP"}
# An EXIF block bigger than this is not read for its orientation (it is dropped all the same).
MAX_EXIF_BYTES: Final = 256 * 1024
STORAGE_EXTENSION: Final = "attachments.storage"


class PayloadTooLargeError(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaTypeError(AppError):
    status, code = 415, "unsupported_media_type"


class MalformedImageError(ValueError):
    """The bytes start like an image but do not hold together (truncated, impossible lengths)."""


# --- storage --------------------------------------------------------------------------------------


class Storage(Protocol):
    """Where photo bytes live: the local disk below, or an object store (S3, OSS) with the same three calls."""

    def save(self, key: str, stream: IO[bytes]) -> None:
        """Store everything `stream` yields under `key`, whole or not at all."""

    def open(self, key: str) -> IO[bytes]:
        """The stored bytes, to read; FileNotFoundError when there are none."""

    def delete(self, key: str) -> None:
        """Forget the bytes under `key`; nothing there is not an error."""


_STORAGE_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class LocalDiskStorage:
    """Files under one directory; a key is a relative path of plain names, so it can never climb out."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, key: str, stream: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed into place: a reader never sees half a file, a crash leaves a temp file.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        if not _STORAGE_KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key


def storage() -> Storage:
    """The app's storage: one installed in `app.extensions[STORAGE_EXTENSION]`, else the local disk."""
    installed: Storage | None = current_app.extensions.get(STORAGE_EXTENSION)
    return installed or LocalDiskStorage(Path(current_app.config["ATTACHMENTS_DIR"]))


def new_storage_key() -> str:
    """Random, so nothing about the photo or its sender can be read or guessed from it; fanned out by prefix."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


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


# --- recognising images ---------------------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The content type the first bytes announce (magic numbers), or None: the client's header is not trusted."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def strip_metadata(content_type: str, source: IO[bytes]) -> Iterator[bytes]:
    """The image without EXIF (GPS, camera, time), XMP, comments or trailers; pixels are copied, not re-encoded.

    Only what is needed to show the image right is kept: colour profiles, and the EXIF orientation as a
    one-tag EXIF block (phones rotate by it). `source` must be seekable; MalformedImageError when the
    structure does not hold together.
    """
    return _STRIPPERS[content_type](source)


def _orientation(exif: bytes) -> int | None:
    """The Orientation tag (0x0112) of IFD0 in an EXIF/TIFF block, if it is there and sane."""
    tiff = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    magic, offset = struct.unpack_from(order + "HI", tiff, 2)
    if magic != 42 or offset + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    for entry in range(offset + 2, min(offset + 2 + 12 * count, len(tiff) - 11), 12):
        tag, kind, number = struct.unpack_from(order + "HHI", tiff, entry)
        if tag == 0x0112 and kind == 3 and number == 1:
            (value,) = struct.unpack_from(order + "H", tiff, entry + 8)
            return value if 1 <= value <= 8 else None
    return None


def _orientation_only(exif: bytes) -> bytes | None:
    """A TIFF block holding nothing but the orientation, when the original says to rotate or flip."""
    orientation = _orientation(exif)
    if orientation is None or orientation == 1:
        return None
    # header, IFD0 at 8 with one entry (tag, SHORT, count 1, value padded to 4 bytes), no next IFD
    return b"MM\x00\x2a" + struct.pack(">IHHHIHHI", 8, 1, 0x0112, 3, 1, orientation, 0, 0)


class _Reader:
    """Forward reading with look-ahead over an upload, for walking segment and chunk structures."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._buffer = b""
        self._position = 0

    def fill(self, wanted: int) -> bool:
        """Have at least `wanted` unread bytes at hand; False at the end of the file."""
        while len(self._buffer) - self._position < wanted:
            chunk = self._source.read(max(CHUNK, wanted))
            if not chunk:
                return False
            self._buffer = self._buffer[self._position :] + chunk
            self._position = 0
        return True

    def peek(self) -> bytes:
        return self._buffer[self._position :]

    def read(self, size: int) -> bytes:
        if not self.fill(size):
            raise MalformedImageError("the file is truncated")
        data = self._buffer[self._position : self._position + size]
        self._position += size
        return data

    def copy(self, size: int) -> Iterator[bytes]:
        """The next `size` bytes, in chunks."""
        while size > 0:
            piece = self.read(min(size, CHUNK))
            size -= len(piece)
            yield piece

    def skip(self, size: int) -> None:
        for _piece in self.copy(size):
            pass


# JPEG: segments up to the first scan; after it entropy-coded data, more tables and scans, then EOI.
_SOI, _EOI, _SOS, _APP0, _APP1, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length


def _strip_jpeg(source: IO[bytes]) -> Iterator[bytes]:
    reader = _Reader(source)
    if reader.read(2) != b"\xff\xd8":
        raise MalformedImageError("no start of image")
    yield b"\xff\xd8"
    orientation_kept = False
    while True:
        marker = _next_jpeg_marker(reader)
        if marker == _EOI:
            yield b"\xff\xd9"
            return  # whatever follows (thumbnails, motion-photo videos) is not the image
        if marker in _STANDALONE:
            yield bytes((0xFF, marker))
            continue
        length_bytes = reader.read(2)
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            raise MalformedImageError("a segment length is impossible")
        payload = reader.read(length - 2)
        if _is_jpeg_metadata(marker, payload):
            tiff = _orientation_only(payload) if marker == _APP1 and not orientation_kept else None
            if tiff is not None:
                orientation_kept = True
                segment = b"Exif\x00\x00" + tiff
                yield b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
            continue
        yield bytes((0xFF, marker)) + length_bytes + payload
        if marker == _SOS:
            yield from _entropy_coded(reader)
            if not reader.fill(1):
                return  # no EOI: some cameras end so; viewers show the image


def _next_jpeg_marker(reader: _Reader) -> int:
    if reader.read(1) != b"\xff":
        raise MalformedImageError("a marker was expected")
    code = reader.read(1)[0]
    while code == 0xFF:  # fill bytes before a marker
        code = reader.read(1)[0]
    return code


def _is_jpeg_metadata(marker: int, payload: bytes) -> bool:
    """Everything but what rendering needs: JFIF (APP0), ICC profiles (APP2) and Adobe's colour flag (APP14)."""
    if marker == _APP2:
        return not payload.startswith(b"ICC_PROFILE\x00")  # e.g. MPF, which points into the dropped trailer
    return (0xE0 <= marker <= 0xEF and marker not in {_APP0, _APP14}) or marker == _COM


def _entropy_coded(reader: _Reader) -> Iterator[bytes]:
    """Scan data up to the next marker; stuffed bytes (FF00) and restart markers are part of it."""
    while reader.fill(1):
        data = reader.peek()
        end = _scan_end(data)
        if end is not None:
            if end:
                yield reader.read(end)
            return
        # No marker in what is at hand; hold back a final 0xFF until the byte after it is known.
        safe = len(data) - 1 if data.endswith(b"\xff") else len(data)
        if safe:
            yield reader.read(safe)
        elif not reader.fill(2):
            yield reader.read(1)
            return


def _scan_end(data: bytes) -> int | None:
    index = data.find(b"\xff")
    while 0 <= index < len(data) - 1:
        following = data[index + 1]
        if following != 0 and not 0xD0 <= following <= 0xD7:
            return index
        index = data.find(b"\xff", index + 2)
    return None


# PNG: critical chunks and the ancillary ones that change how pixels look; text, EXIF, time, C2PA go.
_PNG_KEPT: Final = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP"}
    | {b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT"}
)
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


def _strip_png(source: IO[bytes]) -> Iterator[bytes]:
    reader = _Reader(source)
    if reader.read(8) != _PNG_SIGNATURE:
        raise MalformedImageError("no PNG signature")
    yield _PNG_SIGNATURE
    orientation_kept = False
    while True:
        header = reader.read(8)
        length, kind = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or not kind.isalpha():
            raise MalformedImageError("a chunk header is impossible")
        if kind in _PNG_KEPT or kind[:1].isupper():  # an unknown critical chunk cannot be dropped
            yield header
            yield from reader.copy(length + 4)  # data and CRC
        elif kind == b"eXIf" and not orientation_kept and length <= MAX_EXIF_BYTES:
            tiff = _orientation_only(reader.read(length))
            reader.skip(4)
            if tiff is not None:
                orientation_kept = True
                yield struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
        else:
            reader.skip(length + 4)
        if kind == b"IEND":
            return


# WebP: a RIFF container; the size in its header and the flags in VP8X must match what is kept.
_WEBP_KEPT: Final = frozenset({b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(source: IO[bytes]) -> Iterator[bytes]:
    source.seek(0)
    header = source.read(12)
    if len(header) < 12:
        raise MalformedImageError("the file is truncated")
    (riff_size,) = struct.unpack_from("<I", header, 4)
    end = 8 + riff_size
    kept, exif = _webp_plan(source, end)
    extended = bool(kept) and kept[0][0] == b"VP8X"
    tiff = _orientation_only(exif) if exif is not None and extended else None
    exif_chunk = b"" if tiff is None else b"EXIF" + struct.pack("<I", len(tiff)) + tiff + b"\x00" * (len(tiff) & 1)
    total = 4 + sum(8 + size + (size & 1) for _kind, _offset, size in kept) + len(exif_chunk)
    yield b"RIFF" + struct.pack("<I", total) + b"WEBP"
    for kind, offset, size in kept:
        source.seek(offset)
        if kind == b"VP8X":
            flags = _read_exactly(source, 1)[0] & ~(_VP8X_EXIF | _VP8X_XMP)
            flags |= _VP8X_EXIF if exif_chunk else 0
            yield kind + struct.pack("<I", size) + bytes((flags,))
            yield from _copy_exactly(source, size - 1 + (size & 1))
        else:
            yield kind + struct.pack("<I", size)
            yield from _copy_exactly(source, size + (size & 1))
    yield exif_chunk


def _webp_plan(source: IO[bytes], end: int) -> tuple[list[tuple[bytes, int, int]], bytes | None]:
    """The chunks to keep as (fourcc, payload offset, size), and the first EXIF payload if small enough."""
    kept: list[tuple[bytes, int, int]] = []
    exif: bytes | None = None
    position = 12
    while position < end:
        source.seek(position)
        header = _read_exactly(source, 8)
        kind, size = header[:4], struct.unpack_from("<I", header, 4)[0]
        if position + 8 + size > end or (kind == b"VP8X" and size < 10):
            raise MalformedImageError("a chunk runs past the end of the file")
        if kind in _WEBP_KEPT:
            kept.append((kind, position + 8, size))
        elif kind == b"EXIF" and exif is None and size <= MAX_EXIF_BYTES:
            exif = _read_exactly(source, size)
        position += 8 + size + (size & 1)
    if not kept:
        raise MalformedImageError("no image data")
    source.seek(0, io.SEEK_END)
    if source.tell() < end - 1:  # the last chunk's pad byte is often missing; anything more is truncation
        raise MalformedImageError("the file is truncated")
    return kept, exif


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise MalformedImageError("the file is truncated")
    return data


def _copy_exactly(source: IO[bytes], size: int) -> Iterator[bytes]:
    while size > 0:
        piece = source.read(min(size, CHUNK))
        if not piece:
            if size == 1:  # the final pad byte, which encoders often leave out
                yield b"\x00"
                return
            raise MalformedImageError("the file is truncated")
        size -= len(piece)
        yield piece


_STRIPPERS: Final[Mapping[str, Callable[[IO[bytes]], Iterator[bytes]]]] = {
    JPEG: _strip_jpeg,
    PNG: _strip_png,
    WEBP: _strip_webp,
}


class _Measured(io.RawIOBase):
    """A readable file over byte chunks that counts and hashes what passes through (into the storage)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""
        self.size = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self.sha256.update(self._pending[:count])
        self._pending = self._pending[count:]
        self.size += count
        return count


def _whole(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


# --- uploading ------------------------------------------------------------------------------------


def upload_photo(actor: Caller, stream: IO[bytes], filename: str | None) -> Attachment:
    """Store a photo not yet linked to a ticket (intake, resolve); only its uploader may link or see it."""
    return _store(actor, stream, filename, ticket_id=None)


def attach_photo(actor: Caller, ticket_id: int, stream: IO[bytes], filename: str | None) -> Attachment:
    """Store a photo on a ticket: for its assignee, or an admin or supervisor whose scope covers it."""
    from tasks import service as ticket_service

    viewer = ticket_service.Viewer.of(actor)
    ticket = ticket_service.get_visible_ticket(actor, ticket_id, viewer)
    if ticket.assignee_id != actor.id and not ticket_service.is_supervising(actor, ticket, viewer):
        raise ForbiddenError(
            "Only the ticket's assignee or a supervisor over it may add photos.", {"ticket_id": ["not yours to handle"]}
        )
    ticket_service.ensure_takes_photos(ticket)
    attachment = _store(actor, stream, filename, ticket_id=ticket.id)
    ticket_service.record_photo(actor, ticket, attachment.id)
    return attachment


def _store(actor: Caller, stream: IO[bytes], filename: str | None, *, ticket_id: int | None) -> Attachment:
    max_bytes: int = current_app.config["ATTACHMENTS_MAX_BYTES"]
    source = _seekable(stream, max_bytes)
    content_type = _content_type(source)
    strip = current_app.config["ATTACHMENTS_STRIP_METADATA"]
    measured = _Measured(strip_metadata(content_type, source) if strip else _whole(source))
    store, key = storage(), new_storage_key()
    try:
        store.save(key, measured)
    except MalformedImageError as error:
        name = FORMAT_NAMES[content_type]
        raise UnsupportedMediaTypeError(
            f"The file is not a readable {name} image.", {"file": [f"not a well-formed {name}: {error}"]}
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
            f"A photo may be at most {max_bytes // (1024 * 1024)} MB.", {"file": [f"at most {max_bytes} bytes"]}
        )
    if size == 0:
        raise ValidationError("The file is empty.", {"file": ["empty file"]})
    return stream


def _content_type(source: IO[bytes]) -> str:
    content_type = sniff(source.read(16))
    source.seek(0)
    if content_type is None:
        raise UnsupportedMediaTypeError(
            "Send a JPEG, PNG or WebP image.", {"file": ["not a JPEG, PNG or WebP image (judged by its content)"]}
        )
    return content_type


def display_filename(filename: str | None) -> str | None:
    """The client's name for the file, for display only: no folders, no control characters, 255 at most."""
    if not filename:
        return None
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(character for character in name if character.isprintable()).strip()
    return name[:255] or None


# --- reading --------------------------------------------------------------------------------------


def get_visible_attachment(actor: Caller, attachment_id: int) -> Attachment:
    """An attachment the actor may see: unlinked, its uploader's (and admins'); linked, its ticket's viewers'."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFoundError("No such attachment.")
    if attachment.ticket_id is None:
        if attachment.uploaded_by_id == actor.id or actor.role is Role.ADMIN:
            return attachment
        raise NotFoundError("No such attachment.")
    from tasks import service as ticket_service

    try:
        ticket_service.get_visible_ticket(actor, attachment.ticket_id)
    except NotFoundError:
        raise NotFoundError("No such attachment.") from None
    return attachment


def open_photo(actor: Caller, attachment_id: int) -> tuple[Attachment, IO[bytes]]:
    """A visible attachment and its bytes, to stream to the client (who closes the file)."""
    attachment = get_visible_attachment(actor, attachment_id)
    try:
        return attachment, storage().open(attachment.storage_key)
    except FileNotFoundError:
        log.error("stored photo is missing", extra={"attachment_id": attachment.id})
        raise NotFoundError("The photo's file is missing.") from None


# --- for the ticket service -----------------------------------------------------------------------


def link_photos(actor: Caller, photo_ids: Sequence[int], ticket: Ticket) -> list[Attachment]:
    """Link the actor's own unlinked photos to a (flushed) ticket; ids already on this ticket are fine."""
    wanted = list(dict.fromkeys(photo_ids))
    if not wanted:
        return []
    found = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(wanted)))}
    problems = [f"{photo_id}: {why}" for photo_id in wanted if (why := _unlinkable(found.get(photo_id), actor, ticket))]
    if problems:
        raise ValidationError("Some photos cannot be attached to this ticket.", {"photos": problems})
    # Checked again in the UPDATE: a concurrent request may have linked one of them meanwhile.
    result = db.session.execute(
        update(Attachment)
        .where(
            Attachment.id.in_(wanted),
            Attachment.uploaded_by_id == actor.id,
            or_(Attachment.ticket_id.is_(None), Attachment.ticket_id == ticket.id),
        )
        .values(ticket_id=ticket.id)
    )
    if result.rowcount != len(wanted):
        raise ValidationError(
            "Some photos cannot be attached to this ticket.", {"photos": ["linked to another ticket meanwhile"]}
        )
    return [found[photo_id] for photo_id in wanted]


def _unlinkable(attachment: Attachment | None, actor: Caller, ticket: Ticket) -> str | None:
    if attachment is None or attachment.uploaded_by_id != actor.id:
        return "no such photo of yours"  # others' photos are not even confirmed to exist
    if attachment.ticket_id is not None and attachment.ticket_id != ticket.id:
        return "already attached to another ticket"
    return None


def attachment_ids_of(ticket_id: int) -> list[int]:
    """The ids of a ticket's photos, oldest first."""
    stmt = select(Attachment.id).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    return list(db.session.scalars(stmt))


def purge_unlinked(older_than: datetime) -> int:
    """Delete photos never linked to a ticket, uploaded before `older_than`; their files go on commit."""
    # One statement: a photo linked meanwhile no longer matches, so its file is never doomed.
    stmt = (
        delete(Attachment)
        .where(Attachment.ticket_id.is_(None), Attachment.created_at < older_than)
        .returning(Attachment.storage_key)
    )
    keys = list(db.session.scalars(stmt))
    store = storage()
    db.session.info.setdefault(_DOOMED, []).extend((store, key) for key in keys)
    return len(keys)
