"""评单: ratings of a need's done project, and the points good ratings earn.

- Residents rate through the existing ticket flow: when a ticket promoted into a need is rated (an SMS reply
  digit, or a supervisor's feedback) once the need's project is done, the rating is also the resident's rating
  of the project (`on_ticket_changed`, wired in `bootstrap.subscribe`; one per ticket).
- A supervisor over the need's unit records a return visit's rating (回访, no `org_id`); whoever acts for a live
  member organisation of the need's alliance other than the owner rates the owner organisation (`org_id`: one
  rating per organisation and project).
- A rating of 4 or 5 earns each worker of the project the `project.rated_good` rule once per project (the
  organisation's points are its members' entries).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, ValidationError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller
from party.alliances import service as alliances
from party.lists import access, needs
from party.lists.events import ProjectRated
from party.lists.lifecycle import Action
from party.lists.models import Need, Project, ProjectStatus, Rating, RatingSource
from party.lists.records import record
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.points import service as points
from party.points.models import PointRule, PointTrigger
from tasks.tickets.events import TicketChanged

GOOD: Final = 4


def done_project_of(need: Need) -> Project | None:
    stmt = select(Project).where(Project.need_id == need.id, Project.status == ProjectStatus.DONE)
    return db.session.scalars(stmt.order_by(Project.id.desc())).first()


def rate(caller: Caller, need_id: int, data: Mapping[str, Any]) -> Rating:
    """A visit rating (no `org_id`) or a member organisation's rating (`org_id`) of the need's done project."""
    need = needs.get_need(caller, need_id)
    needs.check(caller, need, Action.RATE)
    project = done_project_of(need)
    if project is None:
        raise ValidationError(_("This need has no done project to rate."), {"need_id": ["no done project"]})
    org_id = data.get("org_id")
    if org_id is None:
        if not access.supervises(caller, need.grid_path):
            raise ForbiddenError(_("Visit ratings are recorded by a supervisor."), {"org_id": ["required"]})
        source, org = RatingSource.VISIT, None
    else:
        org = _rating_org(caller, need, org_id)
        source = RatingSource.MEMBER_ORG
    rating = Rating(
        need_id=need.id,
        project_id=project.id,
        source=source,
        rating=data["rating"],
        comment=data.get("comment"),
        rater_org_id=org.id if org is not None else None,
        recorded_by=caller.id or None,
        created_at=utcnow(),
    )
    _add_once(rating)
    _after_rating(need, project, rating, actor_id=caller.id or None)
    return rating


def _rating_org(caller: Caller, need: Need, org_id: int) -> PartyOrg:
    org = db.session.get(PartyOrg, org_id)
    if org is None:
        raise ValidationError(_("No such party organisation."), {"org_id": ["unknown organisation"]})
    access.ensure_acts_for(caller, org)
    if need.alliance_id is None or org.id == need.owner_org_id or not alliances.is_member_org(need.alliance_id, org.id):
        raise ForbiddenError(
            _("Only another member organisation of the alliance rates the owner."), {"org_id": ["not a rater"]}
        )
    return org


def _add_once(rating: Rating) -> None:
    """One rating per organisation and project: checked, and settled by the unique key when two arrive at once."""
    taken = ConflictError(_("This has already been rated."), {"rating": ["already rated"]})
    if rating.rater_org_id is not None:
        stmt = select(Rating.id).where(
            Rating.project_id == rating.project_id, Rating.rater_org_id == rating.rater_org_id
        )
        if db.session.scalars(stmt).first() is not None:
            raise taken
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError:
        raise taken from None


def _after_rating(need: Need, project: Project, rating: Rating, *, actor_id: int | None) -> None:
    publish(ProjectRated(rating.id))
    details = {"project_id": str(project.id), "source": rating.source.value, "rating": rating.rating}
    if rating.rating >= GOOD:
        details["points"] = _award_workers(project)
    record(need, Action.RATE.value, actor_id=actor_id, from_status=need.status, note=rating.comment, details=details)


def _award_workers(project: Project) -> int:
    earned = 0
    for worker in project.workers:
        member = db.session.get(PartyMember, worker.member_id)
        if member is None or not member.active:
            continue
        entry = points.earn_by_rule(
            member_id=member.id,
            org_id=member.org_id,
            trigger=PointTrigger.PROJECT_RATED_GOOD,
            source=("project", str(project.id)),
            note=f"项目 {project.title}",
        )
        earned += entry.points if entry is not None else 0
    return earned


def on_ticket_changed(change: TicketChanged) -> None:
    """A resident's rating of a ticket promoted into a need whose project is done also rates the project."""
    rating = change.details.get("rating")
    if change.action not in ("close", "reopen") or not isinstance(rating, int):
        return
    need = needs.need_of_ticket(change.ticket.id)
    if need is None:
        return
    project = done_project_of(need)
    already = select(Rating.id).where(Rating.ticket_id == change.ticket.id)
    if project is None or db.session.scalars(already).first() is not None:
        return
    row = Rating(
        need_id=need.id,
        project_id=project.id,
        source=RatingSource.RESIDENT,
        rating=rating,
        ticket_id=change.ticket.id,
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    _after_rating(need, project, row, actor_id=None)


def list_ratings(caller: Caller, need_id: int) -> list[Rating]:
    need = needs.get_need(caller, need_id)
    return list(db.session.scalars(select(Rating).where(Rating.need_id == need.id).order_by(Rating.id)))


def average_of(project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Each project's (sum, count) of ratings."""
    if not project_ids:
        return {}
    stmt = (
        select(Rating.project_id, func.sum(Rating.rating), func.count(Rating.id))
        .where(Rating.project_id.in_(project_ids))
        .group_by(Rating.project_id)
    )
    return {project_id: (int(total), int(count)) for project_id, total, count in db.session.execute(stmt)}


@dataclass(frozen=True)
class ListRule:
    code: str
    name: str
    points: int
    trigger: PointTrigger
    monthly_cap: int | None


RULES: Final = (  # as the migration seeds them
    ListRule("project_rated_good", "项目获群众好评", 5, PointTrigger.PROJECT_RATED_GOOD, None),
    ListRule("wish_fulfilled", "认领并实现微心愿", 3, PointTrigger.WISH_FULFILLED, 15),
)


def seed_rules() -> int:
    """Add the lists' point rules that are missing (a fresh database has them from the migration)."""
    added = 0
    for rule in RULES:
        if db.session.get(PointRule, rule.code) is None:
            points.create_rule({**rule.__dict__, "active": True})  # in force from today
            added += 1
    return added
