"""HTTP endpoints for organisation life on record: activity kinds, activities, their changes, yearly life."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.coded_routes import CodedListRoutes, CodedListSchemas, CodedListSummaries, register_coded_list
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role
from party.activities import service
from party.activities.schemas import (
    ActivityCancelSchema,
    ActivityChangeListSchema,
    ActivityCreateSchema,
    ActivityKindCreateSchema,
    ActivityKindPageSchema,
    ActivityKindQuerySchema,
    ActivityKindSchema,
    ActivityKindUpdateSchema,
    ActivityPageSchema,
    ActivityQuerySchema,
    ActivitySchema,
    ActivityUpdateSchema,
    LifeQuerySchema,
    LifeSchema,
    MyActivityQuerySchema,
)

activities_blp = Blueprint(
    "party_activities",
    __name__,
    url_prefix="/api/v1/party",
    description="Organisation life on record (全程纪实): 三会一课, 主题党日, 志愿服务 with attendance",
)
kinds_blp = Blueprint(
    "party_activity_kinds",
    __name__,
    url_prefix="/api/v1/party/activity-kinds",
    description="Kinds of activity (组织生活类型) and their yearly minimum",
)

READERS = (Role.ADMIN, Role.PARTY_STAFF, Role.SUPERVISOR)
MANAGERS = (Role.ADMIN, Role.PARTY_STAFF)


def register(app: Flask) -> None:
    api.register_blueprint(activities_blp)
    api.register_blueprint(kinds_blp)


# --- activities ------------------------------------------------------------------------------------


@activities_blp.route("/activities", methods=["GET"])
@requires_role(*READERS)
@activities_blp.arguments(ActivityQuerySchema, location="query")
@cursor_list(service.ActivityFilters)
@activities_blp.response(200, ActivityPageSchema)
@documents(404)
def list_activities(filters: service.ActivityFilters, *, limit: int, cursor: str | None) -> Page[service.ActivityView]:
    """Activities of the organisations in the caller's party scope, latest held first; filters `org_id`
    (subtree), `kind`, `status`, `from`/`to` (Beijing days, inclusive)."""
    return service.list_activities(current_principal(), filters, limit=limit, cursor=cursor)


@activities_blp.route("/activities", methods=["POST"])
@requires_role(*MANAGERS)
@activities_blp.arguments(ActivityCreateSchema)
@activities_blp.response(201, ActivitySchema)
def create_activity(data: dict[str, Any]) -> service.ActivityView:
    """Record an activity an organisation you manage held: attendance (members of its subtree: present, or
    absent with a reason) and photos (`photo_ids`); the members present earn the `activity.attended` rule."""
    return service.create_activity(current_principal(), data)


@activities_blp.route("/activities/<id:activity_id>", methods=["GET"])
@requires_auth
@activities_blp.response(200, ActivitySchema)
@documents(304, 404)
def get_activity(activity_id: int) -> service.ActivityView:
    """One activity in the caller's party scope, or one the caller's member record is marked at."""
    return service.get_activity(current_principal(), activity_id)


@activities_blp.route("/activities/<id:activity_id>", methods=["PATCH"])
@requires_role(*MANAGERS)
@activities_blp.arguments(ActivityUpdateSchema)
@checks_if_match(lambda activity_id: ActivitySchema().dump(service.get_activity(current_principal(), activity_id)))
@activities_blp.response(200, ActivitySchema)
@documents(404, 409, 412)
def update_activity(changes: dict[str, Any], activity_id: int) -> service.ActivityView:
    """Correct an activity you manage (with a `note` saying why): details, attendance (a list given replaces
    that list), photos (added). Kept in its changes; the points follow the attendance's difference."""
    return service.update_activity(current_principal(), activity_id, changes)


@activities_blp.route("/activities/<id:activity_id>/cancel", methods=["POST"])
@requires_role(*MANAGERS)
@activities_blp.arguments(ActivityCancelSchema)
@activities_blp.response(200, ActivitySchema)
@documents(404, 409)
def cancel_activity(data: dict[str, Any], activity_id: int) -> service.ActivityView:
    """Cancel an activity you manage, with a reason: it stays on record, counts for nothing, and the points
    its attendance earned are taken back."""
    return service.cancel_activity(current_principal(), activity_id, data["reason"])


@activities_blp.route("/activities/<id:activity_id>/changes", methods=["GET"])
@requires_auth
@activities_blp.response(200, ActivityChangeListSchema)
@documents(304, 404)
def list_changes(activity_id: int) -> dict[str, Any]:
    """The activity's record: who recorded, corrected or cancelled it, when, what changed and why."""
    return {"items": service.list_changes(current_principal(), activity_id)}


@activities_blp.route("/me/activities", methods=["GET"])
@requires_auth
@activities_blp.arguments(MyActivityQuerySchema, location="query")
@cursor_list(service.ActivityFilters)
@activities_blp.response(200, ActivityPageSchema)
@documents(404)
def list_my_activities(
    filters: service.ActivityFilters, *, limit: int, cursor: str | None
) -> Page[service.ActivityView]:
    """The activities the caller was marked at, present or absent, latest first (404 without a member record)."""
    return service.list_my_activities(current_principal(), filters, limit=limit, cursor=cursor)


@activities_blp.route("/orgs/<id:org_id>/life", methods=["GET"])
@requires_role(*READERS)
@activities_blp.arguments(LifeQuerySchema, location="query")
@activities_blp.response(200, LifeSchema)
@documents(304, 404)
def get_life(query: dict[str, Any], org_id: int) -> service.Life:
    """组织生活: the organisation's activities held in the year (Beijing time) by kind, against each kind's
    yearly minimum, with what is missing and, this year, what is due so far. A branch counts its groups'
    activities with its own; other organisations count their own."""
    return service.life(current_principal(), org_id, query.get("year"))


# --- kinds -----------------------------------------------------------------------------------------

register_coded_list(
    kinds_blp,
    CodedListRoutes(
        rows=service.KINDS,
        singular="kind",
        plural="kinds",
        schemas=CodedListSchemas(
            row=ActivityKindSchema,
            page=ActivityKindPageSchema,
            query=ActivityKindQuerySchema,
            create=ActivityKindCreateSchema,
            update=ActivityKindUpdateSchema,
        ),
        summaries=CodedListSummaries(
            list="Kinds of activity in display order, inactive ones included; filter `active`.",
            create="Add a kind of activity with its yearly minimum; its code is permanent.",
            get="One kind of activity, active or not.",
            update="Rename, reorder, change the yearly minimum or (de)activate a kind; activities keep an inactive "
            "kind.",
        ),
        code_description="the kind's code, e.g. theme_day",
    ),
)
