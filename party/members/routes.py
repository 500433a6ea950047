"""HTTP endpoints for the party member register and the member classes."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.coded_routes import CodedListRoutes, CodedListSchemas, CodedListSummaries, register_coded_list
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role
from kernel.transaction import read_in_transaction
from party.members import service
from party.members.schemas import (
    MemberClassCreateSchema,
    MemberClassPageSchema,
    MemberClassQuerySchema,
    MemberClassSchema,
    MemberClassUpdateSchema,
    MemberContactQuerySchema,
    MemberContactSchema,
    MemberCreateSchema,
    MemberPageSchema,
    MemberQuerySchema,
    MemberSchema,
    MemberUpdateSchema,
)

members_blp = Blueprint(
    "party_members", __name__, url_prefix="/api/v1/party/members", description="Party members (党员) and their records"
)
classes_blp = Blueprint(
    "party_member_classes",
    __name__,
    url_prefix="/api/v1/party/member-classes",
    description="Classes of party members (党员分类)",
)

READERS = (Role.ADMIN, Role.PARTY_STAFF, Role.SUPERVISOR)
MANAGERS = (Role.ADMIN, Role.PARTY_STAFF)


def register(app: Flask) -> None:
    api.register_blueprint(members_blp)
    api.register_blueprint(classes_blp)


# --- members -------------------------------------------------------------------------------------


@members_blp.route("", methods=["GET"])
@requires_role(*READERS)
@members_blp.arguments(MemberQuerySchema, location="query")
@cursor_list(service.MemberFilters)
@members_blp.response(200, MemberPageSchema)
@documents(404)
def list_members(filters: service.MemberFilters, *, limit: int, cursor: str | None) -> Page[service.MemberView]:
    """Members of the organisations in the caller's party scope, by id; filters `org_id` (subtree), `class`,
    `active`, `q` (name), `home_grid_id` (subtree), `has_account`. Phones are masked."""
    return service.list_members(current_principal(), filters, limit=limit, cursor=cursor)


@members_blp.route("", methods=["POST"])
@requires_role(*MANAGERS)
@members_blp.arguments(MemberCreateSchema)
@members_blp.response(201, MemberSchema)
@documents(409)
def create_member(data: dict[str, Any]) -> service.MemberView:
    """Register a member in an organisation you manage, optionally linked to their account (one member each)."""
    return service.create_member(current_principal(), data)


@members_blp.route("/<id:member_id>", methods=["GET"])
@requires_auth
@members_blp.response(200, MemberSchema)
@documents(304, 404)
def get_member(member_id: int) -> service.MemberView:
    """One member in the caller's party scope, or the caller's own record (the phone in full only there)."""
    return service.get_member(current_principal(), member_id)


@members_blp.route("/<id:member_id>", methods=["PATCH"])
@requires_role(*MANAGERS)
@members_blp.arguments(MemberUpdateSchema)
@checks_if_match(lambda member_id: MemberSchema().dump(service.get_member(current_principal(), member_id)))
@members_blp.response(200, MemberSchema)
@documents(404, 409, 412)
def update_member(changes: dict[str, Any], member_id: int) -> service.MemberView:
    """Change a member you manage; a member leaves with `{"left_on": …, "active": false}` and is never deleted."""
    return service.update_member(current_principal(), member_id, changes)


@members_blp.route("/<id:member_id>/contact", methods=["GET"])
@requires_role(*MANAGERS)
@members_blp.arguments(MemberContactQuerySchema, location="query")
@members_blp.response(200, MemberContactSchema)
@documents(404)
@read_in_transaction
def get_member_contact(query: dict[str, Any], member_id: int) -> service.MemberContact:
    """The member's full phone number, for admins and the party staff over them; every read is recorded with
    its reason in the access log."""
    return service.reveal_phone(current_principal(), member_id, query["reason"])


# --- member classes --------------------------------------------------------------------------------

register_coded_list(
    classes_blp,
    CodedListRoutes(
        rows=service.CLASSES,
        singular="class",
        plural="classes",
        schemas=CodedListSchemas(
            row=MemberClassSchema,
            page=MemberClassPageSchema,
            query=MemberClassQuerySchema,
            create=MemberClassCreateSchema,
            update=MemberClassUpdateSchema,
        ),
        summaries=CodedListSummaries(
            list="Member classes (在职, 离退休, 流动, 困难, …) in display order, inactive ones included; filter "
            "`active`.",
            create="Add a member class; its code is permanent.",
            get="One member class, active or not.",
            update="Rename, reorder or (de)activate a class; members keep an inactive class, new members cannot be "
            "given it.",
        ),
        code_description="the class's code, e.g. retired",
    ),
)
