"""The wire format of notifications: the admins' view of the outbox and an account's own inbox."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kernel.api import BaseSchema, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from kernel.i18n import _
from kernel.privacy import mask_phone
from notifications.outbox import service
from notifications.outbox.models import DeliveryStatus, Medium, Notification

MAX_READ_IDS = 500


# --- input ----------------------------------------------------------------------------------------


class NotificationQuerySchema(PageQuerySchema):
    status = fields.Enum(DeliveryStatus, by_value=True, metadata={"description": "e.g. dead: what needs an admin"})
    medium = fields.Enum(Medium, by_value=True)
    ticket_id = IdField()
    event = fields.String(validate=validate.Length(min=1, max=40), metadata={"example": "ticket.resolved"})


class InboxQuerySchema(PageQuerySchema):
    unread = fields.Boolean(metadata={"description": "true: only what you have not read; false: only what you have"})


class MarkReadSchema(BaseSchema):
    ids = fields.List(
        StrictId(),
        validate=validate.Length(min=1, max=MAX_READ_IDS),
        metadata={"description": "your messages to mark read (others' ids change nothing)"},
    )
    all = StrictBoolean(validate=validate.Equal(True), metadata={"description": "true: everything you have"})

    @validates_schema
    def ids_or_all(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("ids" in data) == ("all" in data):
            raise ValidationError(_("Send either ids or all: true."), "ids")


# --- output ---------------------------------------------------------------------------------------


class NotificationSchema(Schema):
    """A notification as admins see it; the recipient's phone number is masked."""

    id = IdField(required=True)
    message_id = fields.String(required=True, metadata={"description": "stable across retries; sent to the channel"})
    event = fields.String(required=True, metadata={"example": "ticket.resolved"})
    medium = fields.Enum(Medium, by_value=True, required=True)
    recipient_account_id = IdField(allow_none=True, required=True)
    recipient_phone = fields.Method("_phone", allow_none=True, required=True, metadata={"type": "string"})
    webhook_id = IdField(allow_none=True, required=True)
    ticket_id = IdField(allow_none=True, required=True)
    template = fields.String(required=True)
    params = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    text = fields.Function(service.text_of, required=True, metadata={"type": "string"})
    urgent = fields.Boolean(required=True)
    status = fields.Enum(DeliveryStatus, by_value=True, required=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = Timestamp(required=True, metadata={"description": "while sending: when the lease ends"})
    provider_id = fields.String(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)
    sent_at = Timestamp(allow_none=True, required=True)
    delivered_at = Timestamp(allow_none=True, required=True)
    read_at = Timestamp(allow_none=True, required=True)

    def _phone(self, notification: Notification) -> str | None:
        return mask_phone(notification.recipient_phone)


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPageSchema")


class InboxItemSchema(Schema):
    """One message in your inbox."""

    id = IdField(required=True)
    event = fields.String(required=True, metadata={"example": "ticket.urged"})
    ticket_id = IdField(allow_none=True, required=True)
    ticket_no = fields.Function(
        lambda notification: (notification.params or {}).get("no"),
        allow_none=True,
        required=True,
        metadata={"type": "string"},
    )
    text = fields.Function(service.text_of, required=True, metadata={"type": "string"})
    urgent = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    read_at = Timestamp(allow_none=True, required=True, metadata={"description": "null: unread"})


InboxPageSchema = page_schema(InboxItemSchema, "InboxPageSchema")


class MarkReadResultSchema(Schema):
    count = fields.Integer(required=True, metadata={"description": "messages newly marked read"})
