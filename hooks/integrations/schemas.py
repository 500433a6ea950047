"""The wire format of integrations (credentials write-only, shown once) and the requests they push."""

from typing import Any

from marshmallow import Schema, fields, validate

from hooks.integrations.models import DESCRIPTION_MAX_LENGTH, EXTERNAL_ID_MAX_LENGTH, NAME_MAX_LENGTH, AuthMethod
from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from notifications.webhooks.schemas import signing_secret
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
