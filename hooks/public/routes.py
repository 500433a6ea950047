"""`/api/v1/public`: what residents read without an account (no bearer token), rate-limited per address."""

from typing import Any

from flask import Flask, request
from marshmallow import Schema, fields

from hooks.public import service
from kernel.api import BaseSchema, Blueprint, FullMatch, Timestamp, documents
from kernel.extensions import api
from kernel.i18n import _l

public_blp = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public",
    description="For residents, without an account: a ticket's status by its number and the reporter's phone digits",
)


def register(app: Flask) -> None:
    api.register_blueprint(public_blp)


class LookupQuerySchema(BaseSchema):
    phone_last4 = fields.String(
        required=True,
        validate=FullMatch(r"[0-9]{4}", error=_l("the last four digits of the phone that reported it")),
        metadata={"example": "5678"},
    )


class StepSchema(Schema):
    action = fields.String(required=True, metadata={"example": "dispatch"})
    name = fields.String(required=True, metadata={"example": "已派单"})
    at = Timestamp(required=True)


class PublicTicketSchema(Schema):
    no = fields.String(required=True, metadata={"example": "20261206-000123"})
    status = fields.String(required=True, metadata={"example": "in_progress"})
    status_name = fields.String(required=True, metadata={"example": "处理中"})
    unit_name = fields.String(required=True, metadata={"description": "the unit handling it"})
    created_at = Timestamp(required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True, metadata={"description": "oldest first"})


@public_blp.route("/tickets/<no>", methods=["GET"])
@public_blp.arguments(LookupQuerySchema, location="query")
@public_blp.response(200, PublicTicketSchema)
@documents(404, 422, 429)
def lookup_ticket(query: dict[str, Any], no: str) -> service.PublicTicket:
    """A resident's ticket by its number and the last four digits of the phone that reported it: status, the unit
    handling it and the steps so far, without names, phone numbers or any free text. The same 404 for a wrong
    number and for wrong digits; 429 past `PUBLIC_LOOKUPS_PER_MINUTE_PER_ADDRESS` lookups a minute from one
    address."""
    service.check_address(request.remote_addr or "")
    return service.lookup(no, query["phone_last4"])
