"""The projects list (项目清单): a need matched with resources under an owner organisation, with milestones,
workers, progress notes and photos on a timeline (全程纪实).

- A project opens for a need assigned to an organisation (`POST /party/projects`, by whoever acts for it or
  dispatches the need), or when an organisation takes a published need (`needs` → `take`). Its resources reserve
  capacity (`resources.reserve`: 409 when a resource has not enough left, and nothing of the request is kept).
- Progress (`note`, `photo_ids`, a milestone done) moves a planned project under way; completing it meets the
  need; abandoning it releases its reservations and opens the need again.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from kernel.clock import utcnow
from kernel.errors import ForbiddenError, InvalidTransitionError, NotFoundError, ValidationError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Caller
from party.alliances import service as alliances
from party.lists import access, needs, ratings, resources
from party.lists.events import ProjectChanged
from party.lists.lifecycle import Action, Party
from party.lists.models import (
    Milestone,
    Need,
    NeedStatus,
    Project,
    ProjectEvent,
    ProjectStatus,
    ProjectWorker,
    Reservation,
    Resource,
)
from party.lists.records import move, record
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from tasks.photos import service as photos

PHOTO_HOLDER: Final = "party_project"
OPEN_STATUSES: Final = (ProjectStatus.PLANNED, ProjectStatus.UNDER_WAY)


@dataclass(frozen=True)
class ReservationView:
    resource_id: int
    amount: int
    released: bool


@dataclass(frozen=True)
class ProjectView:
    id: int
    need_id: int
    owner_org_id: int
    owner_org_name: str
    alliance_id: int | None
    title: str
    goal: str
    deadline: date | None
    status: ProjectStatus
    resources: list[ReservationView]
    milestones: list[Milestone]
    worker_ids: list[int]
    photo_ids: list[int]
    rating_count: int
    rating_average: float | None
    created_at: datetime
    done_at: datetime | None


def views_of(projects: Sequence[Project]) -> list[ProjectView]:
    held = photos.held_photo_ids(PHOTO_HOLDER, [project.id for project in projects])
    rated = ratings.average_of([project.id for project in projects])
    return [
        ProjectView(
            id=project.id,
            need_id=project.need_id,
            owner_org_id=project.owner_org_id,
            owner_org_name=project.owner_org.name,
            alliance_id=project.alliance_id,
            title=project.title,
            goal=project.goal,
            deadline=project.deadline,
            status=project.status,
            resources=[ReservationView(r.resource_id, r.amount, r.released) for r in project.reservations],
            milestones=list(project.milestones),
            worker_ids=[worker.member_id for worker in project.workers],
            photo_ids=held.get(project.id, []),
            rating_count=rated.get(project.id, (0, 0))[1],
            rating_average=round(rated[project.id][0] / rated[project.id][1], 2) if project.id in rated else None,
            created_at=project.created_at,
            done_at=project.done_at,
        )
        for project in projects
    ]


def view_of(project: Project) -> ProjectView:
    return views_of([project])[0]


def loaded_projects() -> Any:
    return select(Project).options(
        selectinload(Project.owner_org),
        selectinload(Project.reservations),
        selectinload(Project.milestones),
        selectinload(Project.workers),
    )


def readable_projects_clause(caller: Caller) -> Any:
    return access.visible_clause(
        caller, grid_path=Project.grid_path, owner_org_id=Project.owner_org_id, alliance_id=Project.alliance_id
    )


def get_project(caller: Caller, project_id: int) -> Project:
    project = db.session.scalars(
        loaded_projects().where(Project.id == project_id, readable_projects_clause(caller))
    ).first()
    if project is None:
        raise NotFoundError(_("No such project."))
    return project


def get_project_view(caller: Caller, project_id: int) -> ProjectView:
    return view_of(get_project(caller, project_id))


@dataclass(frozen=True)
class ProjectFilters:
    status: ProjectStatus | None = None
    owner_org_id: int | None = None
    alliance_id: int | None = None


def list_projects(caller: Caller, filters: ProjectFilters, *, limit: int, cursor: str | None) -> Page[ProjectView]:
    stmt = loaded_projects().where(readable_projects_clause(caller))
    for column, value in (
        (Project.status, filters.status),
        (Project.owner_org_id, filters.owner_org_id),
        (Project.alliance_id, filters.alliance_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    fingerprint = {**filters.__dict__, "caller": caller.id}
    page = paginate(
        stmt, order_by=[Project.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint, descending=True
    )
    return Page(views_of(page.items), page.next_cursor)


def list_timeline(caller: Caller, project_id: int) -> list[ProjectEvent]:
    project = get_project(caller, project_id)
    stmt = select(ProjectEvent).where(ProjectEvent.project_id == project.id).order_by(ProjectEvent.id)
    return list(db.session.scalars(stmt))


# --- opening ---------------------------------------------------------------------------------------------


def create_project(caller: Caller, data: Mapping[str, Any]) -> ProjectView:
    """Open the project of a need assigned to an organisation (`open_project` of the need's table)."""
    need = needs.get_need(caller, data["need_id"])
    needs.check(caller, need, Action.OPEN_PROJECT)
    before = need.status
    owner = need.owner_org
    assert owner is not None  # a matched need has its organisation
    move(need, NeedStatus.IN_PROJECT)
    project = open_project(caller, need, owner, data)
    record(
        need,
        Action.OPEN_PROJECT.value,
        actor_id=caller.id or None,
        from_status=before,
        details={"project_id": str(project.id)},
    )
    return view_of(project)


def take_need(caller: Caller, need_id: int, data: Mapping[str, Any]) -> ProjectView:
    """接单: the organisation `org_id` (one the caller acts for) takes a published need; its project opens. Of
    several organisations taking it at once, one wins; the others are 409."""
    need = needs.get_need(caller, need_id)
    needs.check(caller, need, Action.TAKE)
    org = db.session.get(PartyOrg, data["org_id"])
    if org is None or not org.active:
        raise ValidationError(_("No such party organisation."), {"org_id": ["unknown organisation"]})
    access.ensure_acts_for(caller, org)
    if not access.may_take_for(need, org):
        raise ForbiddenError(
            _("That organisation is not a member of the need's alliance."), {"org_id": ["not a live member"]}
        )
    before = need.status
    move(need, NeedStatus.IN_PROJECT, owner_org_id=org.id)
    project = open_project(caller, need, org, data)
    record(
        need,
        Action.TAKE.value,
        actor_id=caller.id or None,
        from_status=before,
        details={"org_id": str(org.id), "project_id": str(project.id)},
    )
    return view_of(project)


def open_project(caller: Caller, need: Need, owner: PartyOrg, data: Mapping[str, Any]) -> Project:
    project = Project(
        need_id=need.id,
        owner_org_id=owner.id,
        alliance_id=need.alliance_id,
        grid_path=need.grid_path,
        title=data.get("title") or need.title,
        goal=data.get("goal") or need.description,
        deadline=data.get("deadline") or need.due_on,
        status=ProjectStatus.PLANNED,
        created_by=caller.id or None,
        created_at=utcnow(),
    )
    db.session.add(project)
    db.session.flush()
    for milestone in data.get("milestones") or []:
        db.session.add(Milestone(project_id=project.id, title=milestone["title"], due_on=milestone.get("due_on")))
    _add_workers(project, owner, data.get("worker_ids") or [])
    _reserve(project, data.get("resources") or [])
    _timeline(project, caller, "open", details={"need_id": str(need.id)})
    db.session.flush()
    db.session.refresh(project)
    publish(ProjectChanged(project.id, None, project.status.value))
    return project


def _add_workers(project: Project, owner: PartyOrg, member_ids: Sequence[int]) -> None:
    """The members working on it: active members of the owner organisation's subtree (of an alliance's member
    organisations too, for an alliance's project)."""
    allowed_orgs = {owner.id, *(alliances.active_member_org_ids(project.alliance_id) if project.alliance_id else [])}
    for member_id in dict.fromkeys(member_ids):
        member = db.session.get(PartyMember, member_id)
        in_owner = member is not None and member.org.path.startswith(owner.path)
        if member is None or not member.active or not (in_owner or member.org_id in allowed_orgs):
            raise ValidationError(
                _("That member cannot work on this project."), {"worker_ids": [f"{member_id}: not a member here"]}
            )
        db.session.add(ProjectWorker(project_id=project.id, member_id=member_id))


def _reserve(project: Project, wanted: Sequence[Mapping[str, Any]]) -> None:
    for item in wanted:
        resource = db.session.get(Resource, item["resource_id"])
        if resource is None:
            raise ValidationError(_("No such resource."), {"resources": [f"{item['resource_id']}: not found"]})
        resources.reserve(resource.id, item["amount"])
        db.session.add(Reservation(project_id=project.id, resource_id=resource.id, amount=item["amount"]))


def _timeline(
    project: Project, caller: Caller, action: str, *, note: str | None = None, details: Mapping[str, Any] | None = None
) -> None:
    db.session.add(
        ProjectEvent(
            project_id=project.id,
            action=action,
            actor_id=caller.id or None,
            note=note,
            details=dict(details or {}),
            created_at=utcnow(),
        )
    )


# --- running ---------------------------------------------------------------------------------------------


def _managed_open_project(caller: Caller, project_id: int) -> Project:
    """The project, which must be open and run by an organisation the caller acts for (or a dispatcher of its need)."""
    project = get_project(caller, project_id)
    if project.status not in OPEN_STATUSES:
        raise InvalidTransitionError(
            _("This project is %(status)s.", status=project.status.value), {"status": project.status.value}
        )
    need = project.need
    if not (access.stands_as(caller, need, Party.OWNER) or access.stands_as(caller, need, Party.DISPATCHER)):
        raise ForbiddenError(_("You do not run this project."), {"role": ["owner organisation or dispatcher"]})
    return project


def _set_status(project: Project, target: ProjectStatus, **values: Any) -> None:
    """Compare-and-set of the project's status (two completions at once: one wins), told to the app."""
    before = project.status
    stmt = (
        update(Project)
        .where(Project.id == project.id, Project.status == project.status)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(stmt).rowcount != 1:
        raise InvalidTransitionError(_("Someone else changed this project first."), {"status": ["changed"]})
    db.session.refresh(project)
    publish(ProjectChanged(project.id, before.value, project.status.value))


def record_progress(caller: Caller, project_id: int, data: Mapping[str, Any]) -> ProjectView:
    """A progress note with photos (and a milestone done) on the timeline; a planned project is then under way."""
    project = _managed_open_project(caller, project_id)
    details: dict[str, Any] = {}
    milestone_id = data.get("milestone_id")
    if milestone_id is not None:
        milestone = next((m for m in project.milestones if m.id == milestone_id), None)
        if milestone is None:
            raise ValidationError(_("No such milestone of this project."), {"milestone_id": ["not found"]})
        milestone.done_at = milestone.done_at or utcnow()
        details["milestone_id"] = str(milestone.id)
    photo_ids = data.get("photo_ids") or []
    if photo_ids:
        photos.hold_photos(caller, photo_ids, holder_type=PHOTO_HOLDER, holder_id=project.id)
        details["photo_ids"] = [str(i) for i in photo_ids]
    if project.status is ProjectStatus.PLANNED:
        _set_status(project, ProjectStatus.UNDER_WAY)
    _timeline(project, caller, "progress", note=data["note"], details=details)
    db.session.flush()
    return view_of(project)


def add_reservation(caller: Caller, project_id: int, data: Mapping[str, Any]) -> ProjectView:
    """Reserve more of a resource for an open project (409 past its capacity)."""
    project = _managed_open_project(caller, project_id)
    _reserve(project, [data])
    _timeline(project, caller, "reserve", details={"resource_id": str(data["resource_id"]), "amount": data["amount"]})
    db.session.flush()
    db.session.refresh(project)
    return view_of(project)


def complete(caller: Caller, project_id: int, data: Mapping[str, Any]) -> ProjectView:
    """The project is done: its need is met (on time when by the need's due day); the residents and members rate it."""
    project = _managed_open_project(caller, project_id)
    now = utcnow()
    _set_status(project, ProjectStatus.DONE, done_at=now)
    need = project.need
    before = need.status
    move(need, NeedStatus.MET, met_at=now)
    record(
        need,
        Action.MEET.value,
        actor_id=caller.id or None,
        from_status=before,
        note=data["note"],
        details={"project_id": str(project.id)},
    )
    _timeline(project, caller, "complete", note=data["note"])
    asked = ratings.ask_residents(need, project)  # 评单: the residents behind the need, by SMS
    if asked:
        _timeline(project, caller, "rating_requested", details={"residents": asked})
    db.session.flush()
    return view_of(project)


def abandon(caller: Caller, project_id: int, data: Mapping[str, Any]) -> ProjectView:
    """The project is abandoned, with a reason: its reservations are released and its need is open again."""
    project = _managed_open_project(caller, project_id)
    _set_status(project, ProjectStatus.ABANDONED)
    for reservation in project.reservations:
        if not reservation.released:
            resources.release(reservation.resource_id, reservation.amount)
            reservation.released = True
    need = project.need
    before = need.status
    move(need, NeedStatus.OPEN, owner_org_id=None)
    # The need may get a new project: the old one keeps its record but no longer holds the need.
    record(
        need,
        Action.REOPEN.value,
        actor_id=caller.id or None,
        from_status=before,
        note=data["reason"],
        details={"project_id": str(project.id)},
    )
    _timeline(project, caller, "abandon", note=data["reason"])
    db.session.flush()
    return view_of(project)


class ProjectPhotoRules:
    """`tasks.photos.service.PhotoHolder` for projects: their photos are seen by whoever reads the project."""

    def check_visible(self, actor: Caller, holder_id: int) -> None:
        get_project(actor, holder_id)
