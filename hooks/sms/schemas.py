"""The wire format of SMS provider callbacks (their own JSON, documented here) and of what admins read of them."""

from marshmallow import Schema, fields, validate

from hooks.sms.formats import MAX_ITEMS, PROVIDERS
from hooks.sms.models import InboundStatus, ReportOutcome
from kernel.api import BaseSchema, IdField, PageQuerySchema, Timestamp, page_schema
from kernel.privacy import mask_phone


class CallbackQuerySchema(BaseSchema):
    token = fields.String(
        validate=validate.Length(max=256),
        metadata={"description": "the provider's secret callback token (SMS_CALLBACK_TOKEN_<PROVIDER>)"},
    )


class AckSchema(Schema):
    """What the provider expects back: Aliyun and http `{code: 0, msg}`, Tencent `{result: 0, errmsg: "OK"}`."""

    # Each provider's pair is present only in its own acknowledgement.
    code = fields.Integer(metadata={"x-optional": True})
    msg = fields.String(metadata={"x-optional": True})
    result = fields.Integer(metadata={"x-optional": True})
    errmsg = fields.String(metadata={"x-optional": True})


# Flat objects of text, numbers and true/false: what every provider sends (other items are kept as ignored).
CALLBACK_ITEM = {
    "type": "object",
    "additionalProperties": {
        # null is a string's: exactly one branch must match
        "oneOf": [{"type": "string", "nullable": True}, {"type": "number"}, {"type": "boolean"}],
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
    phone = fields.Function(
        lambda row: mask_phone(row.phone), required=True, allow_none=True, metadata={"type": "string"}
    )
    text = fields.String(required=True)
    sent_at = Timestamp(required=True, allow_none=True)
    status = fields.Enum(InboundStatus, by_value=True, required=True)
    outcome = fields.String(
        required=True, allow_none=True, metadata={"description": "rated, commented, filed or answered"}
    )
    reason = fields.String(required=True, allow_none=True, metadata={"description": "why unmatched or ignored"})
    ticket_id = IdField(required=True, allow_none=True)
    rating = fields.Integer(required=True, allow_none=True)
    request_id = IdField(
        required=True, allow_none=True, metadata={"description": "status filed: the request it became (triage)"}
    )
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
