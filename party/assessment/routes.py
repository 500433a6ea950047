"""HTTP endpoints of the assessment (考评): the party summary, an alliance's year as JSON and as a workbook."""

from typing import Any
from urllib.parse import quote

from flask import Flask, Response

from dashboards.ledgers import file_chunks
from kernel.api import Blueprint, documents
from kernel.extensions import api
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role
from party.assessment import export, report, service
from party.assessment.schemas import (
    AllianceReportExportQuerySchema,
    AllianceReportQuerySchema,
    AllianceReportSchema,
    PartySummaryQuerySchema,
    PartySummarySchema,
)

blp = Blueprint(
    "party_assessment",
    __name__,
    url_prefix="/api/v1/party",
    description="考评: the party layer's figures for a subtree and period, an alliance's year\n\n"
    + (service.__doc__ or ""),
)
exports_blp = Blueprint(
    "party_assessment_exports", __name__, url_prefix="/api/v1/exports", description="年度考核: an alliance's year"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register(app: Flask) -> None:
    api.register_blueprint(blp)
    api.register_blueprint(exports_blp)


@blp.route("/stats/summary", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.PARTY_STAFF)
@blp.arguments(PartySummaryQuerySchema, location="query")
@blp.response(200, PartySummarySchema)
@documents(403, 404)
def get_summary(query: dict[str, Any]) -> service.Summary:
    """考评 figures of a subtree and period: needs raised, matched, met (on time); projects by status; resources
    offered and used; alliances and meetings; residents' ratings; 双报到 members and hours; points."""
    return service.summary(current_principal(), query.get("grid_id"), query.get("date_from"), query.get("date_to"))


@blp.route("/alliances/<id:alliance_id>/report", methods=["GET"])
@requires_auth
@blp.arguments(AllianceReportQuerySchema, location="query")
@blp.response(200, AllianceReportSchema)
@documents(304, 404)
def get_report(query: dict[str, Any], alliance_id: int) -> report.Report:
    """年度考核: one alliance's year: members with their meetings and projects, meetings held, projects with
    their ratings, needs raised, and the residents' and members' ratings; for whoever reads the alliance."""
    return report.alliance_report(current_principal(), alliance_id, query.get("year"))


@exports_blp.route("/alliance-report.xlsx")
@requires_auth
@exports_blp.arguments(AllianceReportExportQuerySchema, location="query")
@exports_blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX)
@documents(404, 422)
def alliance_report_xlsx(query: dict[str, Any]) -> Response:
    """年度考核 as a workbook: overview, member organisations, meetings and projects of the alliance's year."""
    spool = export.report_workbook(current_principal(), query["alliance_id"], query.get("year"))
    response = Response(file_chunks(spool), mimetype=XLSX)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=alliance-report.xlsx; filename*=UTF-8''{quote('党建联合体年度考核.xlsx')}"
    )
    return response
