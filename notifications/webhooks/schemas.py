"""The wire format of webhooks: the secret is write-only, shown once in the creation response."""

from typing import Any

from marshmallow import Schema, fields, validate

from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, Timestamp, page_schema
from kernel.i18n import _l
from kernel.signing import SECRET_MAX_LENGTH, SECRET_MIN_LENGTH, SECRET_PATTERN
from notifications.webhooks.models import DESCRIPTION_MAX_LENGTH, STATUS_NAME_MAX_LENGTH, URL_MAX_LENGTH, WEBHOOK_EVENTS
from tasks.lifecycle import Status


def _url(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=URL_MAX_LENGTH),
        metadata={
            "description": "https:// (http:// only where WEBHOOKS_ALLOW_HTTP is on); its host must resolve to "
            "public addresses only, checked now and again before every delivery",
            "example": "https://ops.example.gov.cn/hooks/grid",
        },
        **kwargs,
    )


def _events(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(WEBHOOK_EVENTS)),
        validate=validate.Length(min=1, max=len(WEBHOOK_EVENTS)),
        metadata={"description": "the events to receive (duplicates are merged)", "example": ["ticket.resolved"]},
        **kwargs,
    )


def signing_secret(description: str) -> fields.String:
    """A write-only HMAC key field (webhooks out, integrations in)."""
    return fields.String(
        load_only=True,
        validate=[
            validate.Length(min=SECRET_MIN_LENGTH, max=SECRET_MAX_LENGTH),
            FullMatch(SECRET_PATTERN, error=_l("printable ASCII without spaces")),
        ],
        metadata={"description": description},
    )


def _description(**kwargs: Any) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Length(max=DESCRIPTION_MAX_LENGTH),
        metadata={"example": "12345 热线平台"},
        **kwargs,
    )


def _status_names(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf([status.value for status in Status])),
        values=fields.String(validate=validate.Length(min=1, max=STATUS_NAME_MAX_LENGTH)),
        validate=validate.Length(max=len(Status)),
        metadata={
            "description": "the receiver's own names for ticket statuses, sent as `status_name` "
            "(unnamed statuses: the resident's Chinese name)",
            "example": {"pending": "受理", "assigned": "办理中", "in_progress": "办理中", "resolved": "办结"},
        },
        **kwargs,
    )


# --- output ----------------------------------------------------------------------------------------


class WebhookSchema(Schema):
    id = IdField(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True, metadata={"description": "false: nothing is owed to it or sent"})
    description = fields.String(required=True, allow_none=True)
    status_names = _status_names(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class WebhookCreatedSchema(WebhookSchema):
    """The creation response: the only one that ever shows the secret."""

    secret = fields.String(
        required=True, metadata={"description": "shown only in this response: keep it to verify X-Grid-Signature"}
    )


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPageSchema")


# --- input -----------------------------------------------------------------------------------------


class WebhookCreateSchema(BaseSchema):
    url = _url(required=True)
    events = _events(required=True)
    secret = signing_secret("the HMAC-SHA256 key for X-Grid-Signature; generated when absent; write-only")
    active = StrictBoolean(load_default=True)
    description = _description(load_default=None)
    status_names = _status_names(load_default=dict)


class WebhookUpdateSchema(BaseSchema):
    url = _url()
    events = _events()
    secret = signing_secret("a new key (rotation): deliveries sent from now on are signed with it; write-only")
    active = StrictBoolean(metadata={"description": "false pauses it: pending deliveries are given up"})
    description = _description()
    status_names = _status_names()


class WebhookQuerySchema(PageQuerySchema):
    active = fields.Boolean(metadata={"description": "only active (true) or inactive (false) webhooks"})
