"""年度考核: one alliance's Beijing-time year, for whoever reads the alliance: its members (those whose membership
overlaps the year), the meetings held (not cancelled) with the organisations present, the projects opened in the
year with their ratings, the needs raised for it, and the ratings its projects received in the year."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from dashboards.service import rate
from kernel.clock import BEIJING
from kernel.extensions import db
from kernel.principals import Caller
from party.activities.models import Activity, ActivityStatus
from party.activities.service import beijing_midnight
from party.alliances import service as alliances
from party.alliances.models import AllianceMember, MeetingDecision, MeetingOrg
from party.assessment import figures
from party.lists import stats
from party.lists.models import Need, NeedKind, NeedStatus, ProjectStatus, RatingSource


@dataclass(frozen=True)
class MemberLine:
    org_id: int
    org_name: str
    host_kind: str | None
    is_lead: bool
    commitment: str | None
    joined_on: date
    left_on: date | None
    meetings_present: int
    projects_owned: int
    projects_done: int


@dataclass(frozen=True)
class MeetingLine:
    id: int
    held_at: datetime
    title: str
    present: int  # organisations present
    members: int  # member organisations on the day
    decisions: int


@dataclass(frozen=True)
class ProjectLine:
    id: int
    title: str
    owner_org_id: int
    owner_org_name: str
    status: ProjectStatus
    deadline: date | None
    done_at: datetime | None
    on_time: bool | None  # done on or before the deadline; null while not done or without one
    rating_count: int
    rating_average: float | None


@dataclass(frozen=True)
class Report:
    alliance: alliances.AllianceView
    year: int
    members: list[MemberLine]
    meetings: dict[str, Any]
    projects: dict[str, Any]
    needs: dict[str, Any]
    ratings: dict[str, Any]


def alliance_report(caller: Caller, alliance_id: int, year: int | None) -> Report:
    """The alliance's year (this year by default); 404 for an alliance the caller does not read."""
    view = alliances.get_alliance_view(caller, alliance_id)
    year = year or alliances.today().year
    first, last = date(year, 1, 1), date(year, 12, 31)
    start, end = beijing_midnight(first), beijing_midnight(date(year + 1, 1, 1))
    period = figures.Period("/", start, end)
    meetings = _meetings(alliance_id, start, end)
    projects = stats.alliance_projects(alliance_id, start, end)
    present_counts = _present_counts([meeting.id for meeting in meetings])
    lines = [_project_line(item) for item in projects]
    residents = figures.alliance_ratings(alliance_id, period, figures.RESIDENTS)
    member_orgs = figures.alliance_ratings(alliance_id, period, (RatingSource.MEMBER_ORG,))
    return Report(
        alliance=view,
        year=year,
        members=_members(alliance_id, view.lead_org_id, first, last, present_counts, lines),
        meetings={
            "held": len(meetings),
            "attendance": rate(sum(m.present for m in meetings), sum(m.members for m in meetings)),
            "items": meetings,
        },
        projects={
            "by_status": _by_status(lines),
            "done_on_time": rate(
                sum(1 for line in lines if line.on_time), sum(1 for line in lines if line.on_time is not None)
            ),
            "items": lines,
        },
        needs=_needs(alliance_id, start, end),
        ratings={
            "residents": {
                "count": residents.count,
                "average": residents.average,
                "satisfied": rate(residents.satisfied, residents.count),
            },
            "member_orgs": {"count": member_orgs.count, "average": member_orgs.average},
        },
    )


def _meetings(alliance_id: int, start: datetime, end: datetime) -> list[MeetingLine]:
    held = db.session.scalars(
        select(Activity)
        .where(
            Activity.alliance_id == alliance_id,
            Activity.status == ActivityStatus.HELD,
            Activity.held_at >= start,
            Activity.held_at < end,
        )
        .order_by(Activity.held_at, Activity.id)
    ).all()
    ids = [meeting.id for meeting in held]
    present = _count_by(MeetingOrg.activity_id, ids)
    decided = _count_by(MeetingDecision.activity_id, ids)
    return [
        MeetingLine(
            id=meeting.id,
            held_at=meeting.held_at,
            title=meeting.title,
            present=present.get(meeting.id, 0),
            members=len(alliances.active_member_org_ids(alliance_id, on=meeting.held_at.astimezone(BEIJING).date())),
            decisions=decided.get(meeting.id, 0),
        )
        for meeting in held
    ]


def _count_by(column: Any, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    stmt = select(column, func.count()).where(column.in_(ids)).group_by(column)
    return {key: int(n) for key, n in db.session.execute(stmt)}


def _present_counts(meeting_ids: list[int]) -> dict[int, int]:
    """How many of the meetings each organisation was present at."""
    if not meeting_ids:
        return {}
    stmt = (
        select(MeetingOrg.org_id, func.count())
        .where(MeetingOrg.activity_id.in_(meeting_ids))
        .group_by(MeetingOrg.org_id)
    )
    return {org_id: int(n) for org_id, n in db.session.execute(stmt)}


def _members(
    alliance_id: int, lead_org_id: int, first: date, last: date, present: dict[int, int], projects: list[ProjectLine]
) -> list[MemberLine]:
    owned: dict[int, list[ProjectLine]] = defaultdict(list)
    for line in projects:
        owned[line.owner_org_id].append(line)
    memberships = db.session.scalars(
        select(AllianceMember)
        .where(
            AllianceMember.alliance_id == alliance_id,
            AllianceMember.joined_on <= last,
            or_(AllianceMember.left_on.is_(None), AllianceMember.left_on >= first),
        )
        .options(selectinload(AllianceMember.org))
        .order_by(AllianceMember.joined_on, AllianceMember.id)
    ).all()
    return [
        MemberLine(
            org_id=m.org_id,
            org_name=m.org.name,
            host_kind=str(m.org.host_kind) if m.org.host_kind is not None else None,
            is_lead=m.org_id == lead_org_id,
            commitment=m.commitment,
            joined_on=m.joined_on,
            left_on=m.left_on,
            meetings_present=present.get(m.org_id, 0),
            projects_owned=len(owned[m.org_id]),
            projects_done=sum(1 for line in owned[m.org_id] if line.status is ProjectStatus.DONE),
        )
        for m in memberships
    ]


def _project_line(item: stats.AllianceProject) -> ProjectLine:
    project = item.project
    on_time = None
    if project.done_at is not None and project.deadline is not None:
        on_time = project.done_at.astimezone(BEIJING).date() <= project.deadline
    return ProjectLine(
        id=project.id,
        title=project.title,
        owner_org_id=project.owner_org_id,
        owner_org_name=project.owner_org_name,
        status=project.status,
        deadline=project.deadline,
        done_at=project.done_at,
        on_time=on_time,
        rating_count=item.rating.count,
        rating_average=item.rating.average,
    )


def _by_status(lines: list[ProjectLine]) -> dict[str, int]:
    counts = {status.value: 0 for status in ProjectStatus}
    for line in lines:
        counts[line.status.value] += 1
    return {**counts, "total": len(lines)}


def _needs(alliance_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """The alliance's needs (and wishes) raised in the year, by where they stand now."""
    rows = db.session.execute(
        select(Need.kind, Need.status).where(
            Need.alliance_id == alliance_id, Need.created_at >= start, Need.created_at < end
        )
    ).all()
    needs = [status for kind, status in rows if kind is NeedKind.NEED]
    wishes = [status for kind, status in rows if kind is NeedKind.WISH]
    return {
        "raised": len(needs),
        "met": rate(needs.count(NeedStatus.MET), len(needs) - needs.count(NeedStatus.WITHDRAWN)),
        "wishes_raised": len(wishes),
        "wishes_met": wishes.count(NeedStatus.MET),
    }
