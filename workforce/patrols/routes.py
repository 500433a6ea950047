"""HTTP endpoints for patrols and their visits."""

from typing import Any

from flask import Flask

from grid.schemas import OutputQuerySchema, use_output_coord_system
from kernel.api import Blueprint, documents
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from workforce import positions
from workforce.patrols import service
from workforce.patrols.models import Patrol, PatrolVisit
from workforce.patrols.schemas import (
    PatrolCreateSchema,
    PatrolDetailSchema,
    PatrolEndSchema,
    PatrolPageSchema,
    PatrolPointsResultSchema,
    PatrolPointsSchema,
    PatrolQuerySchema,
    VisitCreateSchema,
    VisitSchema,
)
from workforce.schemas import TrackSchema

patrols_blp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols", description="Patrols (巡查) and visits")


def register(app: Flask) -> None:
    api.register_blueprint(patrols_blp)


@patrols_blp.route("", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.WORKER)
@patrols_blp.arguments(PatrolQuerySchema, location="query")
@cursor_list(service.PatrolFilters)
@patrols_blp.response(200, PatrolPageSchema)
@documents(404)
def list_patrols(filters: service.PatrolFilters, *, limit: int, cursor: str | None) -> Page[Patrol]:
    """Patrols, newest first: a worker's own, or those in cells of the caller's scope; filters `worker_id`,
    `grid_id` (subtree), `from`/`to` (start time), `open`."""
    return service.list_patrols(current_principal(), filters, limit=limit, cursor=cursor)


@patrols_blp.route("", methods=["POST"])
@requires_role(Role.WORKER)
@patrols_blp.arguments(PatrolCreateSchema)
@patrols_blp.response(201, PatrolDetailSchema)
@documents(404, 409)
def start_patrol(data: dict[str, Any]) -> Patrol:
    """Start patrolling one of your own cells; 409 while another of your patrols is open."""
    return service.start_patrol(current_principal(), data)


@patrols_blp.route("/<id:patrol_id>", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.WORKER)
@patrols_blp.arguments(OutputQuerySchema, location="query")
@patrols_blp.response(200, PatrolDetailSchema)
@documents(304, 404)
def get_patrol(query: dict[str, Any], patrol_id: int) -> Patrol:
    """One patrol with its visits and the number of track points."""
    use_output_coord_system(query["coord_system"])
    return service.get_patrol(current_principal(), patrol_id)


@patrols_blp.route("/<id:patrol_id>/track", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.WORKER)
@patrols_blp.arguments(OutputQuerySchema, location="query")
@patrols_blp.response(200, TrackSchema)
@documents(304, 404)
def get_patrol_track(query: dict[str, Any], patrol_id: int) -> positions.Track:
    """The patrol's track points as a GeoJSON LineString, oldest first."""
    use_output_coord_system(query["coord_system"])
    return service.patrol_track(current_principal(), patrol_id)


@patrols_blp.route("/<id:patrol_id>/points", methods=["POST"])
@requires_role(Role.WORKER)
@patrols_blp.arguments(PatrolPointsSchema)
@patrols_blp.response(200, PatrolPointsResultSchema)
@documents(404, 409)
def add_points(data: dict[str, Any], patrol_id: int) -> service.PointsBatch:
    """Append track points (1 to 500) to your open patrol; implausible ones are listed in `rejected`."""
    return service.add_patrol_points(current_principal(), patrol_id, data["points"])


@patrols_blp.route("/<id:patrol_id>/visits", methods=["POST"])
@requires_role(Role.WORKER)
@patrols_blp.arguments(VisitCreateSchema)
@patrols_blp.response(201, VisitSchema)
@documents(404, 409)
def add_visit(data: dict[str, Any], patrol_id: int) -> PatrolVisit:
    """Record a household or place visited on your open patrol."""
    return service.add_visit(current_principal(), patrol_id, data)


@patrols_blp.route("/<id:patrol_id>/end", methods=["POST"])
@requires_role(Role.WORKER)
@patrols_blp.arguments(PatrolEndSchema)
@patrols_blp.response(200, PatrolDetailSchema)
@documents(404, 409)
def end_patrol(data: dict[str, Any], patrol_id: int) -> Patrol:
    """End your open patrol; its length (metres, through the points by time) and duration are fixed."""
    return service.end_patrol(current_principal(), patrol_id, data)
