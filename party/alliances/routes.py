"""HTTP endpoints for party alliances (党建联合体): themes, alliances, approval, members and meetings."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.coded_routes import CodedListRoutes, CodedListSchemas, CodedListSummaries, register_coded_list
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role
from party.alliances import meetings
from party.alliances import service as alliances
from party.alliances.models import AllianceChange
from party.alliances.schemas import (
    AllianceApproveSchema,
    AllianceChangeListSchema,
    AllianceCreateSchema,
    AllianceDissolveSchema,
    AllianceMeetingCreateSchema,
    AllianceMeetingPageSchema,
    AllianceMeetingQuerySchema,
    AllianceMeetingSchema,
    AllianceMembershipCreateSchema,
    AllianceMembershipListSchema,
    AllianceMembershipQuerySchema,
    AllianceMembershipRemoveSchema,
    AllianceMembershipSchema,
    AlliancePageSchema,
    AllianceQuerySchema,
    AllianceSchema,
    AllianceThemeCreateSchema,
    AllianceThemePageSchema,
    AllianceThemeQuerySchema,
    AllianceThemeSchema,
    AllianceThemeUpdateSchema,
    AllianceUpdateSchema,
)

blp = Blueprint(
    "party_alliances",
    __name__,
    url_prefix="/api/v1/party/alliances",
    description="Party alliances (党建联合体): approval, members with their commitments, joint meetings",
)
themes_blp = Blueprint(
    "party_alliance_themes",
    __name__,
    url_prefix="/api/v1/party/alliance-themes",
    description="Themes of alliances (基层治理, 红色物业, 助企发展, …)",
)


def register(app: Flask) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(themes_blp)


# --- alliances ---------------------------------------------------------------------------------------


@blp.route("", methods=["GET"])
@requires_auth
@blp.arguments(AllianceQuerySchema, location="query")
@cursor_list(alliances.AllianceFilters)
@blp.response(200, AlliancePageSchema)
@documents(403, 404)
def list_alliances(filters: alliances.AllianceFilters, *, limit: int, cursor: str | None) -> Page[Any]:
    """Alliances the caller reads (supervisors: serving their subtree; party staff and secretaries: led or joined
    by their organisations); filters `status`, `theme`, `grid_id` (subtree), `org_id` (a member today), `q`."""
    return alliances.list_alliances(current_principal(), filters, limit=limit, cursor=cursor)


@blp.route("", methods=["POST"])
@requires_auth
@blp.arguments(AllianceCreateSchema)
@blp.response(201, AllianceSchema)
@documents(403)
def create_alliance(data: dict[str, Any]) -> alliances.AllianceView:
    """Propose an alliance (status `proposed`): a supervisor over its territory, or whoever acts for its lead
    organisation (its party staff or secretary); the lead organisation is its first member."""
    return alliances.create_alliance(current_principal(), data)


@blp.route("/<id:alliance_id>", methods=["GET"])
@requires_auth
@blp.response(200, AllianceSchema)
@documents(304, 404)
def get_alliance(alliance_id: int) -> alliances.AllianceView:
    """One alliance the caller reads, with what the caller may do to it now (`allowed_actions`)."""
    return alliances.get_alliance_view(current_principal(), alliance_id)


@blp.route("/<id:alliance_id>", methods=["PATCH"])
@requires_auth
@blp.arguments(AllianceUpdateSchema)
@checks_if_match(
    lambda alliance_id: AllianceSchema().dump(alliances.get_alliance_view(current_principal(), alliance_id))
)
@blp.response(200, AllianceSchema)
@documents(403, 404, 409, 412)
def update_alliance(changes: dict[str, Any], alliance_id: int) -> alliances.AllianceView:
    """Change an alliance's name, theme, charter or formation day; its territory and lead organisation while it
    is proposed. For its lead organisation or a supervisor over its territory; kept in its changes."""
    return alliances.update_alliance(current_principal(), alliance_id, changes)


@blp.route("/<id:alliance_id>/approve", methods=["POST"])
@requires_role(Role.ADMIN, Role.SUPERVISOR)
@blp.arguments(AllianceApproveSchema)
@blp.response(200, AllianceSchema)
@documents(404, 409)
def approve_alliance(data: dict[str, Any], alliance_id: int) -> alliances.AllianceView:
    """审批备案: a supervisor over the alliance's territory approves it; proposed becomes active."""
    return alliances.approve_alliance(current_principal(), alliance_id, data)


@blp.route("/<id:alliance_id>/dissolve", methods=["POST"])
@requires_auth
@blp.arguments(AllianceDissolveSchema)
@blp.response(200, AllianceSchema)
@documents(403, 404, 409)
def dissolve_alliance(data: dict[str, Any], alliance_id: int) -> alliances.AllianceView:
    """Dissolve an alliance with a reason: its live memberships end that day; it stays on record."""
    return alliances.dissolve_alliance(current_principal(), alliance_id, data)


@blp.route("/<id:alliance_id>/changes", methods=["GET"])
@requires_auth
@blp.response(200, AllianceChangeListSchema)
@documents(304, 404)
def list_alliance_changes(alliance_id: int) -> dict[str, list[AllianceChange]]:
    """The alliance's record: who proposed, changed, approved or dissolved it, or changed its members, and when."""
    return {"items": alliances.list_changes(current_principal(), alliance_id)}


# --- members -----------------------------------------------------------------------------------------


@blp.route("/<id:alliance_id>/members", methods=["GET"])
@requires_auth
@blp.arguments(AllianceMembershipQuerySchema, location="query")
@blp.response(200, AllianceMembershipListSchema)
@documents(304, 404)
def list_alliance_members(query: dict[str, Any], alliance_id: int) -> dict[str, Any]:
    """The member organisations with their commitments (共建协议), in the order they joined; `include_left`."""
    items = alliances.list_members(current_principal(), alliance_id, include_left=query["include_left"])
    return {"items": items}


@blp.route("/<id:alliance_id>/members", methods=["POST"])
@requires_auth
@blp.arguments(AllianceMembershipCreateSchema)
@blp.response(201, AllianceMembershipSchema)
@documents(403, 404, 409)
def add_member(data: dict[str, Any], alliance_id: int) -> alliances.MembershipView:
    """An organisation (territorial or host) joins with its commitment; its own party relations are unchanged.
    409 while it is a member already."""
    return alliances.add_member(current_principal(), alliance_id, data)


@blp.route("/<id:alliance_id>/members/<id:membership_id>/remove", methods=["POST"])
@requires_auth
@blp.arguments(AllianceMembershipRemoveSchema)
@blp.response(200, AllianceMembershipSchema)
@documents(403, 404, 409)
def remove_member(data: dict[str, Any], alliance_id: int, membership_id: int) -> alliances.MembershipView:
    """End a membership on a day (today by default) with a reason; it stays on record."""
    return alliances.remove_member(current_principal(), alliance_id, membership_id, data)


# --- meetings ----------------------------------------------------------------------------------------


@blp.route("/<id:alliance_id>/meetings", methods=["GET"])
@requires_auth
@blp.arguments(AllianceMeetingQuerySchema, location="query")
@cursor_list(meetings.MeetingFilters)
@blp.response(200, AllianceMeetingPageSchema)
@documents(404)
def list_meetings(
    filters: meetings.MeetingFilters, alliance_id: int, *, limit: int, cursor: str | None
) -> Page[meetings.MeetingView]:
    """The alliance's meetings (联席会议), latest held first, with the organisations present and the decisions."""
    return meetings.list_meetings(current_principal(), alliance_id, filters, limit=limit, cursor=cursor)


@blp.route("/<id:alliance_id>/meetings", methods=["POST"])
@requires_auth
@blp.arguments(AllianceMeetingCreateSchema)
@blp.response(201, AllianceMeetingSchema)
@documents(403, 404, 409)
def record_meeting(data: dict[str, Any], alliance_id: int) -> meetings.MeetingView:
    """Record a meeting of an active alliance: the member organisations present, the decisions taken (each may
    open or review a project). It is an activity of kind `alliance_meeting` of the lead organisation."""
    return meetings.record_meeting(current_principal(), alliance_id, data)


# --- themes ------------------------------------------------------------------------------------------

register_coded_list(
    themes_blp,
    CodedListRoutes(
        rows=alliances.THEMES,
        singular="theme",
        plural="themes",
        schemas=CodedListSchemas(
            row=AllianceThemeSchema,
            page=AllianceThemePageSchema,
            query=AllianceThemeQuerySchema,
            create=AllianceThemeCreateSchema,
            update=AllianceThemeUpdateSchema,
        ),
        summaries=CodedListSummaries(
            list="Themes in display order, inactive ones included; filter `active`.",
            create="Add a theme; its code is permanent.",
            get="One theme, active or not.",
            update="Rename, reorder or (de)activate a theme; alliances keep an inactive theme.",
        ),
        code_description="the theme's code, e.g. red_property",
    ),
)
