"""HTTP endpoints for party organisations, their coverage of the territory and party staff placements."""

from typing import Any

from flask import Flask

from grid.schemas import OutputQuerySchema, use_output_coord_system
from kernel.api import Blueprint, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from party.orgs import service as orgs
from party.orgs.models import PartyOrg, PartyStaffPlacement
from party.orgs.schemas import (
    CoverageQuerySchema,
    CoverageSchema,
    OrgCreateSchema,
    OrgPageSchema,
    OrgQuerySchema,
    OrgSchema,
    OrgUpdateSchema,
    PlacementInSchema,
    PlacementSchema,
)

blp = Blueprint(
    "party_orgs", __name__, url_prefix="/api/v1/party", description="Party organisations (党组织) on the territory"
)

READERS = (Role.ADMIN, Role.PARTY_STAFF, Role.SUPERVISOR)
EDITORS = (Role.ADMIN, Role.PARTY_STAFF)


# The staff routes' path parameter is `staff_id`, not `account_id`: `requires_role` hands the caller's id to the
# idempotency check under that keyword.


def register(app: Flask) -> None:
    api.register_blueprint(blp)


@blp.route("/orgs", methods=["GET"])
@requires_role(*READERS)
@blp.arguments(OrgQuerySchema, location="query")
@cursor_list(orgs.OrgFilters)
@blp.response(200, OrgPageSchema)
@documents(404)
def list_orgs(filters: orgs.OrgFilters, *, limit: int, cursor: str | None) -> Page[PartyOrg]:
    """Organisations the caller may read; filters `parent_id` (+`subtree`), `kind`, `grid_id`, `q`, `active`."""
    return orgs.list_orgs(current_principal(), filters, limit=limit, cursor=cursor)


@blp.route("/orgs", methods=["POST"])
@requires_role(*EDITORS)
@blp.arguments(OrgCreateSchema)
@blp.response(201, OrgSchema)
def create_org(data: dict[str, Any]) -> PartyOrg:
    """Create an organisation on a grid unit (inside its parent's) or in a host unit; party staff create below
    their own organisation, admins also root committees. The secretary is set later with PATCH."""
    return orgs.create_org(current_principal(), data)


@blp.route("/orgs/<id:org_id>", methods=["GET"])
@requires_role(*READERS)
@blp.arguments(OutputQuerySchema, location="query")
@blp.response(200, OrgSchema)
@documents(304, 404)
def get_org(query: dict[str, Any], org_id: int) -> PartyOrg:
    """One organisation the caller may read; `?coord_system=gcj02` gives the host's location for Amap maps."""
    use_output_coord_system(query["coord_system"])
    return orgs.get_readable_org(current_principal(), org_id)


@blp.route("/orgs/<id:org_id>", methods=["PATCH"])
@requires_role(*EDITORS)
@blp.arguments(OrgUpdateSchema)
@checks_if_match(lambda org_id: OrgSchema().dump(orgs.get_readable_org(current_principal(), org_id)))
@blp.response(200, OrgSchema)
@documents(404, 409, 412)
def update_org(changes: dict[str, Any], org_id: int) -> PartyOrg:
    """Change an organisation: name, secretary (one of its members), unit or host, `active: false` to dissolve it
    (never deleted); a new `parent_id` moves its whole subtree. The unit's `party_branch` summary follows."""
    return orgs.update_org(current_principal(), org_id, changes)


@blp.route("/coverage", methods=["GET"])
@requires_role(*READERS)
@blp.arguments(CoverageQuerySchema, location="query")
@blp.response(200, CoverageSchema)
@documents(404)
def get_coverage(query: dict[str, Any]) -> orgs.Coverage:
    """两个覆盖: the cells and communities of a grid subtree (default: the caller's) with and without an active
    territorial organisation built on them, and the members of each organisation there."""
    return orgs.coverage(current_principal(), query.get("grid_id"))


@blp.route("/staff/<id:staff_id>", methods=["PUT"])
@requires_role(Role.ADMIN)
@blp.arguments(PlacementInSchema)
@blp.response(200, PlacementSchema)
@documents(404)
def place_staff(data: dict[str, Any], staff_id: int) -> PartyStaffPlacement:
    """Place a party_staff account on an organisation: it manages that organisation's subtree (admins only)."""
    return orgs.place_staff(staff_id, data["org_id"])


@blp.route("/staff/<id:staff_id>", methods=["GET"])
@requires_role(Role.ADMIN, Role.PARTY_STAFF)
@blp.response(200, PlacementSchema)
@documents(304, 404)
def get_staff_placement(staff_id: int) -> PartyStaffPlacement:
    """Where a party_staff account is placed (admins; party staff their own); 404 when not placed."""
    return orgs.get_placement(current_principal(), staff_id)
