"""HTTP endpoints for the points ledger: rules, manual entries, the ledger, rankings and disputes."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.codes import code_parameter
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role
from party.points import service
from party.points.models import PointDispute, PointEntry, PointRule
from party.points.schemas import (
    DisputeCreateSchema,
    DisputeResolveSchema,
    DisputeSchema,
    LedgerQuerySchema,
    LedgerSchema,
    OrgLedgerSchema,
    PointEntryCreateSchema,
    PointEntrySchema,
    PointRuleCreateSchema,
    PointRulePageSchema,
    PointRuleQuerySchema,
    PointRuleSchema,
    PointRuleUpdateSchema,
    RankingsQuerySchema,
    RankingsSchema,
)

rules_blp = Blueprint(
    "party_point_rules", __name__, url_prefix="/api/v1/party/point-rules", description="Point rules (积分规则)"
)
points_blp = Blueprint(
    "party_points", __name__, url_prefix="/api/v1/party", description="The points ledger (积分考核) and disputes"
)

READERS = (Role.ADMIN, Role.PARTY_STAFF, Role.SUPERVISOR)
MANAGERS = (Role.ADMIN, Role.PARTY_STAFF)

CODE_PARAMETER = code_parameter("the rule's code, e.g. ticket_on_time")


def register(app: Flask) -> None:
    api.register_blueprint(rules_blp)
    api.register_blueprint(points_blp)


# --- rules -----------------------------------------------------------------------------------------


@rules_blp.route("", methods=["GET"])
@requires_role(*READERS)
@rules_blp.arguments(PointRuleQuerySchema, location="query")
@cursor_list(service.RuleFilters)
@rules_blp.response(200, PointRulePageSchema)
def list_rules(filters: service.RuleFilters, *, limit: int, cursor: str | None) -> Page[PointRule]:
    """Point rules by code, inactive ones included; filters `trigger`, `active`."""
    return service.list_rules(filters, limit=limit, cursor=cursor)


@rules_blp.route("", methods=["POST"])
@requires_role(Role.ADMIN)
@rules_blp.arguments(PointRuleCreateSchema)
@rules_blp.response(201, PointRuleSchema)
@documents(409)
def create_rule(data: dict[str, Any]) -> PointRule:
    """Add a rule; of a trigger's active rules, the latest effective on a day applies that day."""
    return service.create_rule(data)


@rules_blp.route("/<code>", methods=["GET"], parameters=[CODE_PARAMETER])
@requires_role(*READERS)
@rules_blp.response(200, PointRuleSchema)
@documents(304, 404)
def get_rule(code: str) -> PointRule:
    """One point rule, active or not."""
    return service.get_rule(code)


@rules_blp.route("/<code>", methods=["PATCH"], parameters=[CODE_PARAMETER])
@requires_role(Role.ADMIN)
@rules_blp.arguments(PointRuleUpdateSchema)
@checks_if_match(lambda code: PointRuleSchema().dump(service.get_rule(code)))
@rules_blp.response(200, PointRuleSchema)
@documents(404, 412)
def update_rule(changes: dict[str, Any], code: str) -> PointRule:
    """Change a rule from `effective_from` (today by default) on; entries already written keep their points."""
    return service.update_rule(code, changes)


# --- entries and the ledger --------------------------------------------------------------------------


@points_blp.route("/points", methods=["POST"])
@requires_role(*MANAGERS)
@points_blp.arguments(PointEntryCreateSchema)
@points_blp.response(201, PointEntrySchema)
@documents(404)
def create_entry(data: dict[str, Any]) -> PointEntry:
    """A manual entry under a `manual` rule, with a note, for a member you manage; with `corrects_id`, a
    correction of one of their entries (entries are never edited)."""
    return service.record_manual(current_principal(), data)


@points_blp.route("/members/<id:member_id>/points", methods=["GET"])
@requires_auth
@points_blp.arguments(LedgerQuerySchema, location="query")
@points_blp.response(200, LedgerSchema)
@documents(304, 404)
def member_ledger(query: dict[str, Any], member_id: int) -> service.Ledger:
    """A member's ledger between `from` and `to` (Beijing days, inclusive), oldest first, each entry with the
    running total; for the member themself and whoever reads them."""
    return service.member_ledger(
        current_principal(), member_id, date_from=query.get("date_from"), date_to=query.get("date_to")
    )


@points_blp.route("/me/points", methods=["GET"])
@requires_auth
@points_blp.arguments(LedgerQuerySchema, location="query")
@points_blp.response(200, LedgerSchema)
@documents(304, 404)
def my_ledger(query: dict[str, Any]) -> service.Ledger:
    """The caller's own points (404 when no member record is linked to the caller's account)."""
    return service.my_ledger(current_principal(), date_from=query.get("date_from"), date_to=query.get("date_to"))


@points_blp.route("/orgs/<id:org_id>/points", methods=["GET"])
@requires_role(*READERS)
@points_blp.arguments(LedgerQuerySchema, location="query")
@points_blp.response(200, OrgLedgerSchema)
@documents(304, 404)
def org_ledger(query: dict[str, Any], org_id: int) -> service.OrgLedger:
    """An organisation's own points (rules for organisations, e.g. `project.org_rated_good`) between `from` and
    `to` (Beijing days, inclusive), oldest first with running totals, and what its members earned in it beside;
    for admins, and party staff and supervisors whose party scope holds it (404 otherwise)."""
    return service.org_ledger(
        current_principal(), org_id, date_from=query.get("date_from"), date_to=query.get("date_to")
    )


@points_blp.route("/rankings", methods=["GET"])
@requires_role(*READERS)
@points_blp.arguments(RankingsQuerySchema, location="query")
@points_blp.response(200, RankingsSchema)
@documents(304, 404)
def rankings(query: dict[str, Any]) -> service.Rankings:
    """Members and organisations of the subtree ranked by the points of the month, quarter or year holding
    `at`; ties share a rank (1, 1, 3)."""
    return service.rankings(current_principal(), org_id=query.get("org_id"), period=query["period"], at=query.get("at"))


# --- disputes --------------------------------------------------------------------------------------


@points_blp.route("/points/<id:entry_id>/disputes", methods=["POST"])
@requires_auth
@points_blp.arguments(DisputeCreateSchema)
@points_blp.response(201, DisputeSchema)
@documents(404, 409)
def open_dispute(data: dict[str, Any], entry_id: int) -> PointDispute:
    """The member disputes one of their entries, with a reason; one open dispute per entry."""
    return service.open_dispute(current_principal(), entry_id, data["reason"])


@points_blp.route("/disputes/<id:dispute_id>/resolve", methods=["POST"])
@requires_auth
@points_blp.arguments(DisputeResolveSchema)
@points_blp.response(200, DisputeSchema)
@documents(404, 409)
def resolve_dispute(data: dict[str, Any], dispute_id: int) -> PointDispute:
    """The organisation's secretary, or an admin or party staff over it, upholds the entry or corrects it
    (`points`: a correction entry pointing at it); both stay on record."""
    return service.resolve_dispute(current_principal(), dispute_id, data)
