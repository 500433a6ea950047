"""The wire format of hooks in: integrations (credentials write-only, shown once), pushed requests, SMS callbacks."""

from typing import Any

from marshmallow import Schema, fields, validate

from hooks.models import (
    DESCRIPTION_MAX_LENGTH,
    EXTERNAL_ID_MAX_LENGTH,
    NAME_MAX_LENGTH,
    AuthMethod,
    InboundStatus,
    ReportOutcome,
)
from hooks.sms import MAX_ITEMS, PROVIDERS
from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from kernel.privacy import mask_phone
from notifications.webhook_schemas import signing_secret
from tasks.tickets.models import Channel
from tasks.tickets.schemas import RequestCreateSchema, RequestSchema, TicketSchema

PRINTABLE = r"^[\x21-\x7e]+$"


# --- integrations ----------------------------------------------------------------------------------------------


def _name(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=NAME_MAX_LENGTH), metadata={"example": "12345 热线平台"}, **kwargs
    )


def _description(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX_LENGTH), **kwargs)


def _grid_id(**kwargs: Any) -> StrictId:
    return StrictId(
        allow_none=True,
        metadata={"description": "the subtree it may file requests in; null: the whole territory"},
        **kwargs,
    )


class IntegrationSchema(Schema):
    id = IdField(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    auth_method = fields.Enum(AuthMethod, by_value=True, required=True)
    key_id = fields.String(
        required=True, metadata={"description": "public: the start of the API key, or the X-Grid-Key-Id to send"}
    )
    grid_id = IdField(required=True, allow_none=True)
    account_id = IdField(
        required=True, metadata={"description": "its service account: the actor of the tickets it files"}
    )
    active = fields.Boolean(required=True)
    last_used_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class IntegrationCreatedSchema(IntegrationSchema):
    """The creation response: the only one that ever shows the credential."""

    api_key = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "auth_method api_key: send it as X-Api-Key; shown once"},
    )
    secret = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "auth_method hmac: the key of X-Grid-Signature; shown once"},
    )


IntegrationPageSchema = page_schema(IntegrationSchema, "IntegrationPageSchema")


class IntegrationCreateSchema(BaseSchema):
    name = _name(required=True)
    description = _description(load_default=None)
    auth_method = fields.Enum(AuthMethod, by_value=True, load_default=AuthMethod.API_KEY)
    secret = signing_secret("auth_method hmac: the HMAC-SHA256 key; generated when absent; write-only")
    grid_id = _grid_id(load_default=None)
    active = StrictBoolean(load_default=True)


class IntegrationUpdateSchema(BaseSchema):
    name = _name()
    description = _description()
    secret = signing_secret("auth_method hmac: a new key (rotation), used from now on; write-only")
    grid_id = _grid_id()
    active = StrictBoolean(metadata={"description": "false: its pushes are refused (401)"})


class IntegrationQuerySchema(PageQuerySchema):
    active = fields.Boolean(metadata={"description": "only active (true) or inactive (false) integrations"})


# --- pushed requests -------------------------------------------------------------------------------------------


class PushedRequestCreateSchema(RequestCreateSchema):
    """The intake body (`POST /api/v1/requests`) with the pushing system's own id; no photos (an integration
    cannot upload them) and `channel` `hotline` unless told otherwise."""

    class Meta(RequestCreateSchema.Meta):
        exclude = ("photos",)

    external_id = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=EXTERNAL_ID_MAX_LENGTH),
            FullMatch(PRINTABLE, error="printable ASCII without spaces"),
        ],
        metadata={"description": "the request's id in your system: a repeat returns the first request (200)"},
    )
    channel = fields.Enum(Channel, by_value=True, load_default=Channel.HOTLINE)


class PushedSchema(Schema):
    external_id = fields.String(required=True)
    request = fields.Nested(RequestSchema, required=True)
    ticket = fields.Nested(TicketSchema, required=True, metadata={"description": "allowed_actions is always empty"})
    possible_duplicates = fields.List(
        fields.Nested(TicketSchema),
        required=True,
        metadata={"description": "open tickets of the same category nearby lately (empty on a repeat)"},
    )


# --- SMS callbacks ---------------------------------------------------------------------------------------------


class CallbackQuerySchema(BaseSchema):
    token = fields.String(
        validate=validate.Length(max=256),
        metadata={"description": "the provider's secret callback token (SMS_CALLBACK_TOKEN_<PROVIDER>)"},
    )


class AckSchema(Schema):
    """What the provider expects back: Aliyun and http `{code: 0, msg}`, Tencent `{result: 0, errmsg: "OK"}`."""

    code = fields.Integer()
    msg = fields.String()
    result = fields.Integer()
    errmsg = fields.String()


# Flat objects of text, numbers and true/false: what every provider sends (other items are kept as ignored).
CALLBACK_ITEM = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        "nullable": True,
    },
    "example": {"phone_number": "13912345678", "content": "5", "send_time": "2026-11-23 10:00:00", "sequence_id": 1},
}
CALLBACK_BODY = {
    "required": True,
    "description": "The provider's own JSON: an array of items (Aliyun, Tencent reports), one object (Tencent "
    "replies) or either (http). Items that cannot be read are kept as ignored, not refused.",
    "content": {
        "application/json": {
            "schema": {"oneOf": [{"type": "array", "items": CALLBACK_ITEM, "maxItems": MAX_ITEMS}, CALLBACK_ITEM]},
        }
    },
}


class SmsReplySchema(Schema):
    id = IdField(required=True)
    provider = fields.String(required=True)
    phone = fields.Function(lambda row: mask_phone(row.phone), required=True, allow_none=True)
    text = fields.String(required=True)
    sent_at = Timestamp(required=True, allow_none=True)
    status = fields.Enum(InboundStatus, by_value=True, required=True)
    outcome = fields.String(required=True, allow_none=True, metadata={"description": "rated or commented"})
    reason = fields.String(required=True, allow_none=True, metadata={"description": "why unmatched or ignored"})
    ticket_id = IdField(required=True, allow_none=True)
    rating = fields.Integer(required=True, allow_none=True)
    answer_id = IdField(required=True, allow_none=True, metadata={"description": "the SMS asking for the number"})
    created_at = Timestamp(required=True)


SmsReplyPageSchema = page_schema(SmsReplySchema, "SmsReplyPageSchema")


class SmsReplyQuerySchema(PageQuerySchema):
    status = fields.Enum(InboundStatus, by_value=True)
    provider = fields.String(validate=validate.OneOf(PROVIDERS))


class SmsReportSchema(Schema):
    id = IdField(required=True)
    provider = fields.String(required=True)
    provider_ref = fields.String(required=True, allow_none=True)
    message_ref = fields.String(required=True, allow_none=True)
    delivered = fields.Boolean(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    reported_at = Timestamp(required=True, allow_none=True)
    notification_id = IdField(required=True, allow_none=True)
    outcome = fields.Enum(ReportOutcome, by_value=True, required=True)
    reason = fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)


SmsReportPageSchema = page_schema(SmsReportSchema, "SmsReportPageSchema")


class SmsReportQuerySchema(PageQuerySchema):
    outcome = fields.Enum(ReportOutcome, by_value=True)
    provider = fields.String(validate=validate.OneOf(PROVIDERS))
