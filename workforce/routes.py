"""HTTP endpoints for worker profiles and positions (patrols: `workforce.patrols.routes`)."""

from typing import Any

from flask import Flask

from grid.schemas import OutputQuerySchema, use_output_coord_system
from kernel.api import Blueprint, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, filters_from
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from workforce import positions, service
from workforce.schemas import (
    DutySchema,
    LocationBatchSchema,
    LocationResultSchema,
    TrackQuerySchema,
    TrackSchema,
    WorkerCreateSchema,
    WorkerPageSchema,
    WorkerQuerySchema,
    WorkerSchema,
    WorkerUpdateSchema,
)

workers_blp = Blueprint(
    "workers", __name__, url_prefix="/api/v1/workers", description="Grid workers: profiles, duty and positions"
)

MANAGERS = (Role.ADMIN, Role.SUPERVISOR)


def register(app: Flask) -> None:
    api.register_blueprint(workers_blp)


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
    """Change employment, cells (`grid_ids`: the whole new set) or duty; `party_member` follows the party register."""
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
