"""The wire format of integrations (credentials write-only, shown once) and the requests they push."""

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from hooks.integrations.models import DESCRIPTION_MAX_LENGTH, EXTERNAL_ID_MAX_LENGTH, NAME_MAX_LENGTH, AuthMethod
from kernel.api import BaseSchema, FullMatch, IdField, PageQuerySchema, StrictBoolean, StrictId, Timestamp, page_schema
from kernel.i18n import _, _l
from notifications.webhooks.schemas import signing_secret
from tasks.tickets.models import Channel
from tasks.tickets.schemas import REASON, RequestCreateSchema, RequestSchema, TicketSchema

PRINTABLE = r"^[\x21-\x7e]+$"
CATEGORY_MAP_MAX_PAIRS = 500
EXTERNAL_CODE_MAX_LENGTH = 64


# --- integrations ----------------------------------------------------------------------------------------------


def _name(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=NAME_MAX_LENGTH), metadata={"example": "12345 热线平台"}, **kwargs
    )


def _description(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX_LENGTH), **kwargs)


def _default_category(**kwargs: Any) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "our category for pushed codes neither mapped nor ours; null: those are 422"},
        **kwargs,
    )


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
    category_map = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "its own category codes mapped to ours (PUT /integrations/{id}/category-map)"},
    )
    default_category = fields.String(attribute="default_category_code", required=True, allow_none=True)
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
    default_category = _default_category(load_default=None)


class IntegrationUpdateSchema(BaseSchema):
    name = _name()
    description = _description()
    secret = signing_secret("auth_method hmac: a new key (rotation), used from now on; write-only")
    grid_id = _grid_id()
    active = StrictBoolean(metadata={"description": "false: its pushes are refused (401)"})
    default_category = _default_category()


class CategoryMapSchema(Schema):
    """The whole map at once: `{"<its code>": "<our category code>", ...}` (at most 500 pairs; `{}` clears it)."""

    class Meta:
        unknown = INCLUDE

    @validates_schema(pass_original=True)
    def _pairs(self, _data: Any, original: Any, **_kwargs: Any) -> None:
        if not isinstance(original, dict):
            raise ValidationError(_("an object of {external_code: category_code} pairs"))
        if len(original) > CATEGORY_MAP_MAX_PAIRS:
            raise ValidationError(
                _("at most %(CATEGORY_MAP_MAX_PAIRS)s pairs", CATEGORY_MAP_MAX_PAIRS=CATEGORY_MAP_MAX_PAIRS)
            )
        wrong = {
            str(key): ["the key: 1–64 characters; the value: a category code (1–32 characters)"]
            for key, value in original.items()
            if not (0 < len(key) <= EXTERNAL_CODE_MAX_LENGTH and isinstance(value, str) and 0 < len(value) <= 32)
        }
        if wrong:
            raise ValidationError(wrong)

    @post_load(pass_original=True)
    def _as_given(self, _data: Any, original: Any, **_kwargs: Any) -> dict[str, str]:
        return dict(original)


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
            FullMatch(PRINTABLE, error=_l("printable ASCII without spaces")),
        ],
        metadata={"description": "the request's id in your system: a repeat returns the first request (200)"},
    )
    channel = fields.Enum(Channel, by_value=True, load_default=Channel.HOTLINE)


class PushedSchema(Schema):
    external_id = fields.String(required=True)
    request = fields.Nested(RequestSchema, required=True)
    ticket = fields.Nested(
        TicketSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "allowed_actions is always empty; null while the request waits in triage (a push "
            "with no location nor grid_id goes to the integration's own unit's queue)"
        },
    )
    possible_duplicates = fields.List(
        fields.Nested(TicketSchema),
        required=True,
        metadata={"description": "open tickets of the same category nearby lately (empty on a repeat)"},
    )


class PushedFeedbackSchema(BaseSchema):
    """A 回访 result the integration collected for a request it pushed."""

    external_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=EXTERNAL_ID_MAX_LENGTH),
        metadata={"description": "the external_id the request was pushed with"},
    )
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = fields.String(validate=REASON, load_default=None, allow_none=True)
