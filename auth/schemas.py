"""The wire format of accounts and tokens."""

from typing import Any

import phonenumbers
from marshmallow import Schema, ValidationError, fields, validate

from grid.schemas import GridBriefSchema, unit_brief_document
from kernel.api import BaseSchema, IdField, PageQuerySchema, StrictBoolean, Timestamp, format_timestamp, page_schema
from kernel.i18n import _, _l
from kernel.principals import Role

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$", error=_l("3 to 64 letters, digits, '_', '.' or '-'"))
PASSWORD = validate.Length(min=1, max=256)


def refuse_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(_("Must not be blank."))


MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


class MainlandMobile(fields.String):
    """A mainland China mobile number, stored as its 11 national digits."""

    default_error_messages = {"invalid_phone": "Not a valid mainland China mobile number."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            number = phonenumbers.parse(text, "CN")
        except phonenumbers.NumberParseException:
            raise self.make_error("invalid_phone") from None
        if number.country_code != 86 or not phonenumbers.is_valid_number(number) or not self.accepts(number):
            raise self.make_error("invalid_phone")
        return phonenumbers.national_significant_number(number)

    def accepts(self, number: phonenumbers.PhoneNumber) -> bool:
        """Which valid mainland numbers this field takes."""
        return phonenumbers.number_type(number) in MOBILE_TYPES


class UserSchema(Schema):
    id = IdField(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    scope_grid_id = IdField(required=True, allow_none=True)
    scope_grid = fields.Nested(GridBriefSchema, required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True, metadata={"example": "13812345678"})
    active = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """The declared document written by hand (`document`): marshmallow's field-by-field dump was a sixth of
        `/auth/me` (docs/PERFORMANCE.md). The fields above stay the contract; tests/auth/test_user_documents.py
        holds both writers equal."""
        if self.many if many is None else many:
            return [self.document(account) for account in obj]
        return self.document(obj)

    def reference_dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """The document as marshmallow writes it from the declared fields."""
        return super().dump(obj, many=many)

    def document(self, account: Any) -> dict[str, Any]:
        return user_document(account)


class MeSchema(UserSchema):
    grid_ids = fields.List(IdField(), required=True, metadata={"description": "cells assigned (workers)"})

    def document(self, account: Any) -> dict[str, Any]:
        return {**user_document(account), "grid_ids": [str(grid_id) for grid_id in account.grid_ids]}


def user_document(account: Any) -> dict[str, Any]:
    """An account as UserSchema declares it, written field by field."""
    unit = account.scope_grid
    return {
        "id": str(account.id),
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role.value,
        "scope_grid_id": None if account.scope_grid_id is None else str(account.scope_grid_id),
        "scope_grid": None if unit is None else unit_brief_document(unit),
        "phone": account.phone,
        "active": account.active,
        "created_at": format_timestamp(account.created_at),
        "updated_at": format_timestamp(account.updated_at),
    }


UserPageSchema = page_schema(UserSchema, "UserPageSchema")


class UserCreateSchema(BaseSchema):
    username = fields.String(required=True, validate=USERNAME)
    display_name = fields.String(required=True, validate=[validate.Length(min=1, max=64), refuse_blank])
    role = fields.Enum(Role, by_value=True, required=True)
    scope_grid_id = IdField(allow_none=True, load_default=None)
    phone = MainlandMobile(allow_none=True, load_default=None)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    active = StrictBoolean(load_default=True)


class UserUpdateSchema(BaseSchema):
    display_name = fields.String(validate=[validate.Length(min=1, max=64), refuse_blank])
    role = fields.Enum(Role, by_value=True)
    scope_grid_id = IdField(allow_none=True)
    phone = MainlandMobile(allow_none=True)
    password = fields.String(validate=PASSWORD, load_only=True, metadata={"description": "reset; ends all sessions"})
    active = StrictBoolean()


class UserQuerySchema(PageQuerySchema):
    role = fields.Enum(Role, by_value=True)
    q = fields.String(validate=validate.Length(min=1, max=64))
    active = fields.Boolean()


class LoginSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=PASSWORD)


class PasswordChangeSchema(BaseSchema):
    old_password = fields.String(required=True, validate=PASSWORD)
    new_password = fields.String(required=True, validate=PASSWORD)


class BrowserTokenSchema(Schema):
    """What a browser's login or refresh answers: the refresh token travels in an httpOnly cookie instead."""

    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token lives"})
    user = fields.Nested(UserSchema, required=True)


class TokenSchema(BrowserTokenSchema):
    refresh_token = fields.String(required=True)


class LoginTokenSchema(TokenSchema):
    device_token = fields.String(
        required=True,
        metadata={
            "description": "this device's token for its next logins (header X-Device-Token): keep it with the "
            "refresh token; each login replaces it, and it ends with this login's session"
        },
    )
