"""Photos through the HTTP API: uploading (who, what, how big), metadata removal, downloading in scope, linking,
and refusing what no phone can show (issue 20, point 5).

Images are built by hand, byte by byte: a real 1×1 JPEG and WebP from an encoder, PNGs assembled here (declaring
whatever size their header says), and EXIF blocks carrying a GPS position. Real pictures, and the HEIC ones, come
from Pillow and pillow-heif's encoder at test time, so no binary is committed.
"""

import base64
import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from auth.models import Account
from kernel import clock
from kernel.clock import utcnow
from kernel.errors import ValidationError
from kernel.extensions import db
from tasks.photos import imaging, storage
from tasks.photos import service as photos
from tasks.photos.models import Attachment
from tasks.tickets.models import Ticket
from tests.support.http import assert_error

MB = 1024 * 1024
UPLOAD = "/api/v1/attachments"

# --- images, by hand ------------------------------------------------------------------------------

# A 1×1 grey baseline JPEG and a 1×1 lossless WebP, as an encoder wrote them.
JPEG_1X1 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hn"
    "Pk1xeXBkeFxlZ2P/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8A"
    "P//Z"
)
VP8L_1X1 = b'VP8L\x11\x00\x00\x00/\x00\x00\x00\x00\x07P\x85"W\xa1\xff\x81\x88\xe8\x7f\x00\x00'
SECRET = b"SECRET-PLACE"  # in the GPS block: must never reach the storage when stripping


def exif_tiff(*, orientation: int | None = 6) -> bytes:
    """A big-endian TIFF block: IFD0 (Make, Orientation, GPS pointer) and a GPS IFD at 32°59'24"N."""
    entries0 = [(0x010F, 2, 4, b"CAM\x00")]  # Make
    if orientation is not None:
        entries0.append((0x0112, 3, 1, struct.pack(">HH", orientation, 0)))
    gps_offset = 8 + 2 + 12 * (len(entries0) + 1) + 4
    entries0.append((0x8825, 4, 1, struct.pack(">I", gps_offset)))
    ifd0 = struct.pack(">H", len(entries0))
    ifd0 += b"".join(struct.pack(">HHI", tag, kind, count) + value for tag, kind, count, value in entries0)
    ifd0 += b"\x00\x00\x00\x00"
    datum_offset = gps_offset + 2 + 12 * 3 + 4
    latitude_offset = datum_offset + len(SECRET)
    gps = struct.pack(">H", 3)
    gps += struct.pack(">HHI", 0x0001, 2, 2) + b"N\x00\x00\x00"  # GPSLatitudeRef
    gps += struct.pack(">HHII", 0x0002, 5, 3, latitude_offset)  # GPSLatitude
    gps += struct.pack(">HHII", 0x0012, 2, len(SECRET), datum_offset)  # GPSMapDatum
    gps += b"\x00\x00\x00\x00" + SECRET + struct.pack(">6I", 32, 1, 59, 1, 2400, 100)
    return b"MM\x00\x2a\x00\x00\x00\x08" + ifd0 + gps


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


XMP = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"


def jpeg_with_metadata(orientation: int | None = 6) -> bytes:
    """The encoder's JPEG with an EXIF (GPS) segment, XMP, a comment, and a trailer after the image."""
    metadata = (
        jpeg_segment(0xE1, b"Exif\x00\x00" + exif_tiff(orientation=orientation))
        + jpeg_segment(0xE1, XMP)
        + jpeg_segment(0xFE, SECRET)
    )
    return JPEG_1X1[:2] + metadata + JPEG_1X1[2:] + b"MOTION-PHOTO" + SECRET


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*extra: bytes, idat: bytes | None = None) -> bytes:
    """A 1×1 RGB PNG; `extra` chunks go between IHDR and IDAT."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = png_chunk(b"IDAT", idat if idat is not None else zlib.compress(b"\x00\xc8\x0a\x0a"))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra) + pixels + png_chunk(b"IEND", b"")


def png_with_metadata(orientation: int | None = 6) -> bytes:
    return png(
        png_chunk(b"eXIf", exif_tiff(orientation=orientation)),
        png_chunk(b"tEXt", b"Comment\x00" + SECRET),
        png_chunk(b"sRGB", b"\x00"),
    )


def riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) & 1)


def webp(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


WEBP_1X1 = webp(VP8L_1X1)


def vp8x(flags: int) -> bytes:
    return riff_chunk(b"VP8X", bytes((flags, 0, 0, 0)) + b"\x00\x00\x00" + b"\x00\x00\x00")  # canvas 1×1


def webp_with_metadata(orientation: int | None = 6) -> bytes:
    return webp(
        vp8x(0x08 | 0x04),
        VP8L_1X1,
        riff_chunk(b"EXIF", exif_tiff(orientation=orientation)),
        riff_chunk(b"XMP ", b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"),
    )


def multipart(content: bytes, filename: str = "photo.jpg", field: str = "file") -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its content type (a fixed boundary, so replays match)."""
    boundary = "photo-boundary-7d93"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# --- arranging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    admin: Account
    supervisor_in: Account  # street S1: over the ticket's cell G1a
    supervisor_out: Account  # street S2
    assignee: Account  # cell G1a, holds the ticket
    colleague: Account  # cell G1a too: sees the ticket, does not hold it
    far_worker: Account  # cell G2a
    volunteer_in: Account  # community C1

    def __getitem__(self, who: str) -> Account:
        return getattr(self, who)


@pytest.fixture(autouse=True)
def storage_dir(app, tmp_path):
    """Each test stores into a directory of its own, stripping metadata as deployed."""
    saved = {key: app.config[key] for key in ("ATTACHMENTS_DIR", "ATTACHMENTS_STRIP_METADATA")}
    app.config.update(ATTACHMENTS_DIR=str(tmp_path / "attachments"), ATTACHMENTS_STRIP_METADATA=True)
    yield tmp_path / "attachments"
    app.config.update(saved)


@pytest.fixture
def people(tree, make_account):
    return People(
        admin=make_account("admin"),
        supervisor_in=make_account("supervisor", unit=tree["S1"]),
        supervisor_out=make_account("supervisor", unit=tree["S2"]),
        assignee=make_account("worker", unit=tree["C1"], cells=[tree["G1a"]]),
        colleague=make_account("worker", unit=tree["C1"], cells=[tree["G1a"]]),
        far_worker=make_account("worker", unit=tree["C2"], cells=[tree["G2a"]]),
        volunteer_in=make_account("volunteer", unit=tree["C1"]),
    )


@pytest.fixture
def make_ticket(client, auth, people, tree, categories):
    """A ticket filed through intake in cell G1a, dispatched to `assignee` if one is given."""

    def make(assignee: Account | None = None, category: str = "CITY.GREEN") -> int:
        admin = auth(people.admin)
        body = {"channel": "patrol", "category_code": category, "description": "绿化带护栏损坏"}
        filed = client.post("/api/v1/requests", json={**body, "grid_id": str(tree["G1a"].id)}, headers=admin)
        assert filed.status_code == 201, filed.json
        ticket_id = filed.json["ticket"]["id"]
        if assignee is not None:
            url = f"/api/v1/tickets/{ticket_id}/dispatch"
            dispatched = client.post(url, json={"assignee_id": str(assignee.id)}, headers=admin)
            assert dispatched.status_code == 200, dispatched.json
        return int(ticket_id)

    return make


@pytest.fixture
def ticket_id(make_ticket, people):
    """A ticket in cell G1a, assigned to `people.assignee`; not open to volunteers."""
    return make_ticket(assignee=people.assignee)


def upload(client, headers, content: bytes = JPEG_1X1, *, url: str = UPLOAD, filename: str = "photo.jpg", **extra):
    body, content_type = multipart(content, filename)
    return client.post(url, data=body, content_type=content_type, headers={**headers, **extra})


def stored_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file()) if directory.exists() else []


def count_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Attachment))


# --- uploading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"), [(JPEG_1X1, "image/jpeg"), (png(), "image/png"), (WEBP_1X1, "image/webp")]
)
def test_a_jpeg_png_or_webp_is_stored_and_described(app, client, auth, people, storage_dir, content, content_type):
    response = upload(client, auth(people.assignee), content, filename="现场照片.jpg")
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "ticket_id", "content_type", "size", "sha256", "filename", "created_at", "url"}
    assert body["content_type"] == content_type
    assert body["ticket_id"] is None
    assert body["filename"] == "现场照片.jpg"
    assert body["url"] == f"/api/v1/attachments/{body['id']}"
    assert body["created_at"].endswith("Z")
    (stored,) = stored_files(storage_dir)
    assert body["size"] == stored.stat().st_size
    assert body["sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "assignee", "volunteer_in"])
def test_every_role_may_upload_a_photo_before_its_ticket_exists(client, auth, people, who):
    assert upload(client, auth(people[who])).status_code == 201


def test_uploading_needs_a_token(client):
    assert_error(upload(client, {}), 401, "unauthorized")


def test_the_storage_key_ignores_the_clients_filename(client, auth, people, storage_dir):
    response = upload(client, auth(people.assignee), filename="../../etc/passwd\x07.jpg")
    assert response.json["filename"] == "passwd.jpg"
    (stored,) = stored_files(storage_dir)
    assert "passwd" not in str(stored)
    assert stored.is_relative_to(storage_dir)


@pytest.mark.parametrize(
    "content",
    [b"just some text, named photo.jpg", b"GIF89a\x01\x00\x01\x00", b"%PDF-1.7\n", b"RIFF\x04\x00\x00\x00WAVE"],
    ids=["text", "gif", "pdf", "wav"],
)
def test_anything_but_jpeg_png_or_webp_is_415_whatever_its_name(app, client, auth, people, storage_dir, content):
    error = assert_error(upload(client, auth(people.assignee), content), 415, "unsupported_media_type")
    assert "file" in error["details"]
    assert count_rows(app) == 0
    assert stored_files(storage_dir) == []


@pytest.mark.parametrize(
    "content",
    [JPEG_1X1[:40], png()[:30], WEBP_1X1[:20] + b"\x00" * 4, b"\xff\xd8\xff\xe0" + b"\x00" * 20],
    ids=["jpeg-cut-short", "png-cut-short", "webp-cut-short", "jpeg-impossible-segment"],
)
def test_an_image_that_does_not_hold_together_is_422_and_leaves_no_file(
    app, client, auth, people, storage_dir, content
):
    """Its data does not decode: no phone could show it (issue 20; 415 is for what is no image of ours at all)."""
    error = assert_error(upload(client, auth(people.assignee), content), 422, "validation_error")
    assert error["details"]["file"][0].startswith("the image data does not decode")
    assert count_rows(app) == 0
    assert stored_files(storage_dir) == []


def test_a_body_without_the_file_field_is_422(client, auth, people):
    body, content_type = multipart(JPEG_1X1, field="photo")
    response = client.post(UPLOAD, data=body, content_type=content_type, headers=auth(people.assignee))
    error = assert_error(response, 422, "validation_error")
    assert "file" in error["details"]


def test_parts_besides_the_file_are_422_each_by_name_even_a_nameless_one(app, client, auth, people, storage_dir):
    body, content_type = multipart(JPEG_1X1)
    boundary = content_type.split("boundary=")[1]
    extras = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
        f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nno name\r\n"
    ).encode()
    response = client.post(UPLOAD, data=extras + body, content_type=content_type, headers=auth(people.assignee))

    error = assert_error(response, 422, "validation_error")
    assert error["details"] == {"note": ["Unknown field."], "(part without a name)": ["Unknown field."]}
    assert count_rows(app) == 0
    assert stored_files(storage_dir) == []


def test_an_empty_file_is_422(client, auth, people):
    error = assert_error(upload(client, auth(people.assignee), b""), 422, "validation_error")
    assert "file" in error["details"]


def test_a_json_body_is_415(client, auth, people):
    response = client.post(UPLOAD, json={"file": "aGVsbG8="}, headers=auth(people.assignee))
    assert_error(response, 415, "unsupported_media_type")


def test_a_photo_of_exactly_10_mb_is_accepted(client, auth, people):
    # A suggested palette (sPLT) that viewers and the stripper pass over, filling a real 1×1 PNG up to the cap.
    content = png(png_chunk(b"sPLT", b"\x00" * (10 * MB - len(png(png_chunk(b"sPLT", b""))))))
    assert len(content) == 10 * MB
    response = upload(client, auth(people.assignee), content)
    assert response.status_code == 201, response.json
    assert response.json["size"] == 10 * MB


def test_a_photo_of_10_mb_and_one_byte_is_413_and_nothing_is_stored(app, client, auth, people, storage_dir):
    content = png(idat=b"\x00" * (10 * MB + 1 - len(png(idat=b""))))
    error = assert_error(upload(client, auth(people.assignee), content), 413, "payload_too_large")
    assert "file" in error["details"]
    assert count_rows(app) == 0
    assert stored_files(storage_dir) == []


class CountingStream(io.BytesIO):
    """A request body that remembers how much of it was read."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def test_a_content_length_over_the_cap_is_413_before_any_of_the_body_is_read(client, auth, people):
    body, content_type = multipart(b"\xff\xd8\xff" + b"\x00" * (11 * MB))
    stream = CountingStream(body)
    response = client.post(
        UPLOAD, input_stream=stream, content_length=len(body), content_type=content_type, headers=auth(people.assignee)
    )
    assert_error(response, 413, "payload_too_large")
    assert stream.bytes_read == 0


# --- metadata -------------------------------------------------------------------------------------

WITH_METADATA = [
    pytest.param(jpeg_with_metadata, "image/jpeg", id="jpeg"),
    pytest.param(png_with_metadata, "image/png", id="png"),
    pytest.param(webp_with_metadata, "image/webp", id="webp"),
]


@pytest.mark.parametrize(("build", "content_type"), WITH_METADATA)
def test_exif_with_gps_xmp_and_text_are_removed_but_the_orientation_stays(
    client, auth, people, storage_dir, build, content_type
):
    original = build()
    response = upload(client, auth(people.assignee), original)
    assert response.status_code == 201, response.json
    assert response.json["content_type"] == content_type
    (stored,) = stored_files(storage_dir)
    kept = stored.read_bytes()
    assert SECRET not in kept
    assert b"CAM\x00" not in kept  # the camera's make went with the rest of IFD0
    assert b"xmpmeta" not in kept
    assert imaging._orientation(_exif_of(kept, content_type)) == 6
    assert len(kept) == response.json["size"] < len(original)


@pytest.mark.parametrize(("build", "content_type"), WITH_METADATA)
def test_without_a_rotation_no_exif_is_left_at_all(client, auth, people, storage_dir, build, content_type):
    upload(client, auth(people.assignee), build(orientation=None))
    (stored,) = stored_files(storage_dir)
    kept = stored.read_bytes()
    assert b"MM\x00\x2a" not in kept
    assert _exif_of(kept, content_type) == b""


def test_the_stripped_webp_has_a_consistent_container(client, auth, people, storage_dir):
    upload(client, auth(people.assignee), webp_with_metadata())
    (stored,) = stored_files(storage_dir)
    kept = stored.read_bytes()
    assert struct.unpack_from("<I", kept, 4)[0] == len(kept) - 8
    assert [kind for kind, _data in _riff_chunks(kept)] == [b"VP8X", b"VP8L", b"EXIF"]
    assert kept[20] & 0x04 == 0  # no XMP flag
    assert kept[20] & 0x08 == 0x08  # EXIF flag: the orientation block is there


def test_the_stripped_png_keeps_only_chunks_that_change_how_it_looks(client, auth, people, storage_dir):
    upload(client, auth(people.assignee), png_with_metadata(orientation=None) + b"TRAILER")
    (stored,) = stored_files(storage_dir)
    assert [kind for kind, _data in _png_chunks(stored.read_bytes())] == [b"IHDR", b"sRGB", b"IDAT", b"IEND"]


def test_the_jpeg_image_data_is_copied_unchanged(client, auth, people, storage_dir):
    upload(client, auth(people.assignee), jpeg_with_metadata(orientation=None))
    (stored,) = stored_files(storage_dir)
    assert stored.read_bytes() == JPEG_1X1


def test_metadata_is_kept_when_configured(app, client, auth, people, storage_dir):
    app.config["ATTACHMENTS_STRIP_METADATA"] = False
    original = jpeg_with_metadata()
    response = upload(client, auth(people.assignee), original)
    assert response.status_code == 201
    (stored,) = stored_files(storage_dir)
    assert stored.read_bytes() == original


def test_scan_data_with_stuffed_bytes_restart_markers_and_several_scans_passes_through():
    header = JPEG_1X1[: JPEG_1X1.index(b"\xff\xda")]
    sos = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    dht = jpeg_segment(0xC4, bytes(17))  # a table between the scans of a progressive JPEG
    first_scan, second_scan = b"\x12\xff\x00\x34\xff\xd0\x56", b"\x78\xff\x00\x9a"
    fill = b"\xff"  # padding before a marker, which may go
    original = header + sos + first_scan + fill + dht + sos + second_scan + b"\xff\xd9"
    stripped = b"".join(imaging.strip_metadata("image/jpeg", io.BytesIO(original)))
    assert stripped == header + sos + first_scan + dht + sos + second_scan + b"\xff\xd9"


def test_a_jpeg_without_an_end_marker_keeps_its_scan_data():
    original = JPEG_1X1[:-2]
    assert b"".join(imaging.strip_metadata("image/jpeg", io.BytesIO(original))) == original


def _exif_of(image: bytes, content_type: str) -> bytes:
    """The EXIF/TIFF block an image carries, or b"" when none."""
    if content_type == "image/jpeg":
        at = image.find(b"\xff\xe1")
        if at < 0:
            return b""
        (length,) = struct.unpack_from(">H", image, at + 2)
        return image[at + 4 : at + 2 + length]
    chunks = _png_chunks(image) if content_type == "image/png" else _riff_chunks(image)
    return next((data for kind, data in chunks if kind in {b"eXIf", b"EXIF"}), b"")


def _png_chunks(image: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 8
    while position < len(image):
        length, kind = struct.unpack_from(">I4s", image, position)
        data = image[position + 8 : position + 8 + length]
        assert struct.unpack_from(">I", image, position + 8 + length)[0] == zlib.crc32(kind + data)
        chunks.append((kind, data))
        position += 12 + length
    return chunks


def _riff_chunks(image: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 12
    while position < len(image):
        kind, size = image[position : position + 4], struct.unpack_from("<I", image, position + 4)[0]
        chunks.append((kind, image[position + 8 : position + 8 + size]))
        position += 8 + size + (size & 1)
    return chunks


# --- downloading ----------------------------------------------------------------------------------


def test_the_uploader_gets_the_bytes_back_with_type_etag_and_cache_headers(client, auth, people):
    headers = auth(people.assignee)
    created = upload(client, headers, png()).json
    response = client.get(created["url"], headers=headers)
    assert response.status_code == 200
    assert response.data == png()
    assert response.mimetype == "image/png"
    assert response.headers["ETag"] == f'"{created["sha256"]}"'
    assert response.headers["Content-Length"] == str(created["size"])
    assert "private" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_matching_if_none_match_is_304_without_the_bytes(client, auth, people):
    headers = auth(people.assignee)
    created = upload(client, headers).json
    response = client.get(created["url"], headers={**headers, "If-None-Match": f'"{created["sha256"]}"'})
    assert response.status_code == 304
    assert response.data == b""


@pytest.mark.parametrize("who", ["colleague", "supervisor_in", "volunteer_in", "far_worker"])
def test_an_unlinked_photo_is_invisible_to_anyone_but_its_uploader(client, auth, people, who):
    created = upload(client, auth(people.assignee)).json
    assert_error(client.get(created["url"], headers=auth(people[who])), 404, "not_found")


def test_an_admin_sees_an_unlinked_photo(client, auth, people):
    created = upload(client, auth(people.assignee)).json
    assert client.get(created["url"], headers=auth(people.admin)).status_code == 200


def test_an_unknown_attachment_is_404(client, auth, people):
    assert_error(client.get("/api/v1/attachments/999999", headers=auth(people.admin)), 404, "not_found")


def test_a_photo_whose_file_is_gone_is_404(client, auth, people, storage_dir):
    headers = auth(people.assignee)
    created = upload(client, headers).json
    for path in stored_files(storage_dir):
        path.unlink()
    assert_error(client.get(created["url"], headers=headers), 404, "not_found")


# --- uploading to a ticket ------------------------------------------------------------------------


def ticket_url(ticket_id: int) -> str:
    return f"/api/v1/tickets/{ticket_id}/attachments"


@pytest.mark.parametrize("who", ["assignee", "supervisor_in", "admin"])
def test_the_assignee_or_a_supervisor_over_the_ticket_adds_a_photo_to_it(client, auth, people, ticket_id, who):
    response = upload(client, auth(people[who]), url=ticket_url(ticket_id))
    assert response.status_code == 201, response.json
    assert response.json["ticket_id"] == str(ticket_id)


def test_a_worker_who_sees_the_ticket_but_does_not_hold_it_is_403(app, client, auth, people, ticket_id):
    response = upload(client, auth(people.colleague), url=ticket_url(ticket_id))
    assert_error(response, 403, "forbidden")
    assert count_rows(app) == 0


@pytest.mark.parametrize("who", ["supervisor_out", "far_worker", "volunteer_in"])
def test_a_ticket_outside_the_callers_view_is_404(app, client, auth, people, ticket_id, who):
    assert_error(upload(client, auth(people[who]), url=ticket_url(ticket_id)), 404, "not_found")
    assert count_rows(app) == 0


def test_a_volunteer_who_claimed_a_ticket_adds_a_photo(client, auth, people, make_ticket):
    claimable = make_ticket(category="CITY.GARBAGE")
    volunteer = auth(people.volunteer_in)
    assert client.post(f"/api/v1/tickets/{claimable}/claim", json={}, headers=volunteer).status_code == 200
    assert upload(client, volunteer, url=ticket_url(claimable)).status_code == 201


def test_uploading_to_an_unknown_ticket_is_404(client, auth, people):
    assert_error(upload(client, auth(people.admin), url=ticket_url(999999)), 404, "not_found")


def test_a_file_refused_for_a_ticket_is_refused_the_same_way(client, auth, people, ticket_id):
    response = upload(client, auth(people.assignee), b"not an image", url=ticket_url(ticket_id))
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("assignee", 200),
        ("colleague", 200),
        ("supervisor_in", 200),
        ("admin", 200),
        ("supervisor_out", 404),
        ("far_worker", 404),
        ("volunteer_in", 404),
    ],
)
def test_a_ticket_photo_is_visible_to_whoever_may_see_the_ticket(client, auth, people, ticket_id, who, status):
    created = upload(client, auth(people.assignee), url=ticket_url(ticket_id)).json
    assert client.get(created["url"], headers=auth(people[who])).status_code == status


# --- linking (the ticket service's side) ------------------------------------------------------------


def link(app, actor: Account, photo_ids: list[int], ticket_id: int) -> list[int]:
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        linked = photos.link_photos(db.session.get(Account, actor.id), photo_ids, ticket)
        db.session.commit()
        return [attachment.id for attachment in linked]


def uploaded_id(client, auth, account: Account) -> int:
    return int(upload(client, auth(account)).json["id"])


def test_linking_gives_the_photos_to_the_ticket_and_its_viewers(app, client, auth, people, ticket_id):
    first, second = uploaded_id(client, auth, people.assignee), uploaded_id(client, auth, people.assignee)
    assert link(app, people.assignee, [second, first, second], ticket_id) == [second, first]
    with app.app_context():
        assert photos.attachment_ids_of(ticket_id) == [first, second]
    response = client.get(f"/api/v1/attachments/{first}", headers=auth(people.supervisor_in))
    assert response.status_code == 200


def test_linking_again_to_the_same_ticket_is_fine(app, client, auth, people, ticket_id):
    photo = uploaded_id(client, auth, people.assignee)
    link(app, people.assignee, [photo], ticket_id)
    assert link(app, people.assignee, [photo], ticket_id) == [photo]


def test_linking_refuses_others_missing_and_already_linked_photos_and_links_none(
    app, client, auth, people, ticket_id, make_ticket
):
    mine, theirs = uploaded_id(client, auth, people.assignee), uploaded_id(client, auth, people.colleague)
    elsewhere = uploaded_id(client, auth, people.assignee)
    link(app, people.assignee, [elsewhere], make_ticket(assignee=people.assignee))
    with pytest.raises(ValidationError) as raised:
        link(app, people.assignee, [mine, theirs, elsewhere, 999999], ticket_id)
    assert raised.value.details == {  # outside a request the service speaks the default language, Chinese
        "photos": [
            f"{theirs}: 您没有这张照片",
            f"{elsewhere}: 已关联到其他工单",
            "999999: 您没有这张照片",
        ]
    }
    with app.app_context():
        db.session.rollback()
        assert photos.attachment_ids_of(ticket_id) == []


def test_photos_given_at_intake_are_linked_to_the_new_ticket(client, auth, people, tree, categories):
    photo = uploaded_id(client, auth, people.assignee)
    response = client.post(
        "/api/v1/requests",
        json={
            "channel": "patrol",
            "category_code": "CITY.GREEN",
            "description": "护栏倒了",
            "grid_id": str(tree["G1a"].id),
            "photos": [str(photo)],
        },
        headers=auth(people.assignee),
    )
    assert response.status_code == 201, response.json
    assert client.get(f"/api/v1/attachments/{photo}", headers=auth(people.supervisor_in)).status_code == 200


# --- the stored files follow the database ---------------------------------------------------------


def test_a_rolled_back_upload_leaves_no_file(app, people, storage_dir):
    with app.app_context():
        actor = db.session.get(Account, people.assignee.id)
        photos.upload_photo(actor, io.BytesIO(png()), "x.png")
        assert len(stored_files(storage_dir)) == 1
        db.session.rollback()
    assert stored_files(storage_dir) == []
    assert count_rows(app) == 0


def test_purging_old_unlinked_photos_deletes_rows_and_files_on_commit(
    app, client, auth, people, ticket_id, storage_dir
):
    old, linked = uploaded_id(client, auth, people.assignee), uploaded_id(client, auth, people.assignee)
    link(app, people.assignee, [linked], ticket_id)
    with app.app_context():
        assert photos.purge_unlinked(utcnow() + timedelta(seconds=1)) == 1
        assert len(stored_files(storage_dir)) == 2  # not before the commit
        db.session.commit()
        assert photos.attachment_ids_of(ticket_id) == [linked]
        assert db.session.get(Attachment, old) is None
    assert len(stored_files(storage_dir)) == 1


class OneWay(io.RawIOBase):
    """An upload stream that cannot seek (a storage or server may hand one over)."""

    def __init__(self, content: bytes) -> None:
        super().__init__()
        self._content = io.BytesIO(content)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        return self._content.readinto(buffer)


def test_a_stream_that_cannot_seek_is_spooled_and_still_capped(app, people, storage_dir):
    with app.app_context():
        actor = db.session.get(Account, people.assignee.id)
        stored = photos.upload_photo(actor, OneWay(png_with_metadata()), "x.png")
        assert (stored.content_type, stored.size) == ("image/png", len(stored_files(storage_dir)[0].read_bytes()))
        app.config["ATTACHMENTS_MAX_BYTES"], saved = 100, app.config["ATTACHMENTS_MAX_BYTES"]
        try:
            with pytest.raises(photos.PayloadTooLargeError):
                photos.upload_photo(actor, OneWay(png(idat=bytes(200))), "big.png")
        finally:
            app.config["ATTACHMENTS_MAX_BYTES"] = saved


@pytest.mark.parametrize("key", ["../outside", "/absolute", "a/../../b", "", "with space"])
def test_the_disk_storage_refuses_keys_that_are_not_plain_relative_names(tmp_path, key):
    with pytest.raises(ValueError):
        storage.LocalDiskStorage(tmp_path).save(key, io.BytesIO(b"x"))


def test_an_idempotent_replay_returns_the_first_response_and_stores_one_file(app, client, auth, people, storage_dir):
    headers = {**auth(people.assignee), "Idempotency-Key": "photo-1"}
    first = upload(client, headers)
    replay = upload(client, headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count_rows(app) == 1
    assert len(stored_files(storage_dir)) == 1


def test_a_replay_rebuilt_with_another_multipart_boundary_is_still_a_replay(app, client, auth, people, storage_dir):
    headers = {**auth(people.assignee), "Idempotency-Key": "photo-2"}
    body, content_type = multipart(JPEG_1X1)
    first = client.post(UPLOAD, data=body, content_type=content_type, headers=headers)
    boundary = content_type.split("boundary=")[1]
    rebuilt = body.replace(boundary.encode(), b"another-boundary-0001")
    replay = client.post(
        UPLOAD, data=rebuilt, content_type="multipart/form-data; boundary=another-boundary-0001", headers=headers
    )
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == first.json
    assert count_rows(app) == 1

    other, other_type = multipart(png())
    refused = client.post(UPLOAD, data=other, content_type=other_type, headers=headers)
    assert_error(refused, 409, "idempotency_key_reused")


def test_a_photo_added_to_a_ticket_is_an_event_and_closed_tickets_take_none(client, auth, people, make_ticket):
    assignee = auth(people.assignee)
    ticket = make_ticket(assignee=people.assignee)
    added = upload(client, assignee, url=ticket_url(ticket))
    assert added.status_code == 201
    events = client.get(f"/api/v1/tickets/{ticket}/events", headers=assignee).json["items"]
    assert (events[-1]["action"], events[-1]["photo_ids"]) == ("photo", [added.json["id"]])
    admin = auth(people.admin)
    cancelled = client.post(f"/api/v1/tickets/{ticket}/cancel", json={"reason": "重复"}, headers=admin)
    assert cancelled.status_code == 200
    refused = upload(client, admin, url=ticket_url(ticket))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "conflict"


def test_photos_never_attached_are_purged_by_the_cron_command(app, client, auth, people, storage_dir):
    kept = upload(client, auth(people.assignee))
    assert kept.status_code == 201
    runner = app.test_cli_runner()
    assert "removed 0" in runner.invoke(args=["tasks", "purge-photos"]).output
    clock.travel(timedelta(hours=49))
    assert "removed 1" in runner.invoke(args=["tasks", "purge-photos"]).output
    assert stored_files(storage_dir) == []


def test_parts_other_than_the_file_are_refused(client, auth, people):
    body, content_type = multipart(JPEG_1X1)
    boundary = content_type.split("boundary=")[1]
    extra = f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'.encode()
    response = client.post(UPLOAD, data=extra + body, content_type=content_type, headers=auth(people.assignee))
    assert "note" in assert_error(response, 422, "validation_error")["details"]


# --- photos no phone can show (issue 20, point 5) --------------------------------------------------------------


def declared_png(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header declares width×height (RGB), with whatever data is given."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def zeros_png_data(size: int) -> bytes:
    """`size` bytes of a zlib stream of black rows: what a small file declaring a huge picture holds."""
    compressor = zlib.compressobj(9)
    data = b""
    while len(data) < size:
        data += compressor.compress(b"\x00" * 1_000_000)
    return (data + compressor.flush())[:size]


def photo(format_: str = "JPEG", size: tuple[int, int] = (640, 480), **options) -> bytes:
    """A real picture (a gradient, so it does not compress to nothing), encoded by Pillow."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format_, **options)
    return buffer.getvalue()


def gps_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "iPhone"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (32.0, 59.0, 24.0), 0x12: SECRET.decode()}
    return exif.tobytes()


def heic(size: tuple[int, int] = (64, 32), orientation: int = 1) -> bytes:
    import pillow_heif  # registered by tasks.photos.imaging too; imported here for the encoder

    pillow_heif.register_heif_opener()
    xmp = b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"
    return photo("HEIF", size, exif=gps_exif(orientation), xmp=xmp, quality=80)


def nothing_stored(app, storage_directory) -> bool:
    return count_rows(app) == 0 and stored_files(storage_directory) == []


# --- the reproductions: 422 with the reason ------------------------------------------------------------


def test_a_48_kb_png_declaring_20000_by_20000_pixels_is_422_with_the_reason(app, client, auth, people, storage_dir):
    bomb = declared_png(20_000, 20_000, zeros_png_data(48 * 1024))
    assert 48 * 1024 <= len(bomb) < 49 * 1024

    error = assert_error(upload(client, auth(people.assignee), bomb, filename="bomb.png"), 422, "validation_error")

    assert "16384 pixels a side" in error["details"]["file"][0]
    assert "20000×20000" in error["message"]
    assert nothing_stored(app, storage_dir)


def test_a_png_declaring_65500_by_65500_with_100_bytes_of_data_is_422_with_the_reason(
    app, client, auth, people, storage_dir
):
    bomb = declared_png(65_500, 65_500, b"\x78\x9c" + b"\x00" * 98)

    error = assert_error(upload(client, auth(people.assignee), bomb), 422, "validation_error")

    assert "megapixels" in error["details"]["file"][0] or "a side" in error["details"]["file"][0]
    assert nothing_stored(app, storage_dir)


def test_a_truncated_jpeg_is_422_saying_its_data_does_not_decode(app, client, auth, people, storage_dir):
    whole = photo("JPEG")
    truncated = whole[: len(whole) // 2]

    error = assert_error(upload(client, auth(people.assignee), truncated), 422, "validation_error")

    assert error["details"]["file"][0].startswith("the image data does not decode")
    assert "truncated" in error["details"]["file"][0]
    assert nothing_stored(app, storage_dir)


def test_more_than_40_megapixels_is_422_though_each_side_is_small_enough(client, auth, people):
    error = assert_error(upload(client, auth(people.assignee), declared_png(6400, 6400, b"")), 422, "validation_error")

    assert error["details"]["file"] == ["6400×6400 pixels: more than 40 megapixels"]


def test_more_than_16384_pixels_a_side_is_422_though_the_area_is_small(client, auth, people):
    error = assert_error(upload(client, auth(people.assignee), declared_png(16_385, 8, b"")), 422, "validation_error")

    assert error["details"]["file"] == ["16385×8 pixels: more than 16384 pixels a side"]


def test_a_png_whose_pixel_data_is_not_a_zlib_stream_is_422(client, auth, people):
    broken = declared_png(8, 8, b"this is not zlib data at all")

    error = assert_error(upload(client, auth(people.assignee), broken), 422, "validation_error")

    assert error["details"]["file"][0].startswith("the image data does not decode")


def test_a_photo_refused_for_a_ticket_is_refused_the_same_way(client, auth, people, ticket_id):
    bomb = declared_png(20_000, 20_000, zeros_png_data(1024))
    url = f"/api/v1/tickets/{ticket_id}/attachments"

    error = assert_error(upload(client, auth(people.assignee), bomb, url=url), 422, "validation_error")

    assert "a side" in error["details"]["file"][0]


@pytest.mark.parametrize(
    ("width", "height", "refused"),
    [(16_384, 2_441, False), (16_385, 1, True), (1, 16_385, True), (6_324, 6_324, False), (6_325, 6_325, True)],
)
def test_the_limits_are_40_megapixels_and_16384_pixels_a_side(width, height, refused):
    if refused:
        with pytest.raises(imaging.UndisplayableImageError):
            imaging._check_size(width, height)
    else:
        imaging._check_size(width, height)


# --- what phones take still works ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(photo("JPEG"), "image/jpeg"), (photo("PNG"), "image/png"), (photo("WEBP"), "image/webp")],
    ids=["jpeg", "png", "webp"],
)
def test_a_real_jpeg_png_or_webp_is_still_stored_as_it_is(client, auth, people, storage_dir, content, content_type):
    response = upload(client, auth(people.assignee), content)

    assert response.status_code == 201, response.json
    assert response.json["content_type"] == content_type
    (stored,) = stored_files(storage_dir)
    assert stored.read_bytes() == content  # nothing to strip: copied as it came


# --- HEIC ------------------------------------------------------------------------------------------------------


def test_a_heic_photo_is_stored_and_served_as_jpeg_without_exif_gps_or_xmp(client, auth, people, storage_dir):
    headers = auth(people.assignee)
    original = heic()
    assert imaging.sniff(original[:16]) == "image/heic"

    created = upload(client, headers, original, filename="IMG_0001.HEIC")

    assert created.status_code == 201, created.json
    assert created.json["content_type"] == "image/jpeg"
    served = client.get(created.json["url"], headers=headers)
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.data.startswith(b"\xff\xd8\xff")
    assert SECRET not in served.data and b"Exif" not in served.data and b"xmpmeta" not in served.data
    image = Image.open(io.BytesIO(served.data))
    assert (image.format, image.size) == ("JPEG", (64, 32))
    assert not image.getexif()
    assert created.json["size"] == len(served.data)


def test_a_rotated_heic_photo_is_stored_upright(client, auth, people):
    headers = auth(people.assignee)

    created = upload(client, headers, heic(size=(64, 32), orientation=6))

    image = Image.open(io.BytesIO(client.get(created.json["url"], headers=headers).data))
    assert image.size == (32, 64)
    assert image.getexif().get(0x0112) in (None, 1)


def test_a_truncated_heic_is_422(app, client, auth, people, storage_dir):
    whole = heic(size=(256, 256))

    error = assert_error(upload(client, auth(people.assignee), whole[: len(whole) // 2]), 422, "validation_error")

    assert error["details"]["file"][0].startswith("the image data does not decode")
    assert nothing_stored(app, storage_dir)


def test_a_heic_keeps_its_exif_only_when_metadata_is_kept(app, client, auth, people, storage_dir):
    app.config["ATTACHMENTS_STRIP_METADATA"] = False
    headers = auth(people.assignee)

    created = upload(client, headers, heic())

    served = client.get(created.json["url"], headers=headers)
    assert served.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(served.data)).getexif().get(0x010F) == "iPhone"
