"""评单: ratings of a need's done project, and the points good ratings earn.

- Residents rate through the existing ticket flow: when a ticket promoted into a need is rated (an SMS reply
  digit, or a supervisor's feedback) once the need's project is done, the rating is also the resident's rating
  of the project (`on_ticket_changed`, wired in `bootstrap.subscribe`; one per ticket).
- When the project is done (`ask_residents`, from `projects.complete`), each distinct reporter phone of the tickets
  promoted into the need gets one SMS through the outbox (`sms_project_rate_request`: the ticket's number, the
  project's title, a 1–5 prompt), so the tickets' rules hold: mobile numbers only, quiet hours, the per-phone hourly
  cap. A reply naming the ticket (or a bare digit, when no ticket of that phone awaits its own rating: the
  precedence is `hooks.sms.service`'s) is the resident's rating of the project (`ResidentAsk`, installed in
  `bootstrap.provide`); one per ticket, a second kept as ignored with the reason.
- A supervisor over the need's unit records a return visit's rating (回访, no `org_id`); whoever acts for a live
  member organisation of the need's alliance other than the owner rates the owner organisation (`org_id`: one
  rating per organisation and project).
- A rating of 4 or 5 earns each worker of the project the `project.rated_good` rule once per project, and the
  owner organisation its own entry of the `project.org_rated_good` rule once per rating (within the rule's monthly
  cap for the organisation). A rating of 1 or 2 is flagged on the need's timeline (`poor`) and sent to the inbox of
  the supervisors nearest over the need's unit.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, ValidationError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import N_, _, in_chinese
from kernel.principals import Caller
from notifications.outbox import service as notify
from notifications.outbox.templates import excerpt
from party.alliances import service as alliances
from party.lists import access, needs
from party.lists.events import ProjectRated
from party.lists.lifecycle import Action
from party.lists.models import Need, NeedTicket, Project, ProjectStatus, Rating, RatingSource
from party.lists.records import record
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.points import service as points
from party.points.models import PointRule, PointTrigger
from tasks.tickets.events import TicketChanged
from tasks.tickets.models import Ticket

GOOD: Final = 4
POOR: Final = 2  # 1 or 2: the supervisors are told
ASK_TEMPLATE: Final = "sms_project_rate_request"
ASK_EVENT: Final = "need.rating_requested"
POOR_TEMPLATE: Final = "inbox_project_rated_poorly"
POOR_EVENT: Final = "need.rated_poorly"
SOURCE_NAMES: Final = {
    RatingSource.RESIDENT: N_("a resident"),
    RatingSource.VISIT: N_("a return visit"),
    RatingSource.MEMBER_ORG: N_("a member organisation"),
}


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


def _after_rating(
    need: Need, project: Project, rating: Rating, *, actor_id: int | None, extra: Mapping[str, Any] | None = None
) -> None:
    publish(ProjectRated(rating.id))
    details = {"project_id": str(project.id), "source": rating.source.value, "rating": rating.rating, **(extra or {})}
    if rating.ticket_id is not None:
        details["ticket_id"] = str(rating.ticket_id)
    if rating.rating >= GOOD:
        details["points"] = _award_workers(project)
        details["org_points"] = _award_owner(project, rating)
    if rating.rating <= POOR:
        details["poor"] = True
        _tell_supervisors(need, project, rating)
    record(need, Action.RATE.value, actor_id=actor_id, from_status=need.status, note=rating.comment, details=details)


def _award_owner(project: Project, rating: Rating) -> int:
    """The owner organisation's own entry for one good rating (`project.org_rated_good`)."""
    entry = points.earn_for_org(
        org_id=project.owner_org_id,
        trigger=PointTrigger.PROJECT_ORG_RATED_GOOD,
        source=("rating", str(rating.id)),
        note=f"项目 {project.title} 获评 {rating.rating} 分",
    )
    return entry.points if entry is not None else 0


def _tell_supervisors(need: Need, project: Project, rating: Rating) -> None:
    """A poor rating reaches the inbox of the supervisors nearest over the need's unit (a return visit is due)."""
    params = {
        "title": excerpt(project.title, 30),
        "rating": rating.rating,
        "source": in_chinese(SOURCE_NAMES[rating.source]),
        "note": excerpt(rating.comment or "-"),
    }
    unit = db.session.get(GridUnit, need.grid_id)
    for account_id in notify.nearest_supervisors_of(unit):  # type: ignore[arg-type]
        notify.owe_inbox(POOR_EVENT, POOR_TEMPLATE, account_id, params)


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


# --- asking the residents (评单 by SMS) -----------------------------------------------------------------------


def ask_residents(need: Need, project: Project) -> int:
    """One SMS to each distinct reporter phone of the tickets promoted into the need, asking for a 1–5 rating of the
    done project and naming the ticket (the first of that phone's, by id); how many were owed. Only mobile numbers
    get one (`notify.owe_sms`); quiet hours and the per-phone cap apply at delivery, as for the tickets' SMS."""
    stmt = select(Ticket).join(NeedTicket, NeedTicket.ticket_id == Ticket.id).where(NeedTicket.need_id == need.id)
    asked: set[str] = set()
    for ticket in db.session.scalars(stmt.order_by(Ticket.id)):
        params = {**notify.ticket_params(ticket), "title": excerpt(project.title, 30)}
        for phone in notify.resident_phones(ticket.id):
            if phone not in asked and notify.owe_sms(ASK_EVENT, ASK_TEMPLATE, phone, params, ticket=ticket):
                asked.add(phone)
    return len(asked)


class ResidentAsk:
    """`hooks.sms.asks.AskedRating` for the project asks: a resident's reply rates the done project of the need
    the ticket was promoted into, once per ticket."""

    def rate(self, ticket_id: int, rating: int, *, reply_id: int) -> str | None:
        need = needs.need_of_ticket(ticket_id)
        project = done_project_of(need) if need is not None else None
        if need is None or project is None:
            return "the ticket's need has no done project to rate"
        if _rated_by_ticket(ticket_id):
            return "the project has already been rated for this ticket"
        values = {
            "need_id": need.id,
            "project_id": project.id,
            "source": RatingSource.RESIDENT,
            "rating": rating,
            "ticket_id": ticket_id,
            "created_at": utcnow(),
        }
        # Two replies at once: the ticket's unique key keeps one, the other is told why (no error, no rollback).
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(Rating).values(**values).on_conflict_do_nothing(index_elements=["ticket_id"])
        rating_id = db.session.execute(statement.returning(Rating.id)).scalar_one_or_none()
        if rating_id is None:
            return "the project has already been rated for this ticket"
        row = db.session.get(Rating, rating_id)
        assert row is not None
        _after_rating(need, project, row, actor_id=None, extra={"via": "sms", "sms_reply_id": str(reply_id)})
        return None


def _rated_by_ticket(ticket_id: int) -> bool:
    return db.session.scalars(select(Rating.id).where(Rating.ticket_id == ticket_id)).first() is not None


def on_ticket_changed(change: TicketChanged) -> None:
    """A resident's rating of a ticket promoted into a need whose project is done also rates the project."""
    rating = change.details.get("rating")
    if change.action not in ("close", "reopen") or not isinstance(rating, int):
        return
    need = needs.need_of_ticket(change.ticket.id)
    if need is None:
        return
    project = done_project_of(need)
    if project is None or _rated_by_ticket(change.ticket.id):
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


RULES: Final = (  # as the migrations seed them (0022, 0026)
    ListRule("project_rated_good", "项目获群众好评", 5, PointTrigger.PROJECT_RATED_GOOD, None),
    ListRule("wish_fulfilled", "认领并实现微心愿", 3, PointTrigger.WISH_FULFILLED, 15),
    # The owner organisation's own entry per good rating of its project; the cap is per organisation and month.
    ListRule("project_org_rated_good", "组织项目获好评", 2, PointTrigger.PROJECT_ORG_RATED_GOOD, 20),
)


def seed_rules() -> int:
    """Add the lists' point rules that are missing (a fresh database has them from the migration)."""
    added = 0
    for rule in RULES:
        if db.session.get(PointRule, rule.code) is None:
            points.create_rule({**rule.__dict__, "active": True})  # in force from today
            added += 1
    return added
