"""HTTP endpoints for worker profiles, positions and patrols."""

from typing import Any

from flask import Flask

from grid.schemas import OutputQuerySchema, use_output_coord_system
from kernel.api import Blueprint, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list, filters_from
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from workforce import positions, service
from workforce.models import Patrol, PatrolVisit
from workforce.schemas import (
    DutySchema,
    LocationBatchSchema,
    LocationResultSchema,
    PatrolCreateSchema,
    PatrolDetailSchema,
    PatrolEndSchema,
    PatrolPageSchema,
    PatrolPointsResultSchema,
    PatrolPointsSchema,
    PatrolQuerySchema,
    TrackQuerySchema,
    TrackSchema,
    VisitCreateSchema,
    VisitSchema,
    WorkerCreateSchema,
    WorkerPageSchema,
    WorkerQuerySchema,
    WorkerSchema,
    WorkerUpdateSchema,
)

workers_blp = Blueprint(
    "workers", __name__, url_prefix="/api/v1/workers", description="Grid workers: profiles, duty and positions"
)
patrols_blp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols", description="Patrols (巡查) and visits")

MANAGERS = (Role.ADMIN, Role.SUPERVISOR)


def register(app: Flask) -> None:
    api.register_blueprint(workers_blp)
    api.register_blueprint(patrols_blp)


# --- workers --------------------------------------------------------------------------------------


@workers_blp.route("", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.VOLUNTEER)
@workers_blp.arguments(WorkerQuerySchema, location="query")
@workers_blp.response(200, WorkerPageSchema)
@documents(404)
def list_workers(query: dict[str, Any]) -> Page[service.WorkerView]:
    """Workers in the caller's scope; filters `grid_id` (subtree), `on_duty`, `employment`, `party_member`, `q`."""
    use_output_coord_system(query["coord_system"])
    filters = filters_from(service.WorkerFilters, query)
    return service.list_workers(current_principal(), filters, limit=query["limit"], cursor=query.get("cursor"))


@workers_blp.route("", methods=["POST"])
@requires_role(*MANAGERS)
@workers_blp.arguments(WorkerCreateSchema)
@workers_blp.response(201, WorkerSchema)
@documents(409)
def create_worker(data: dict[str, Any]) -> service.WorkerView:
    """Create the profile of an existing worker account in the caller's scope, with its cells."""
    return service.create_worker(current_principal(), data)


@workers_blp.route("/me", methods=["GET"])
@requires_role(Role.WORKER)
@workers_blp.arguments(OutputQuerySchema, location="query")
@workers_blp.response(200, WorkerSchema)
@documents(304, 404)
def get_own_worker(query: dict[str, Any]) -> service.WorkerView:
    """The calling worker's own profile."""
    use_output_coord_system(query["coord_system"])
    return service.get_own_worker(current_principal())


@workers_blp.route("/me/duty", methods=["POST"])
@requires_role(Role.WORKER)
@workers_blp.arguments(DutySchema)
@workers_blp.response(200, WorkerSchema)
@documents(404)
def set_own_duty(data: dict[str, Any]) -> service.WorkerView:
    """Go on or off duty."""
    return service.set_own_duty(current_principal(), data["on_duty"])


@workers_blp.route("/me/location", methods=["POST"])
@requires_role(Role.WORKER)
@workers_blp.arguments(LocationBatchSchema)
@workers_blp.response(200, LocationResultSchema)
@documents(404)
def record_location(data: dict[str, Any]) -> service.PositionBatch:
    """Report positions (1 to 500, e.g. an offline queue); implausible ones are refused in `rejected`."""
    return service.record_positions(current_principal(), data["pings"])


@workers_blp.route("/<id:worker_id>", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.WORKER, Role.VOLUNTEER)
@workers_blp.arguments(OutputQuerySchema, location="query")
@workers_blp.response(200, WorkerSchema)
@documents(304, 404)
def get_worker(query: dict[str, Any], worker_id: int) -> service.WorkerView:
    """One worker in the caller's scope (a worker: only themselves); phone and position only for managers."""
    use_output_coord_system(query["coord_system"])
    return service.get_worker(current_principal(), worker_id)


@workers_blp.route("/<id:worker_id>", methods=["PATCH"])
@requires_role(*MANAGERS)
@workers_blp.arguments(WorkerUpdateSchema)
@checks_if_match(lambda worker_id: WorkerSchema().dump(service.get_worker(current_principal(), worker_id)))
@workers_blp.response(200, WorkerSchema)
@documents(404, 412)
def update_worker(changes: dict[str, Any], worker_id: int) -> service.WorkerView:
    """Change employment, party membership, cells (`grid_ids`: the whole new set) or duty."""
    return service.update_worker(current_principal(), worker_id, changes)


@workers_blp.route("/<id:worker_id>/track", methods=["GET"])
@requires_role(Role.ADMIN, Role.SUPERVISOR, Role.WORKER)
@workers_blp.arguments(TrackQuerySchema, location="query")
@workers_blp.response(200, TrackSchema)
@documents(304, 404)
def get_track(query: dict[str, Any], worker_id: int) -> positions.Track:
    """The worker's positions from `from` to `to` (at most 7 days) as a GeoJSON LineString, oldest first."""
    use_output_coord_system(query["coord_system"])
    return service.track_of(current_principal(), worker_id, start=query["start"], end=query["end"])


# --- patrols --------------------------------------------------------------------------------------


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
