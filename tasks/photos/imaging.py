"""Photo bytes, with no Flask and no database: recognising JPEG, PNG, WebP and HEIC by their bytes, refusing what
no phone can show, turning HEIC into JPEG, and copying an image without its metadata (EXIF, GPS, XMP, comments)
while keeping what shows it right.

`check_displayable` decodes the pixels with Pillow (and pillow-heif) under the decompression-bomb guard: an image
over 40 megapixels or 16,384 pixels a side, or whose data does not decode, would hang or crash the supervisor's
browser and the worker's phone that open it. `strip_metadata` walks a format's segments or chunks as a stream and
copies pixels untouched (nothing is re-encoded); `Measured` counts and hashes what passes on to the storage.
"""

import hashlib
import io
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, Final

import pillow_heif
from PIL import Image

from kernel.i18n import _

CHUNK: Final = 64 * 1024
JPEG, PNG, WEBP, HEIC = "image/jpeg", "image/png", "image/webp", "image/heic"
FORMAT_NAMES: Final[Mapping[str, str]] = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", HEIC: "HEIC"}
# What a phone or a browser still shows without trouble.
MAX_PIXELS: Final = 40_000_000
MAX_SIDE: Final = 16_384
# HEIF brands (ISO/IEC 23008-12) of still images and sequences in HEVC: the iPhone camera's default.
_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_PILLOW_FORMATS: Final[Mapping[str, str]] = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", HEIC: "HEIF"}
# HEIC stored as JPEG: the quality of the camera apps' own JPEGs.
JPEG_QUALITY: Final = 90

Image.init()  # every format plugin in Image.OPEN
pillow_heif.register_heif_opener()
# An EXIF block bigger than this is not read for its orientation (it is dropped all the same).
MAX_EXIF_BYTES: Final = 256 * 1024


class MalformedImageError(ValueError):
    """The bytes start like an image but do not hold together (truncated, impossible lengths)."""


class UndisplayableImageError(ValueError):
    """An image no phone can show: too big, or its pixels do not decode. The message is the reason, for the client."""


def sniff(head: bytes) -> str | None:
    """The content type the first bytes announce (magic numbers), or None: the client's header is not trusted."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


def check_displayable(content_type: str, source: IO[bytes]) -> None:
    """UndisplayableImageError unless the image is at most MAX_PIXELS and MAX_SIDE a side and its pixels decode.

    Pillow reads the declared size first; beyond its own decompression-bomb limit it refuses to go on at all. The
    pixels are then decoded for real (a JPEG at 1/8 scale: every byte of its data is still read), so a truncated
    or corrupt image is found here and not in a viewer. `source` is rewound afterwards.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _check_size(*_declared_size(content_type, source))
            source.seek(0)
            image = Image.open(source, formats=[_PILLOW_FORMATS[content_type]])
            if content_type == JPEG:
                image.draft("RGB", (max(image.width // 8, 1), max(image.height // 8, 1)))
            image.load()
    except UndisplayableImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UndisplayableImageError(_("more than %(value)s megapixels", value=MAX_PIXELS // 1000000)) from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, MemoryError) as error:
        raise UndisplayableImageError(_("the image data does not decode (%(value)s)", value=_plain(error))) from None
    finally:
        source.seek(0)


def _declared_size(content_type: str, source: IO[bytes]) -> tuple[int, int]:
    """The size the header declares, read by the format's Pillow plugin alone: `Image.open` would refuse a bomb
    before its size could be told. Pillow's own guard (its limit is above ours) still stands over the decoding."""
    factory, _accept = Image.OPEN[_PILLOW_FORMATS[content_type]]
    width, height = factory(source, None).size
    return width, height


def _check_size(width: int, height: int) -> None:
    if width > MAX_SIDE or height > MAX_SIDE:
        raise UndisplayableImageError(
            _(
                "%(width)s×%(height)s pixels: more than %(MAX_SIDE)s pixels a side",
                width=width,
                height=height,
                MAX_SIDE=MAX_SIDE,
            )
        )
    if width * height > MAX_PIXELS:
        raise UndisplayableImageError(
            _(
                "%(width)s×%(height)s pixels: more than %(value)s megapixels",
                width=width,
                height=height,
                value=MAX_PIXELS // 1000000,
            )
        )
    if width < 1 or height < 1:
        raise UndisplayableImageError(_("the image has no pixels"))


def _plain(error: BaseException) -> str:
    """A decoder's complaint, short and on one line, for the client."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]


def heic_to_jpeg(source: IO[bytes], *, keep_metadata: bool) -> IO[bytes]:
    """A checked HEIC/HEIF image as a JPEG, upright (the container's rotation is applied to the pixels), with its
    colour profile; its EXIF (reset to upright) only when metadata is kept. XMP and the rest never come along."""
    image = Image.open(source, formats=["HEIF"])
    options: dict[str, Any] = {"quality": JPEG_QUALITY}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    if keep_metadata and image.info.get("exif"):
        options["exif"] = image.info["exif"]
    converted = io.BytesIO()
    image.convert("RGB").save(converted, "JPEG", **options)
    converted.seek(0)
    return converted


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
            raise MalformedImageError(_("the file is truncated"))
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
        raise MalformedImageError(_("no start of image"))
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
            raise MalformedImageError(_("a segment length is impossible"))
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
        raise MalformedImageError(_("a marker was expected"))
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
        raise MalformedImageError(_("no PNG signature"))
    yield _PNG_SIGNATURE
    orientation_kept = False
    while True:
        header = reader.read(8)
        length, kind = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or not kind.isalpha():
            raise MalformedImageError(_("a chunk header is impossible"))
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
        raise MalformedImageError(_("the file is truncated"))
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
            raise MalformedImageError(_("a chunk runs past the end of the file"))
        if kind in _WEBP_KEPT:
            kept.append((kind, position + 8, size))
        elif kind == b"EXIF" and exif is None and size <= MAX_EXIF_BYTES:
            exif = _read_exactly(source, size)
        position += 8 + size + (size & 1)
    if not kept:
        raise MalformedImageError(_("no image data"))
    source.seek(0, io.SEEK_END)
    if source.tell() < end - 1:  # the last chunk's pad byte is often missing; anything more is truncation
        raise MalformedImageError(_("the file is truncated"))
    return kept, exif


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise MalformedImageError(_("the file is truncated"))
    return data


def _copy_exactly(source: IO[bytes], size: int) -> Iterator[bytes]:
    while size > 0:
        piece = source.read(min(size, CHUNK))
        if not piece:
            if size == 1:  # the final pad byte, which encoders often leave out
                yield b"\x00"
                return
            raise MalformedImageError(_("the file is truncated"))
        size -= len(piece)
        yield piece


_STRIPPERS: Final[Mapping[str, Callable[[IO[bytes]], Iterator[bytes]]]] = {
    JPEG: _strip_jpeg,
    PNG: _strip_png,
    WEBP: _strip_webp,
}


class Measured(io.RawIOBase):
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


def whole(source: IO[bytes]) -> Iterator[bytes]:
    """The file as it is, in chunks."""
    while chunk := source.read(CHUNK):
        yield chunk
