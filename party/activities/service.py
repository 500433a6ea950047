"""Rules of organisation life on record (全程纪实): kinds of activity, recording and correcting activities with
their attendance and photos, who reads them, and an organisation's yearly count against the minimum of each kind.

- An activity belongs to one organisation; its attendance names members of that organisation's subtree only (a
  branch's activity may mark the members of its groups), one mark each: present, or absent with a reason.
- It is never deleted. A correction (PATCH) is kept in the activity's changes (who, when, what, why); a
  cancelled activity (held in error, or called off) stays on record, counts for nothing and takes no more
  changes.
- Attendance is told to the rest of the party layer by `AttendanceChanged`, published in the request's
  transaction after the change: on recording, with everyone present; on a correction, with only the difference;
  on cancelling, with every present mark withdrawn. When a correction moves `held_at` or changes `hours` while
  members are marked present, what they earned depended on the old values: the present marks are withdrawn as
  the activity was, then given again as it is (two events), so every listener settles on the new values.
- Readers: admins everything; party staff the activities of the organisations in their subtree (and they
  manage them); supervisors read those of the organisations in their grid subtree (`party.scope`); any
  member with an account reads the activities they were marked at (present or absent), also through
  `GET /party/me/activities`.
- Photos are uploaded as for tickets (`POST /attachments`) and linked by `photo_ids` (the uploader's own, not yet
  linked); the photos service holds them for the activity, never purges them, and asks `ActivityPhotoRules`
  who may see them: whoever reads the activity.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import selectinload

from kernel.api import format_timestamp
from kernel.clock import BEIJING, utcnow
from kernel.codes import CodedList
from kernel.errors import ConflictError, NotFoundError, ValidationError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.pagination import Page, paginate
from kernel.principals import Caller
from party.activities.events import AttendanceChanged
from party.activities.models import Activity, ActivityChange, ActivityKind, ActivityStatus, Attendance
from party.members.models import PartyMember
from party.orgs.models import OrgKind, PartyOrg
from party.points.models import PointEntry
from party.scope import ensure_manages_org, ensure_reads_org, org_scope_of
from tasks.photos import service as photos

PHOTO_HOLDER: Final = "party_activity"  # what the photos service calls an activity holding photos
# A phone's clock may run a little ahead: an activity "held" this far in the future is still taken as now.
FUTURE_ALLOWANCE: Final = timedelta(minutes=10)
# Joint meetings of an alliance (联席会议): recorded by party.alliances, with the organisations present.
ALLIANCE_MEETING_KIND: Final = "alliance_meeting"


# --- kinds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultKind:
    code: str
    name: str
    yearly_minimum: int
    position: int


DEFAULT_KINDS: Final = (  # as the migration seeds them; the minimum is a branch's per year
    DefaultKind("branch_meeting", "支部党员大会", 4, 1),  # quarterly
    DefaultKind("committee_meeting", "支委会", 12, 2),  # monthly
    DefaultKind("group_meeting", "党小组会", 12, 3),  # monthly, held by the branch's groups
    DefaultKind("party_lecture", "党课", 4, 4),  # quarterly
    DefaultKind("theme_day", "主题党日", 12, 5),  # monthly
    DefaultKind("service", "志愿服务", 0, 6),
)


KINDS: Final = CodedList(
    ActivityKind,
    what=N_("activity kind"),
    fields={"name": None, "yearly_minimum": 0, "position": 0, "active": True},
    defaults=DEFAULT_KINDS,
)
seed_default_kinds = KINDS.seed


# --- what a caller sees of an activity ----------------------------------------------------------------


@dataclass(frozen=True)
class PresentView:
    member_id: int
    name: str
    points: int  # what the activity earned them, net of take-backs


@dataclass(frozen=True)
class AbsentView:
    member_id: int
    name: str
    reason: str | None


@dataclass(frozen=True)
class ActivityView:
    id: int
    org_id: int
    org_name: str
    kind: str
    kind_name: str
    title: str
    held_at: datetime
    hours: Decimal
    place: str | None
    minutes: str | None
    status: ActivityStatus
    cancel_reason: str | None
    present: list[PresentView]
    absent: list[AbsentView]
    photo_ids: list[int]
    points: int  # the sum of the present members' points
    created_by: int | None
    created_at: datetime
    updated_at: datetime


def _views(activities: Sequence[Activity]) -> list[ActivityView]:
    """The activities as shown, with their photos and points read in one query each."""
    ids = [activity.id for activity in activities]
    held = photos.held_photo_ids(PHOTO_HOLDER, ids)
    earned = _points_by_activity_and_member(ids)
    kinds = {kind.code: kind.name for kind in db.session.scalars(select(ActivityKind))}
    views = []
    for activity in activities:
        present = [
            PresentView(mark.member_id, mark.member.name, earned.get((activity.id, mark.member_id), 0))
            for mark in activity.attendance
            if mark.present
        ]
        absent = [AbsentView(m.member_id, m.member.name, m.reason) for m in activity.attendance if not m.present]
        views.append(
            ActivityView(
                id=activity.id,
                org_id=activity.org_id,
                org_name=activity.org.name,
                kind=activity.kind_code,
                kind_name=kinds.get(activity.kind_code, activity.kind_code),
                title=activity.title,
                held_at=activity.held_at,
                hours=activity.hours,
                place=activity.place,
                minutes=activity.minutes,
                status=activity.status,
                cancel_reason=activity.cancel_reason,
                present=present,
                absent=absent,
                photo_ids=held.get(activity.id, []),
                points=sum(mark.points for mark in present),
                created_by=activity.created_by,
                created_at=activity.created_at,
                updated_at=activity.updated_at,
            )
        )
    return views


def _points_by_activity_and_member(activity_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    if not activity_ids:
        return {}
    stmt = (
        select(PointEntry.source_id, PointEntry.member_id, func.sum(PointEntry.points))
        .where(PointEntry.source_type == "activity", PointEntry.source_id.in_([str(i) for i in activity_ids]))
        .group_by(PointEntry.source_id, PointEntry.member_id)
    )
    return {(int(source), member): int(total or 0) for source, member, total in db.session.execute(stmt)}


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityFilters:
    org_id: int | None = None
    kind: str | None = None
    status: ActivityStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


def list_activities(actor: Caller, filters: ActivityFilters, *, limit: int, cursor: str | None) -> Page[ActivityView]:
    """Activities of the organisations the actor reads, latest held first; `org_id` covers its subtree,
    `from`/`to` are Beijing days (inclusive)."""
    scope = org_scope_of(actor)
    stmt = _loaded(select(Activity).join(PartyOrg, PartyOrg.id == Activity.org_id).where(scope.clause(PartyOrg.path)))
    if filters.org_id is not None:
        org = ensure_reads_org(actor, db.session.get(PartyOrg, filters.org_id))
        stmt = stmt.where(PartyOrg.path.startswith(org.path, autoescape=True))
    stmt = _filtered(stmt, filters)
    fingerprint = {**filters.__dict__, "actor": actor.id}
    page = paginate(
        stmt,
        order_by=[Activity.held_at, Activity.id],
        descending=True,
        limit=limit,
        cursor=cursor,
        query_fingerprint=fingerprint,
    )
    return Page(_views(page.items), page.next_cursor)


def list_my_activities(
    actor: Caller, filters: ActivityFilters, *, limit: int, cursor: str | None
) -> Page[ActivityView]:
    """The activities the caller's member record is marked at (present or absent), latest held first; 404 when
    no member is linked to the caller's account."""
    member_id = db.session.scalars(select(PartyMember.id).where(PartyMember.account_id == actor.id)).first()
    if member_id is None:
        raise NotFoundError(_("You have no party member record."))
    marked = select(Attendance.activity_id).where(Attendance.member_id == member_id)
    stmt = _filtered(_loaded(select(Activity).where(Activity.id.in_(marked))), filters)
    fingerprint = {**filters.__dict__, "me": actor.id}
    page = paginate(
        stmt,
        order_by=[Activity.held_at, Activity.id],
        descending=True,
        limit=limit,
        cursor=cursor,
        query_fingerprint=fingerprint,
    )
    return Page(_views(page.items), page.next_cursor)


def _loaded(stmt: Select[tuple[Activity]]) -> Select[tuple[Activity]]:
    return stmt.options(selectinload(Activity.org), selectinload(Activity.attendance).selectinload(Attendance.member))


def _filtered(stmt: Select[tuple[Activity]], filters: ActivityFilters) -> Select[tuple[Activity]]:
    if filters.date_from is not None and filters.date_to is not None and filters.date_to < filters.date_from:
        raise ValidationError(_("`to` comes before `from`."), {"to": [_("before from")]})
    if filters.kind is not None:
        stmt = stmt.where(Activity.kind_code == filters.kind)
    if filters.status is not None:
        stmt = stmt.where(Activity.status == filters.status)
    if filters.date_from is not None:
        stmt = stmt.where(Activity.held_at >= beijing_midnight(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(Activity.held_at < beijing_midnight(filters.date_to + timedelta(days=1)))
    return stmt


def get_activity(actor: Caller, activity_id: int) -> ActivityView:
    """An activity the actor reads (in their party scope, or one they were marked at); 404 otherwise."""
    return _views([_visible_activity(actor, activity_id)])[0]


def _visible_activity(actor: Caller, activity_id: int) -> Activity:
    stmt = _loaded(select(Activity).where(Activity.id == activity_id))
    activity = db.session.scalars(stmt).one_or_none()
    if activity is None or not _reads(actor, activity):
        raise NotFoundError(_("No such activity."))
    return activity


def _reads(actor: Caller, activity: Activity) -> bool:
    if org_scope_of(actor).covers(activity.org.path):
        return True
    own = (
        select(Attendance.member_id)
        .join(PartyMember, PartyMember.id == Attendance.member_id)
        .where(Attendance.activity_id == activity.id, PartyMember.account_id == actor.id)
    )
    return db.session.scalars(own).first() is not None


def list_changes(actor: Caller, activity_id: int) -> list[ActivityChange]:
    """The activity's record of changes, oldest first, for whoever reads it."""
    _visible_activity(actor, activity_id)
    stmt = select(ActivityChange).where(ActivityChange.activity_id == activity_id).order_by(ActivityChange.id)
    return list(db.session.scalars(stmt))


class ActivityPhotoRules:
    """`tasks.photos.service.PhotoHolder` for activities: their photos are seen by whoever reads them."""

    def check_visible(self, actor: Caller, holder_id: int) -> None:
        _visible_activity(actor, holder_id)


# --- recording and correcting ---------------------------------------------------------------------------


# The correctable fields, by their name on the wire and their column.
FIELD_COLUMNS: Final = {
    "kind": "kind_code",
    "title": "title",
    "held_at": "held_at",
    "hours": "hours",
    "place": "place",
    "minutes": "minutes",
}


@dataclass
class _Marks:
    """An activity's attendance: the members present, and those absent with their reason."""

    present: list[int] = field(default_factory=list)
    absent: dict[int, str | None] = field(default_factory=dict)

    @classmethod
    def of(cls, activity: Activity) -> "_Marks":
        marks = cls()
        for mark in activity.attendance:
            if mark.present:
                marks.present.append(mark.member_id)
            else:
                marks.absent[mark.member_id] = mark.reason
        return marks

    def member_ids(self) -> set[int]:
        return {*self.present, *self.absent}


def create_activity(actor: Caller, data: Mapping[str, Any]) -> ActivityView:
    """Record an activity of an organisation the actor manages, with its attendance and photos; its present
    members are told to the party layer (points, service records)."""
    org = _manageable_org(actor, data["org_id"])
    held_at = _not_in_future(data["held_at"])
    marks = _marks_from(data.get("present") or [], data.get("absent") or [])
    _check_marks(org, marks, held_at, already=set())
    activity = Activity(
        org_id=org.id,
        kind_code=_active_kind(data["kind"]).code,
        title=data["title"],
        held_at=held_at,
        hours=data["hours"],
        place=data.get("place"),
        minutes=data.get("minutes"),
        status=ActivityStatus.HELD,
        created_by=actor.id,
    )
    activity.org = org
    db.session.add(activity)
    _set_marks(activity, marks)
    db.session.flush()
    photo_ids = _hold_photos(actor, data.get("photo_ids") or [], activity)
    changes: dict[str, Any] = {
        name: {"from": None, "to": _plain(getattr(activity, column))}
        for name, column in FIELD_COLUMNS.items()
        if getattr(activity, column) is not None
    }
    changes.update(_attendance_diff(_Marks(), marks))
    if photo_ids:
        changes["photo_ids"] = {"added": [str(photo_id) for photo_id in photo_ids]}
    _record(activity, actor, "create", changes, data.get("note"))
    _publish(activity, added=marks.present, removed=[])
    return get_activity(actor, activity.id)


def update_activity(actor: Caller, activity_id: int, changes: Mapping[str, Any]) -> ActivityView:
    """Correct an activity the actor manages: its details, attendance (each list given replaces that list) and
    photos (added); the change is kept on record and the attendance's difference told to the party layer."""
    activity = _managed_activity(actor, activity_id)
    if "kind" in changes and changes["kind"] != activity.kind_code:
        _active_kind(changes["kind"])
    if "held_at" in changes:
        _not_in_future(changes["held_at"])
    before = _Marks.of(activity)
    kept_absent = [{"member_id": member_id, "reason": reason} for member_id, reason in before.absent.items()]
    after = _marks_from(changes.get("present", before.present), changes.get("absent", kept_absent))
    _check_marks(activity.org, after, changes.get("held_at", activity.held_at), already=before.member_ids())
    old = _Snapshot.of(activity)
    record: dict[str, Any] = {}
    for name, column in FIELD_COLUMNS.items():
        if name in changes and changes[name] != getattr(activity, column):
            record[name] = {"from": _plain(getattr(activity, column)), "to": _plain(changes[name])}
            setattr(activity, column, changes[name])
    record.update(_attendance_diff(before, after))
    if "present" in changes or "absent" in changes:
        _set_marks(activity, after)
    db.session.flush()
    known = set(photos.held_photo_ids(PHOTO_HOLDER, [activity.id]).get(activity.id, []))
    added_photos = [p for p in _hold_photos(actor, changes.get("photo_ids") or [], activity) if p not in known]
    if added_photos:
        record["photo_ids"] = {"added": [str(photo_id) for photo_id in added_photos]}
    if record:
        activity.updated_at = utcnow()
        _record(activity, actor, "update", record, changes.get("note"))
        _publish_correction(activity, old, before, after)
    return get_activity(actor, activity.id)


def cancel_activity(actor: Caller, activity_id: int, reason: str) -> ActivityView:
    """Cancel an activity the actor manages (held in error, or called off): it stays on record with its
    attendance, counts for nothing, and every present mark is withdrawn from the party layer."""
    activity = _managed_activity(actor, activity_id)
    activity.status = ActivityStatus.CANCELLED
    activity.cancel_reason = reason
    activity.updated_at = utcnow()
    _record(activity, actor, "cancel", {"status": {"from": "held", "to": "cancelled"}}, reason)
    db.session.flush()
    _publish(activity, added=[], removed=_Marks.of(activity).present)
    return get_activity(actor, activity.id)


def _managed_activity(actor: Caller, activity_id: int) -> Activity:
    activity = _visible_activity(actor, activity_id)
    ensure_manages_org(actor, activity.org, N_("activity"))
    if activity.status is ActivityStatus.CANCELLED:
        raise ConflictError(_("A cancelled activity stays on record as it is."), {"status": ["cancelled"]})
    return activity


def _manageable_org(actor: Caller, org_id: int) -> PartyOrg:
    org = db.session.get(PartyOrg, org_id)
    if org is None:
        raise ValidationError(_("No such party organisation."), {"org_id": [_("no such organisation")]})
    ensure_manages_org(actor, org)
    if not org.active:
        raise ValidationError(_("That organisation is inactive."), {"org_id": [_("inactive organisation")]})
    return org


def _active_kind(code: str) -> ActivityKind:
    if code == ALLIANCE_MEETING_KIND:
        raise ValidationError(
            _("An alliance's meeting is recorded through the alliance."),
            {"kind": ["POST /party/alliances/{id}/meetings"]},
        )
    found = KINDS.get_active(code)
    if found is None:
        raise ValidationError(_("Unknown or inactive activity kind."), {"kind": [_("no such active kind")]})
    return found


def _not_in_future(held_at: datetime) -> datetime:
    if held_at > utcnow() + FUTURE_ALLOWANCE:
        raise ValidationError(_("An activity is recorded once held."), {"held_at": [_("in the future")]})
    return held_at


def _marks_from(present: Sequence[int], absent: Sequence[Mapping[str, Any]]) -> _Marks:
    """The marks a body gives; a member twice among the absent, or both present and absent, is 422."""
    marks = _Marks(present=list(dict.fromkeys(present)))
    problems: dict[str, list[str]] = {}
    for item in absent:
        member_id = item["member_id"]
        if member_id in marks.absent:
            problems.setdefault("absent", []).append(f"{member_id}: listed twice")
        elif member_id in marks.present:
            problems.setdefault("absent", []).append(f"{member_id}: also marked present")
        marks.absent[member_id] = item.get("reason")
    if problems:
        raise ValidationError(_("A member has one mark: present, or absent with a reason."), problems)
    return marks


def _check_marks(org: PartyOrg, marks: _Marks, held_at: datetime, *, already: set[int]) -> None:
    """Members newly marked belong to the organisation's subtree and were members on the day; 422 naming the
    others (marks already recorded stand, even if the member has since moved or left)."""
    new = marks.member_ids() - already
    if not new:
        return
    day = held_at.astimezone(BEIJING).date()
    stmt = (
        select(PartyMember)
        .join(PartyOrg, PartyOrg.id == PartyMember.org_id)
        .where(PartyMember.id.in_(new), PartyOrg.path.startswith(org.path, autoescape=True))
    )
    eligible = {
        member.id
        for member in db.session.scalars(stmt)
        if (member.joined_on is None or member.joined_on <= day)
        and (member.active or (member.left_on is not None and member.left_on >= day))
    }
    problems: dict[str, list[str]] = {}
    for name, ids in (("present", marks.present), ("absent", list(marks.absent))):
        bad = [f"{member_id}: not a member of {org.name} or below" for member_id in ids if member_id in new - eligible]
        if bad:
            problems[name] = bad
    if problems:
        raise ValidationError(_("Attendance lists only the organisation's members."), problems)


def _set_marks(activity: Activity, marks: _Marks) -> None:
    """The activity's attendance becomes `marks`: rows kept, changed, added or removed in place."""
    wanted: dict[int, tuple[bool, str | None]] = {member_id: (True, None) for member_id in marks.present}
    wanted.update({member_id: (False, reason) for member_id, reason in marks.absent.items()})
    kept = []
    for mark in activity.attendance:
        if mark.member_id in wanted:
            mark.present, mark.reason = wanted.pop(mark.member_id)
            kept.append(mark)
    for member_id, (present, reason) in sorted(wanted.items()):
        kept.append(Attendance(member_id=member_id, present=present, reason=reason))
    activity.attendance = kept
    db.session.flush()
    db.session.expire(activity, ["attendance"])  # read back in member order, with the members loaded


def _attendance_diff(before: _Marks, after: _Marks) -> dict[str, Any]:
    diff: dict[str, Any] = {}
    added = [str(m) for m in after.present if m not in before.present]
    removed = [str(m) for m in before.present if m not in after.present]
    if added or removed:
        diff["present"] = {"added": added, "removed": removed}
    gone = [{"member_id": str(m), "reason": r} for m, r in before.absent.items() if after.absent.get(m, ...) != r]
    came = [{"member_id": str(m), "reason": r} for m, r in after.absent.items() if before.absent.get(m, ...) != r]
    if gone or came:
        diff["absent"] = {"added": came, "removed": gone}
    return diff


def _hold_photos(actor: Caller, photo_ids: Sequence[int], activity: Activity) -> list[int]:
    held = photos.hold_photos(actor, photo_ids, holder_type=PHOTO_HOLDER, holder_id=activity.id)
    return [photo.id for photo in held]


def _record(activity: Activity, actor: Caller, action: str, changes: dict[str, Any], note: str | None) -> None:
    db.session.add(
        ActivityChange(activity_id=activity.id, action=action, actor_id=actor.id, note=note, changes=changes)
    )


def _plain(value: Any) -> Any:
    """A value as the record keeps it (JSON): times as the API writes them, hours as a number."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


# --- telling the party layer ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """What the listeners were told of the activity: when it was held and how long it lasted."""

    title: str
    kind: str
    held_at: datetime
    hours: Decimal

    @classmethod
    def of(cls, activity: Activity) -> "_Snapshot":
        return cls(activity.title, activity.kind_code, activity.held_at, activity.hours)


def _publish_correction(activity: Activity, old: _Snapshot, before: _Marks, after: _Marks) -> None:
    moved = old.held_at != activity.held_at or Decimal(old.hours) != Decimal(activity.hours)
    if moved and before.present:
        _publish(activity, added=[], removed=before.present, as_was=old)
        _publish(activity, added=after.present, removed=[])
        return
    added = [m for m in after.present if m not in before.present]
    removed = [m for m in before.present if m not in after.present]
    if added or removed:
        _publish(activity, added=added, removed=removed)


def _publish(
    activity: Activity, *, added: Sequence[int], removed: Sequence[int], as_was: _Snapshot | None = None
) -> None:
    shown = as_was or _Snapshot.of(activity)
    publish(
        AttendanceChanged(
            activity_id=activity.id,
            org_id=activity.org_id,
            kind=shown.kind,
            title=shown.title,
            held_at=shown.held_at,
            hours=Decimal(shown.hours).quantize(Decimal("0.01")),
            present_added=tuple(sorted(added)),
            present_removed=tuple(sorted(removed)),
        )
    )


# --- an organisation's yearly life --------------------------------------------------------------------


@dataclass(frozen=True)
class KindCount:
    code: str
    name: str
    required: int
    held: int
    missing: int
    due_so_far: int | None
    behind: int | None


@dataclass(frozen=True)
class Life:
    org_id: int
    year: int
    org_ids: list[int]  # the organisation and its groups, whose activities are counted
    as_of: date | None  # today, for the current year
    kinds: list[KindCount]
    missing: int


def life(actor: Caller, org_id: int, year: int | None) -> Life:
    """The organisation's activities held in the (Beijing-time) year, counted by kind against each kind's yearly
    minimum. A branch counts its own activities and those of the groups directly under it (党小组会 are held by
    its groups); any other organisation counts its own. Cancelled activities count for nothing. For the current
    year, `due_so_far` is the minimum's share of the months already over: floor(minimum × months over / 12)."""
    org = ensure_reads_org(actor, db.session.get(PartyOrg, org_id))
    today = utcnow().astimezone(BEIJING).date()
    year = year or today.year
    org_ids = [org.id]
    if org.kind is OrgKind.BRANCH:
        groups = select(PartyOrg.id).where(PartyOrg.parent_id == org.id, PartyOrg.kind == OrgKind.GROUP)
        org_ids += sorted(db.session.scalars(groups))
    held = dict(
        db.session.execute(
            select(Activity.kind_code, func.count())
            .where(
                Activity.org_id.in_(org_ids),
                Activity.status == ActivityStatus.HELD,
                Activity.held_at >= beijing_midnight(date(year, 1, 1)),
                Activity.held_at < beijing_midnight(date(year + 1, 1, 1)),
            )
            .group_by(Activity.kind_code)
        ).all()
    )
    kinds = db.session.scalars(
        select(ActivityKind)
        .where(or_(ActivityKind.active.is_(True), ActivityKind.code.in_(list(held)) if held else false()))
        .order_by(ActivityKind.position, ActivityKind.code)
    ).all()
    current = year == today.year
    months_over = today.month - 1
    counts = []
    for kind in kinds:
        count = int(held.get(kind.code, 0))
        due = kind.yearly_minimum * months_over // 12 if current else None
        counts.append(
            KindCount(
                code=kind.code,
                name=kind.name,
                required=kind.yearly_minimum,
                held=count,
                missing=max(0, kind.yearly_minimum - count),
                due_so_far=due,
                behind=max(0, due - count) if due is not None else None,
            )
        )
    return Life(
        org_id=org.id,
        year=year,
        org_ids=org_ids,
        as_of=today if current else None,
        kinds=counts,
        missing=sum(count.missing for count in counts),
    )


def beijing_midnight(day: date) -> datetime:
    """The UTC instant a Beijing-time day begins."""
    return datetime.combine(day, time(), tzinfo=BEIJING).astimezone(UTC)
