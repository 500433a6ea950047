"""HTTP endpoints for photos: upload (multipart/form-data, one file in `file`) and download."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from werkzeug.wsgi import wrap_file

from kernel.api import Blueprint, documents
from kernel.errors import ValidationError
from kernel.extensions import api
from kernel.i18n import _
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from kernel.transaction import accepts
from tasks.photos import service
from tasks.photos.models import Attachment
from tasks.photos.schemas import AttachmentSchema, PhotoUploadSchema

F = TypeVar("F", bound=Callable[..., Any])

blp = Blueprint(
    "attachments",
    __name__,
    url_prefix="/api/v1",
    description="Photos (照片): JPEG, PNG, WebP or HEIC (stored as JPEG), recognised from their bytes and decoded "
    "(over 40 megapixels or 16,384 pixels a side, or not decoding: 422); EXIF and GPS removed unless "
    "configured otherwise. Upload before the ticket exists and pass the ids as `photos`, or upload to a ticket.",
)
EVERYONE = (Role.ADMIN, Role.SUPERVISOR, Role.WORKER, Role.VOLUNTEER)
# Party staff photograph their organisations' activities (held by the party layer's records), not tickets.
UPLOADERS = (*EVERYONE, Role.PARTY_STAFF)
# Boundaries and part headers around the photo: the request may exceed the photo's cap by this much.
MULTIPART_ALLOWANCE = 64 * 1024
# What `details` calls a multipart part sent without a name.
NAMELESS_PART = "(part without a name)"
# Photos are immutable: a client may keep one for a day, then revalidate with its ETag (its SHA-256).
CACHE_SECONDS = 86400


def register(app: Flask) -> None:
    api.register_blueprint(blp)


def limits_upload(view: F) -> F:
    """Cap the body at one photo and its multipart framing; a larger Content-Length is 413 before any reading."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        max_bytes = current_app.config["ATTACHMENTS_MAX_BYTES"]
        request.max_content_length = max_bytes + MULTIPART_ALLOWANCE  # also bounds chunked bodies
        request.max_form_parts = 16  # one file and perhaps a few fields a client adds on its own
        if request.content_length is not None and request.content_length > request.max_content_length:
            raise service.PayloadTooLargeError(
                _("A photo may be at most %(value)s MB.", value=max_bytes // (1024 * 1024)),
                {"file": [_("at most %(max_bytes)s bytes", max_bytes=max_bytes)]},
            )
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@blp.route("/attachments", methods=["POST"])
@accepts("multipart/form-data")
@limits_upload
@requires_role(*UPLOADERS)
@blp.arguments(PhotoUploadSchema, location="files")
@blp.response(201, AttachmentSchema)
@documents(413, 415)
def upload_photo(files: dict[str, Any]) -> Attachment:
    """Upload a photo before its ticket exists; pass its id in `photos` (intake, resolve) to link it, or in
    a party activity's `photo_ids`.

    Until linked, only you (and admins) can see it. The type is judged by the bytes, not the name or header:
    anything but JPEG, PNG, WebP or HEIC is 415; above 10 MB, 413; an image no phone can show (over 40 megapixels
    or 16,384 pixels a side, or data that does not decode) 422 with the reason. HEIC is stored as JPEG."""
    upload = _the_one_file(files)
    return service.upload_photo(current_principal(), upload.stream, upload.filename)


@blp.route("/tickets/<id:ticket_id>/attachments", methods=["POST"])
@accepts("multipart/form-data")
@limits_upload
@requires_role(*EVERYONE)
@blp.arguments(PhotoUploadSchema, location="files")
@blp.response(201, AttachmentSchema)
@documents(404, 413, 415)
def attach_photo(files: dict[str, Any], ticket_id: int) -> Attachment:
    """Add a photo to a ticket: for its assignee, or an admin or supervisor over it (others 403).

    Same rules for the file as `POST /attachments`."""
    upload = _the_one_file(files)
    return service.attach_photo(current_principal(), ticket_id, upload.stream, upload.filename)


def _the_one_file(files: dict[str, Any]) -> Any:
    """The body holds the photo in `file` and nothing else: other parts are refused like unknown JSON fields."""
    extra = [name for name in (*request.form.keys(), *request.files.keys()) if name != "file"]
    if extra:
        # A part without a name comes as None, which could not sit among the other names in `details`.
        raise ValidationError(
            _("Only the photo, in the field `file`, may be sent."),
            {NAMELESS_PART if name is None else name: ["Unknown field."] for name in extra},
        )
    return files["file"]


@blp.route("/attachments/<id:attachment_id>", methods=["GET"])
@requires_role(*UPLOADERS)
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="image/*",
    description="The photo's bytes as `image/jpeg`, `image/png` or `image/webp`, with an ETag (its SHA-256).",
)
@documents(304, 404)
def get_attachment(attachment_id: int) -> Response:
    """Download a photo's bytes.

    An unlinked photo only by its uploader (and admins), a linked one by whoever may see its ticket (or the
    party activity holding it); 404 otherwise. `If-None-Match` with its ETag gives 304."""
    attachment, stream = service.open_photo(current_principal(), attachment_id)
    response = current_app.response_class(
        wrap_file(request.environ, stream), mimetype=attachment.content_type, direct_passthrough=True
    )
    response.content_length = attachment.size
    response.set_etag(attachment.sha256)
    response.last_modified = attachment.created_at
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    # Served from the API's origin: never let a browser read it as anything but the image it is.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response.make_conditional(request)
