"""Alliance meetings (联席会议, 工作例会): activities of kind `alliance_meeting` held by the lead organisation and
carrying the alliance, with the member organisations present and the decisions taken.

They are recorded by whoever manages the alliance (it must be active), never in the future; the organisations
present were live members on the day (Beijing time). They appear among the lead organisation's activities too
(`GET /party/activities`), where party staff over it may correct or cancel them as any activity; a cancelled
meeting counts for nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grid.models import GridUnit
from kernel.clock import BEIJING, utcnow
from kernel.errors import InvalidTransitionError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Caller
from party.activities.models import Activity, ActivityChange, ActivityKind, ActivityStatus
from party.activities.service import ALLIANCE_MEETING_KIND, FUTURE_ALLOWANCE, beijing_midnight
from party.alliances import service as alliances
from party.alliances.models import AllianceStatus, DecisionAction, MeetingDecision, MeetingOrg
from party.lists.models import Project

MEETING_KIND_ROW: Final = {"name": "联席会议", "yearly_minimum": 0, "position": 7}  # as the migration seeds it


def seed_meeting_kind() -> int:
    """Add the `alliance_meeting` activity kind when missing (the migration seeds it); how many were added."""
    if db.session.get(ActivityKind, ALLIANCE_MEETING_KIND) is not None:
        return 0
    db.session.add(ActivityKind(code=ALLIANCE_MEETING_KIND, active=True, **MEETING_KIND_ROW))
    db.session.flush()
    return 1


@dataclass(frozen=True)
class PresentOrgView:
    org_id: int
    name: str


@dataclass(frozen=True)
class DecisionView:
    position: int
    text: str
    project_id: int | None
    project_action: DecisionAction | None


@dataclass(frozen=True)
class MeetingView:
    id: int
    alliance_id: int
    org_id: int  # the lead organisation that held it
    title: str
    held_at: datetime
    hours: Decimal
    place: str | None
    minutes: str | None
    status: ActivityStatus
    present_orgs: list[PresentOrgView]
    decisions: list[DecisionView]
    created_by: int | None
    created_at: datetime


def _views(meetings: Sequence[Activity]) -> list[MeetingView]:
    ids = [meeting.id for meeting in meetings]
    present: dict[int, list[PresentOrgView]] = {meeting_id: [] for meeting_id in ids}
    decisions: dict[int, list[DecisionView]] = {meeting_id: [] for meeting_id in ids}
    if ids:
        orgs = select(MeetingOrg).where(MeetingOrg.activity_id.in_(ids)).options(selectinload(MeetingOrg.org))
        for mark in db.session.scalars(orgs.order_by(MeetingOrg.org_id)):
            present[mark.activity_id].append(PresentOrgView(mark.org_id, mark.org.name))
        taken = select(MeetingDecision).where(MeetingDecision.activity_id.in_(ids)).order_by(MeetingDecision.position)
        for decision in db.session.scalars(taken):
            decisions[decision.activity_id].append(
                DecisionView(decision.position, decision.text, decision.project_id, decision.project_action)
            )
    return [
        MeetingView(
            id=meeting.id,
            alliance_id=meeting.alliance_id or 0,
            org_id=meeting.org_id,
            title=meeting.title,
            held_at=meeting.held_at,
            hours=meeting.hours,
            place=meeting.place,
            minutes=meeting.minutes,
            status=meeting.status,
            present_orgs=present[meeting.id],
            decisions=decisions[meeting.id],
            created_by=meeting.created_by,
            created_at=meeting.created_at,
        )
        for meeting in meetings
    ]


@dataclass(frozen=True)
class MeetingFilters:
    date_from: date | None = None
    date_to: date | None = None
    status: ActivityStatus | None = None


def list_meetings(
    caller: Caller, alliance_id: int, filters: MeetingFilters, *, limit: int, cursor: str | None
) -> Page[MeetingView]:
    """The alliance's meetings, latest held first; `from`/`to` are Beijing days (inclusive)."""
    alliance = alliances.readable_alliance(caller, alliance_id)
    stmt = select(Activity).where(Activity.alliance_id == alliance.id)
    if filters.date_from is not None:
        stmt = stmt.where(Activity.held_at >= beijing_midnight(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(Activity.held_at < beijing_midnight(filters.date_to + timedelta(days=1)))
    if filters.status is not None:
        stmt = stmt.where(Activity.status == filters.status)
    page = paginate(
        stmt,
        order_by=[Activity.held_at, Activity.id],
        descending=True,
        limit=limit,
        cursor=cursor,
        query_fingerprint={**filters.__dict__, "alliance": alliance.id},
    )
    return Page(_views(page.items), page.next_cursor)


def record_meeting(caller: Caller, alliance_id: int, data: Mapping[str, Any]) -> MeetingView:
    """Record a meeting of an active alliance the caller manages, with the organisations present and its
    decisions; kept on record as an activity of the lead organisation."""
    alliance = alliances.managed_alliance(caller, alliance_id)
    if alliance.status is not AllianceStatus.ACTIVE:
        raise InvalidTransitionError(_("An alliance meets once it is approved."), {"status": [alliance.status.value]})
    held_at = data["held_at"]
    if held_at > utcnow() + FUTURE_ALLOWANCE:
        raise ValidationError(_("A meeting is recorded once held."), {"held_at": ["in the future"]})
    present = list(dict.fromkeys(data["present_org_ids"]))
    day = held_at.astimezone(BEIJING).date()
    members = set(alliances.active_member_org_ids(alliance.id, on=day))
    strangers = [f"{org_id}: not a member on {day.isoformat()}" for org_id in present if org_id not in members]
    if strangers:
        raise ValidationError(
            _("Only the alliance's member organisations are present."), {"present_org_ids": strangers}
        )
    decisions = data.get("decisions") or []
    _check_decisions(alliance.id, decisions)
    meeting = Activity(
        org_id=alliance.lead_org_id,
        alliance_id=alliance.id,
        kind_code=ALLIANCE_MEETING_KIND,
        title=data["title"],
        held_at=held_at,
        hours=data["hours"],
        place=data.get("place"),
        minutes=data.get("minutes"),
        status=ActivityStatus.HELD,
        created_by=caller.id,
    )
    db.session.add(meeting)
    db.session.flush()
    db.session.add_all(MeetingOrg(activity_id=meeting.id, org_id=org_id) for org_id in present)
    db.session.add_all(
        MeetingDecision(
            activity_id=meeting.id,
            position=position,
            text=decision["text"],
            project_id=decision.get("project_id"),
            project_action=decision.get("project_action"),
        )
        for position, decision in enumerate(decisions, start=1)
    )
    changes = {
        "alliance_id": str(alliance.id),
        "present_orgs": {"added": [str(org_id) for org_id in present]},
        "decisions": len(decisions),
    }
    db.session.add(
        ActivityChange(
            activity_id=meeting.id, action="create", actor_id=caller.id, note=data.get("note"), changes=changes
        )
    )
    db.session.flush()
    return _views([meeting])[0]


def _check_decisions(alliance_id: int, decisions: Sequence[Mapping[str, Any]]) -> None:
    """A decision naming a project says whether it opens or reviews it, and the other way round; the project is
    the alliance's or lies in its territory."""
    problems = [
        f"{position}: project_id and project_action go together"
        for position, decision in enumerate(decisions, start=1)
        if (decision.get("project_id") is None) != (decision.get("project_action") is None)
    ]
    named = {int(d["project_id"]) for d in decisions if d.get("project_id") is not None}
    alliance = alliances.get_alliance(alliance_id)
    grid = db.session.get(GridUnit, alliance.grid_id)
    ours = {
        project_id
        for project_id, owner_alliance, path in db.session.execute(
            select(Project.id, Project.alliance_id, Project.grid_path).where(Project.id.in_(named))
        )
        if owner_alliance == alliance.id or (grid is not None and path.startswith(grid.path))
    }
    problems += [
        f"{position}: no project {decision['project_id']} of this alliance or its territory"
        for position, decision in enumerate(decisions, start=1)
        if decision.get("project_id") is not None and decision["project_id"] not in ours
    ]
    if problems:
        raise ValidationError(_("A decision opens or reviews a project it names."), {"decisions": problems})
