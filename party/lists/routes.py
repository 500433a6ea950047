"""HTTP endpoints of the three lists: needs (and wishes), resources, projects, need categories."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.coded_routes import CodedListRoutes, CodedListSchemas, CodedListSummaries, register_coded_list
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from party.lists import matching, needs, projects, ratings, resources
from party.lists.lifecycle import Action
from party.lists.models import Rating, Resource
from party.lists.schemas import (
    AssignSchema,
    CompleteSchema,
    FulfilSchema,
    ListsReasonSchema,
    NeedCategoryCreateSchema,
    NeedCategoryPageSchema,
    NeedCategoryQuerySchema,
    NeedCategorySchema,
    NeedCategoryUpdateSchema,
    NeedCreateSchema,
    NeedEventListSchema,
    NeedNoteSchema,
    NeedPageSchema,
    NeedQuerySchema,
    NeedSchema,
    ProgressSchema,
    ProjectCreateSchema,
    ProjectEventListSchema,
    ProjectPageSchema,
    ProjectQuerySchema,
    ProjectSchema,
    RatingInSchema,
    RatingListSchema,
    RatingSchema,
    ReservationInSchema,
    ResourceCreateSchema,
    ResourcePageSchema,
    ResourceQuerySchema,
    ResourceSchema,
    SuggestionListSchema,
    TakeSchema,
)

blp = Blueprint(
    "party_lists",
    __name__,
    url_prefix="/api/v1/party",
    description="The three lists (需求清单, 资源清单, 项目清单), 点单-派单-接单-评单 and 微心愿",
)

STAFF = (Role.ADMIN, Role.SUPERVISOR, Role.PARTY_STAFF)
EVERYONE = (Role.ADMIN, Role.SUPERVISOR, Role.PARTY_STAFF, Role.WORKER, Role.VOLUNTEER)


def register(app: Flask) -> None:
    api.register_blueprint(blp)


# --- categories -------------------------------------------------------------------------------------------

register_coded_list(
    blp,
    CodedListRoutes(
        rows=needs.CATEGORIES,
        singular="need_category",
        plural="need_categories",
        schemas=CodedListSchemas(
            row=NeedCategorySchema,
            page=NeedCategoryPageSchema,
            query=NeedCategoryQuerySchema,
            create=NeedCategoryCreateSchema,
            update=NeedCategoryUpdateSchema,
        ),
        summaries=CodedListSummaries(
            list="Need categories (data), each with the kinds of resource that fit it, best first.",
            create="Add a need category (admins); its code is permanent.",
            get="One need category, active or not.",
            update="Change a need category (admins); an inactive one is kept by its needs and given to no new one.",
        ),
        code_description="the category's code, e.g. elderly",
        path="/need-categories",
    ),
)


# --- needs ------------------------------------------------------------------------------------------------


@blp.route("/needs", methods=["GET"])
@requires_role(*EVERYONE)
@blp.arguments(NeedQuerySchema, location="query")
@cursor_list(needs.NeedFilters)
@blp.response(200, NeedPageSchema)
def list_needs(filters: needs.NeedFilters, *, limit: int, cursor: str | None) -> Page[needs.NeedView]:
    """Needs and wishes the caller reads, newest first, each with the caller's `allowed_actions`."""
    return needs.list_needs(current_principal(), filters, limit=limit, cursor=cursor)


@blp.route("/needs", methods=["POST"])
@requires_role(*STAFF)
@blp.arguments(NeedCreateSchema)
@blp.response(201, NeedSchema)
@documents(403, 409)
def create_need(data: dict[str, Any]) -> needs.NeedView:
    """点单: raise a need (or a wish, `kind: wish`) for a unit; `ticket_ids` promotes residents' tickets into it."""
    return needs.create_need(current_principal(), data)


@blp.route("/needs/<id:need_id>", methods=["GET"])
@requires_role(*EVERYONE)
@blp.response(200, NeedSchema)
@documents(404)
def get_need(need_id: int) -> needs.NeedView:
    """One need, with the caller's `allowed_actions`."""
    return needs.get_need_view(current_principal(), need_id)


@blp.route("/needs/<id:need_id>/events", methods=["GET"])
@requires_role(*EVERYONE)
@blp.response(200, NeedEventListSchema)
@documents(404)
def list_need_events(need_id: int) -> dict[str, Any]:
    """The need's record: every step of its life, who took it, when, from which status to which."""
    return {"items": needs.list_events(current_principal(), need_id)}


@blp.route("/needs/<id:need_id>/suggestions", methods=["GET"])
@requires_role(*STAFF)
@blp.response(200, SuggestionListSchema)
@documents(404)
def suggest(need_id: int) -> dict[str, Any]:
    """Resources that fit the need, best first, each saying why (see docs/API.md for the order)."""
    return {"items": matching.suggestions(current_principal(), need_id)}


def _action(action: Action, data: dict[str, Any], need_id: int) -> needs.NeedView:
    return needs.perform(current_principal(), need_id, action, data)


@blp.route("/needs/<id:need_id>/assign", methods=["POST"])
@requires_role(*STAFF)
@blp.arguments(AssignSchema)
@blp.response(200, NeedSchema)
@documents(403, 404, 409)
def assign(data: dict[str, Any], need_id: int) -> needs.NeedView:
    """派单: assign the need to an organisation (a live member of its alliance): admins, supervisors over its
    unit, the alliance's lead organisation."""
    return _action(Action.ASSIGN, data, need_id)


@blp.route("/needs/<id:need_id>/publish", methods=["POST"])
@requires_role(*STAFF)
@blp.arguments(NeedNoteSchema)
@blp.response(200, NeedSchema)
@documents(403, 404, 409)
def publish(data: dict[str, Any], need_id: int) -> needs.NeedView:
    """派单: publish the need for the member organisations to take."""
    return _action(Action.PUBLISH, data, need_id)


@blp.route("/needs/<id:need_id>/withdraw", methods=["POST"])
@requires_role(*STAFF)
@blp.arguments(ListsReasonSchema)
@blp.response(200, NeedSchema)
@documents(403, 404, 409)
def withdraw(data: dict[str, Any], need_id: int) -> needs.NeedView:
    """Withdraw the need (or wish), with a reason."""
    return _action(Action.WITHDRAW, data, need_id)


@blp.route("/needs/<id:need_id>/take", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(TakeSchema)
@blp.response(201, ProjectSchema)
@documents(403, 404, 409)
def take(data: dict[str, Any], need_id: int) -> projects.ProjectView:
    """接单: an organisation you act for (a live member of the need's alliance) takes the published need, and its
    project opens; of several at once, one wins (the others 409)."""
    return projects.take_need(current_principal(), need_id, data)


@blp.route("/needs/<id:need_id>/claim", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(NeedNoteSchema)
@blp.response(200, NeedSchema)
@documents(403, 404, 409)
def claim(data: dict[str, Any], need_id: int) -> needs.NeedView:
    """微心愿: a party member (your own member record) claims the wish; of several at once, one wins."""
    return _action(Action.CLAIM, data, need_id)


@blp.route("/needs/<id:need_id>/fulfil", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(FulfilSchema)
@blp.response(200, NeedSchema)
@documents(403, 404, 409)
def fulfil(data: dict[str, Any], need_id: int) -> needs.NeedView:
    """The member who claimed the wish fulfilled it: a note and at least one photo."""
    return _action(Action.FULFIL, data, need_id)


@blp.route("/needs/<id:need_id>/confirm", methods=["POST"])
@requires_role(Role.ADMIN, Role.SUPERVISOR)
@blp.arguments(NeedNoteSchema)
@blp.response(200, NeedSchema)
@documents(403, 404, 409)
def confirm(data: dict[str, Any], need_id: int) -> needs.NeedView:
    """The community (a supervisor over the wish's unit) confirms the wish fulfilled: met, and points."""
    return _action(Action.CONFIRM, data, need_id)


@blp.route("/needs/<id:need_id>/ratings", methods=["POST"])
@requires_role(*STAFF)
@blp.arguments(RatingInSchema)
@blp.response(201, RatingSchema)
@documents(403, 404, 409)
def rate(data: dict[str, Any], need_id: int) -> Rating:
    """评单: a supervisor's visit rating, or a member organisation's rating of the owner (`org_id`), of the need's
    done project; 4–5 earns its workers the `project.rated_good` rule."""
    return ratings.rate(current_principal(), need_id, data)


@blp.route("/needs/<id:need_id>/ratings", methods=["GET"])
@requires_role(*STAFF)
@blp.response(200, RatingListSchema)
@documents(404)
def list_ratings(need_id: int) -> dict[str, Any]:
    """The ratings of the need's projects: residents', visits', member organisations'."""
    return {"items": ratings.list_ratings(current_principal(), need_id)}


# --- resources --------------------------------------------------------------------------------------------


@blp.route("/resources", methods=["GET"])
@requires_role(*STAFF)
@blp.arguments(ResourceQuerySchema, location="query")
@cursor_list(resources.ResourceFilters)
@blp.response(200, ResourcePageSchema)
def list_resources(filters: resources.ResourceFilters, *, limit: int, cursor: str | None) -> Page[Resource]:
    """Resources the caller reads, with what is left of their capacity."""
    return resources.list_resources(current_principal(), filters, limit=limit, cursor=cursor)


@blp.route("/resources", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(ResourceCreateSchema)
@blp.response(201, ResourceSchema)
@documents(403)
def create_resource(data: dict[str, Any]) -> Resource:
    """Offer a resource for an organisation you act for (its party staff or secretary)."""
    return resources.create_resource(current_principal(), data)


@blp.route("/resources/<id:resource_id>", methods=["GET"])
@requires_role(*STAFF)
@blp.response(200, ResourceSchema)
@documents(404)
def get_resource(resource_id: int) -> Resource:
    """One resource, with what is left of its capacity."""
    return resources.get_resource(current_principal(), resource_id)


# --- projects ---------------------------------------------------------------------------------------------


@blp.route("/projects", methods=["GET"])
@requires_role(*STAFF)
@blp.arguments(ProjectQuerySchema, location="query")
@cursor_list(projects.ProjectFilters)
@blp.response(200, ProjectPageSchema)
def list_projects(filters: projects.ProjectFilters, *, limit: int, cursor: str | None) -> Page[projects.ProjectView]:
    """Projects the caller reads, newest first."""
    return projects.list_projects(current_principal(), filters, limit=limit, cursor=cursor)


@blp.route("/projects", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(ProjectCreateSchema)
@blp.response(201, ProjectSchema)
@documents(403, 404, 409)
def create_project(data: dict[str, Any]) -> projects.ProjectView:
    """Open the project of a need assigned to an organisation you act for: resources reserve capacity (409 past
    it), milestones, workers."""
    return projects.create_project(current_principal(), data)


@blp.route("/projects/<id:project_id>", methods=["GET"])
@requires_role(*STAFF)
@blp.response(200, ProjectSchema)
@documents(404)
def get_project(project_id: int) -> projects.ProjectView:
    """One project."""
    return projects.get_project_view(current_principal(), project_id)


@blp.route("/projects/<id:project_id>/timeline", methods=["GET"])
@requires_role(*STAFF)
@blp.response(200, ProjectEventListSchema)
@documents(404)
def timeline(project_id: int) -> dict[str, Any]:
    """The project's timeline (全程纪实): opened, progress with photos, reservations, completion."""
    return {"items": projects.list_timeline(current_principal(), project_id)}


@blp.route("/projects/<id:project_id>/progress", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(ProgressSchema)
@blp.response(200, ProjectSchema)
@documents(403, 404, 409)
def progress(data: dict[str, Any], project_id: int) -> projects.ProjectView:
    """A progress note (photos, a milestone done) by the organisation running it; planned becomes under way."""
    return projects.record_progress(current_principal(), project_id, data)


@blp.route("/projects/<id:project_id>/reservations", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(ReservationInSchema)
@blp.response(200, ProjectSchema)
@documents(403, 404, 409)
def reserve(data: dict[str, Any], project_id: int) -> projects.ProjectView:
    """Reserve more of a resource for the project; 409 past its capacity."""
    return projects.add_reservation(current_principal(), project_id, data)


@blp.route("/projects/<id:project_id>/complete", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(CompleteSchema)
@blp.response(200, ProjectSchema)
@documents(403, 404, 409)
def complete(data: dict[str, Any], project_id: int) -> projects.ProjectView:
    """The project is done: its need is met and may be rated."""
    return projects.complete(current_principal(), project_id, data)


@blp.route("/projects/<id:project_id>/abandon", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(ListsReasonSchema)
@blp.response(200, ProjectSchema)
@documents(403, 404, 409)
def abandon(data: dict[str, Any], project_id: int) -> projects.ProjectView:
    """Abandon the project, with a reason: its reservations are released and its need is open again."""
    return projects.abandon(current_principal(), project_id, data)
