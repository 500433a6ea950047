"""The wire format of photos: the upload's one file, and a stored photo's description."""

from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from kernel.api import BaseSchema, IdField, Timestamp


class PhotoUploadSchema(BaseSchema):
    file = Upload(
        required=True,
        metadata={
            "description": "the photo: JPEG, PNG, WebP or HEIC (stored as JPEG); at most 10 MB, 40 megapixels and "
            "16,384 pixels a side"
        },
    )


class AttachmentSchema(Schema):
    id = IdField(required=True)
    ticket_id = IdField(required=True, allow_none=True, metadata={"description": "null until linked to a ticket"})
    content_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    size = fields.Integer(required=True, metadata={"description": "bytes, as stored (after metadata removal)"})
    sha256 = fields.String(required=True, metadata={"description": "of the stored bytes; also the ETag"})
    filename = fields.String(required=True, allow_none=True, metadata={"description": "the sender's name for it"})
    created_at = Timestamp(required=True)
    url = fields.Function(
        lambda attachment: url_for("attachments.get_attachment", attachment_id=attachment.id),
        required=True,
        metadata={"type": "string", "description": "where to download it", "example": "/api/v1/attachments/42"},
    )
