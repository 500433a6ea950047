"""HTTP endpoints of 双报到: service areas, check-ins and their lifecycle, service records, a member's yearly
service, and the workbook reported back to the work unit (报到反馈)."""

from typing import Any
from urllib.parse import quote

from flask import Flask, Response

from dashboards.ledgers import file_chunks
from kernel import idempotency
from kernel.api import Blueprint, PageQuerySchema, documents
from kernel.coded_routes import CodedListRoutes, CodedListSchemas, CodedListSummaries, register_coded_list
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role
from party.checkins import export, records, service
from party.checkins.models import CheckIn, ServiceRecord
from party.checkins.schemas import (
    CheckInCreateSchema,
    CheckInPageSchema,
    CheckInQuerySchema,
    CheckInSchema,
    ConfirmSchema,
    DecisionSchema,
    EndSchema,
    RejectSchema,
    ServiceAreaCreateSchema,
    ServiceAreaPageSchema,
    ServiceAreaQuerySchema,
    ServiceAreaSchema,
    ServiceAreaUpdateSchema,
    ServiceExportQuerySchema,
    ServiceQuerySchema,
    ServiceRecordPageSchema,
    ServiceSummarySchema,
)

areas_blp = Blueprint(
    "party_service_areas",
    __name__,
    url_prefix="/api/v1/party/service-areas",
    description="Service areas of 双报到 (环境整治, 助老, 矛盾调解, …)",
)
check_ins_blp = Blueprint(
    "party_check_ins",
    __name__,
    url_prefix="/api/v1/party",
    description="双报到: serving members and host organisations check in with a community; service records",
)
exports_blp = Blueprint(
    "party_exports", __name__, url_prefix="/api/v1/exports", description="报到反馈: party service for a work unit"
)

READERS = (Role.ADMIN, Role.PARTY_STAFF, Role.SUPERVISOR)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register(app: Flask) -> None:
    api.register_blueprint(areas_blp)
    api.register_blueprint(check_ins_blp)
    api.register_blueprint(exports_blp)


# --- service areas ---------------------------------------------------------------------------------

register_coded_list(
    areas_blp,
    CodedListRoutes(
        rows=service.AREAS,
        singular="area",
        plural="areas",
        schemas=CodedListSchemas(
            row=ServiceAreaSchema,
            page=ServiceAreaPageSchema,
            query=ServiceAreaQuerySchema,
            create=ServiceAreaCreateSchema,
            update=ServiceAreaUpdateSchema,
        ),
        summaries=CodedListSummaries(
            list="Service areas in display order, inactive ones included; filter `active`.",
            create="Add a service area; its code is permanent.",
            get="One service area, active or not.",
            update="Rename, reorder or (de)activate an area; check-ins keep an inactive area, new ones cannot choose "
            "it.",
        ),
        code_description="the area's code, e.g. elderly",
    ),
)


# --- check-ins -------------------------------------------------------------------------------------


@check_ins_blp.route("/check-ins", methods=["GET"])
@requires_role(*READERS)
@check_ins_blp.arguments(CheckInQuerySchema, location="query")
@cursor_list(service.CheckInFilters)
@check_ins_blp.response(200, CheckInPageSchema)
@documents(404)
def list_check_ins(filters: service.CheckInFilters, *, limit: int, cursor: str | None) -> Page[CheckIn]:
    """Check-ins in the caller's scope (party staff: their organisation subtree; supervisors: communities in their
    grid subtree), newest first; filters `community_id` (subtree), `org_id` (subtree), `status`, `kind`,
    `member_id`."""
    return service.list_check_ins(current_principal(), filters, limit=limit, cursor=cursor)


@check_ins_blp.route("/check-ins", methods=["POST"])
@requires_auth
@check_ins_blp.arguments(CheckInCreateSchema)
@check_ins_blp.response(201, CheckInSchema)
@documents(403, 404, 409)
def create_check_in(data: dict[str, Any]) -> CheckIn:
    """Register a check-in, pending until the community's supervisor confirms it: a serving member's (yourself, or a
    member you manage) with the community where they live, or a host organisation's (单位报到, `kind: unit`)."""
    return service.create_check_in(current_principal(), data)


@check_ins_blp.route("/check-ins/<id:check_in_id>", methods=["GET"])
@requires_auth
@check_ins_blp.response(200, CheckInSchema)
@documents(304, 404)
def get_check_in(check_in_id: int) -> CheckIn:
    """One check-in in the caller's scope, or the caller's own."""
    return service.get_check_in(current_principal(), check_in_id)


@check_ins_blp.route("/check-ins/<id:check_in_id>/confirm", methods=["POST"])
@requires_role(Role.ADMIN, Role.SUPERVISOR)
@check_ins_blp.arguments(ConfirmSchema)
@check_ins_blp.response(200, DecisionSchema)
@documents(403, 404, 409)
def confirm_check_in(data: dict[str, Any], check_in_id: int) -> service.Decision:
    """Confirm a pending check-in (the community's supervisor, or an admin): the member becomes a volunteer of the
    community; a member without an account gets one, its one-time login shown in this response only (a replay of
    the request answers `credentials: null`)."""
    decision = service.confirm(current_principal(), check_in_id, data.get("note"))
    if decision.credentials is not None:
        idempotency.replay_with(DecisionSchema().dump(service.Decision(decision.check_in)))
    return decision


@check_ins_blp.route("/check-ins/<id:check_in_id>/reject", methods=["POST"])
@requires_role(Role.ADMIN, Role.SUPERVISOR)
@check_ins_blp.arguments(RejectSchema)
@check_ins_blp.response(200, CheckInSchema)
@documents(403, 404, 409)
def reject_check_in(data: dict[str, Any], check_in_id: int) -> CheckIn:
    """Reject a pending check-in with a note (the community's supervisor, or an admin)."""
    return service.reject(current_principal(), check_in_id, data["note"])


@check_ins_blp.route("/check-ins/<id:check_in_id>/end", methods=["POST"])
@requires_auth
@check_ins_blp.arguments(EndSchema)
@check_ins_blp.response(200, CheckInSchema)
@documents(403, 404, 409)
def end_check_in(data: dict[str, Any], check_in_id: int) -> CheckIn:
    """End a pending or confirmed check-in on a day, with a reason (the member, the party staff over them, the
    community's supervisor, an admin); the community's volunteer scope is withdrawn. Nothing is deleted."""
    return service.end(current_principal(), check_in_id, data)


@check_ins_blp.route("/check-ins/<id:check_in_id>/records", methods=["GET"])
@requires_auth
@check_ins_blp.arguments(PageQuerySchema, location="query")
@check_ins_blp.response(200, ServiceRecordPageSchema)
@documents(404)
def list_records(query: dict[str, Any], check_in_id: int) -> Page[ServiceRecord]:
    """The check-in's service records, oldest first, withdrawn ones included (with `withdrawn_at`): tickets the
    member resolved in the community and activities they attended, each with hours."""
    return records.list_records(current_principal(), check_in_id, limit=query["limit"], cursor=query.get("cursor"))


@check_ins_blp.route("/me/check-ins", methods=["GET"])
@requires_auth
@check_ins_blp.arguments(PageQuerySchema, location="query")
@check_ins_blp.response(200, CheckInPageSchema)
@documents(404)
def my_check_ins(query: dict[str, Any]) -> Page[CheckIn]:
    """The caller's own check-ins, newest first; 404 when no member record is linked to the account."""
    return service.my_check_ins(current_principal(), limit=query["limit"], cursor=query.get("cursor"))


@check_ins_blp.route("/members/<id:member_id>/service", methods=["GET"])
@requires_auth
@check_ins_blp.arguments(ServiceQuerySchema, location="query")
@check_ins_blp.response(200, ServiceSummarySchema)
@documents(404)
def member_service(query: dict[str, Any], member_id: int) -> records.ServiceSummary:
    """A member's service in a Beijing-time year (this one by default): hours, records, by kind and by community,
    and the residents' average rating; for readers of the member and the member themself."""
    return records.member_service(current_principal(), member_id, query.get("year"))


# --- 报到反馈 -----------------------------------------------------------------------------------------


@exports_blp.route("/party-service.xlsx")
@requires_role(*READERS)
@exports_blp.arguments(ServiceExportQuerySchema, location="query")
@exports_blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX)
@documents(404, 422)
def party_service_xlsx(query: dict[str, Any]) -> Response:
    """报到反馈: for an organisation's subtree (a host unit's branch), its members' check-ins of the year with their
    hours and residents' ratings, each service record, and the unit's own check-ins; never a phone number."""
    spool = export.service_workbook(current_principal(), query["org_id"], query.get("year"))
    response = Response(file_chunks(spool), mimetype=XLSX)
    response.headers["Content-Disposition"] = _attachment("party-service.xlsx", "双报到服务反馈.xlsx")
    return response


def _attachment(ascii_name: str, name: str) -> str:
    """A download name for every browser, as the dashboards' exports give it (RFC 6266)."""
    return f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(name)}"
