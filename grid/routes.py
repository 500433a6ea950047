"""HTTP endpoints for grid units: the tree, boundaries, import and export, locating a point."""

from typing import Any

from flask import Flask
from marshmallow import Schema, fields

from grid import importer, service
from grid.importer import ImportSummary
from grid.locator import version_read_with_the_token
from grid.models import GridUnit
from grid.schemas import (
    FeatureCollectionSchema,
    GridCreateSchema,
    GridListSchema,
    GridPageSchema,
    GridQuerySchema,
    GridSchema,
    GridUpdateSchema,
    ImportSummarySchema,
    LocatedSchema,
    LocateQuerySchema,
    OutputQuerySchema,
    use_output_coord_system,
)
from kernel.api import Blueprint, PageQuerySchema, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, filters_from
from kernel.principals import Role
from kernel.security import current_principal, requires_auth, requires_role

blp = Blueprint("grids", __name__, url_prefix="/api/v1/grids", description="Grid units: the territory tree")

EDITORS = (Role.ADMIN, Role.SUPERVISOR)


class GeoJSONSchema(Schema):
    type = fields.String(required=True, metadata={"example": "FeatureCollection"})
    features = fields.List(fields.Dict(), required=True)


def register(app: Flask) -> None:
    api.register_blueprint(blp)


@blp.route("", methods=["GET"])
@requires_auth
@blp.arguments(GridQuerySchema, location="query")
@blp.response(200, GridPageSchema)
@documents(404)
def list_grids(query: dict[str, Any]) -> Page[GridUnit]:
    """Units in the caller's scope; filters `parent_id` (+`subtree`), `level`, `q`, `active`, `updated_since`."""
    use_output_coord_system(query["coord_system"])
    filters = filters_from(service.UnitFilters, query)
    return service.list_units(current_principal(), filters, limit=query["limit"], cursor=query.get("cursor"))


@blp.route("", methods=["POST"])
@requires_role(*EDITORS)
@blp.arguments(GridCreateSchema)
@blp.response(201, GridSchema)
@documents(409)
def create_grid(data: dict[str, Any]) -> GridUnit:
    """Create a unit; supervisors create units below their own."""
    return service.create_unit_for(current_principal(), data)


@blp.route("/locate", methods=["GET"])
@version_read_with_the_token
@requires_auth
@blp.arguments(LocateQuerySchema, location="query")
@blp.response(200, LocatedSchema)
@documents(404)
def locate(query: dict[str, Any]) -> service.Located:
    """The cell holding a point (WGS-84, GCJ-02 or BD-09), with its ancestors; 404 when none holds it.

    A point exactly on an edge or vertex shared by several cells goes to the one with the lowest id
    (created first). The point is returned in WGS-84.
    """
    return service.locate(query["lat"], query["lng"], query["coord_system"])


@blp.route("/import", methods=["POST"])
@requires_role(Role.ADMIN)
@blp.arguments(FeatureCollectionSchema)
@blp.response(200, ImportSummarySchema)
def import_grids(collection: dict[str, Any]) -> ImportSummary:
    """Import a GeoJSON FeatureCollection of units, all or nothing; known codes are updated."""
    return importer.import_collection(collection)


@blp.route("/<id:unit_id>", methods=["GET"])
@requires_auth
@blp.arguments(OutputQuerySchema, location="query")
@blp.response(200, GridSchema)
@documents(304, 404)
def get_grid(query: dict[str, Any], unit_id: int) -> GridUnit:
    """One unit in the caller's scope; `?coord_system=gcj02` gives the boundary for Amap or Tencent maps."""
    use_output_coord_system(query["coord_system"])
    return service.get_visible_unit(current_principal(), unit_id)


@blp.route("/<id:unit_id>", methods=["PATCH"])
@requires_role(*EDITORS)
@blp.arguments(GridUpdateSchema)
@checks_if_match(lambda unit_id: GridSchema().dump(service.get_visible_unit(current_principal(), unit_id)))
@blp.response(200, GridSchema)
@documents(404, 409, 412)
def update_grid(changes: dict[str, Any], unit_id: int) -> GridUnit:
    """Change a unit; a new `parent_id` moves its whole subtree."""
    return service.update_unit_for(current_principal(), unit_id, changes)


@blp.route("/<id:unit_id>", methods=["DELETE"])
@requires_role(*EDITORS)
@blp.response(204)
@documents(404, 409)
def delete_grid(unit_id: int) -> None:
    """Delete a unit nothing hangs on (no children, workers or accounts); 409 otherwise."""
    service.delete_unit_for(current_principal(), unit_id)


@blp.route("/<id:unit_id>/children", methods=["GET"])
@requires_auth
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, GridPageSchema)
@documents(404)
def list_children(query: dict[str, Any], unit_id: int) -> Page[GridUnit]:
    """The unit's children in the caller's scope."""
    filters = service.UnitFilters(parent_id=unit_id)
    return service.list_units(current_principal(), filters, limit=query["limit"], cursor=query.get("cursor"))


@blp.route("/<id:unit_id>/ancestors", methods=["GET"])
@requires_auth
@blp.response(200, GridListSchema)
@documents(404)
def list_ancestors(unit_id: int) -> dict[str, list[GridUnit]]:
    """The chain above the unit, root first (names and codes)."""
    return {"items": service.ancestors_of(current_principal(), unit_id)}


@blp.route("/<id:unit_id>/geojson", methods=["GET"])
@requires_role(*EDITORS)
@blp.response(200, GeoJSONSchema)
@documents(404)
def export_geojson(unit_id: int) -> dict[str, Any]:
    """The unit and its subtree as a FeatureCollection that imports back unchanged."""
    return importer.export_subtree(service.get_visible_unit(current_principal(), unit_id))
