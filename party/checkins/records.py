"""Service records (服务记录) of members with a confirmed check-in, written from ticket and attendance events, and
the yearly summary a member's service adds up to.

- **Tickets.** A `resolve` by an account linked to an active member with a confirmed check-in records the ticket
  when it lies in the check-in's community and the member took it as a volunteer there: they claimed it, or their
  account is a volunteer's (a worker's own cells are their job, not 双报到 service). It counts
  `PARTY_SERVICE_HOURS_PER_TICKET` hours (1 by default): a fixed figure, since the time a ticket stays open says more
  about the queue than about the service. Once per ticket and member while the record stands; a `reopen`
  withdraws it (and a later resolution records it again); a `close` with a rating writes the resident's rating on
  it.
- **Activities.** Each member marked present (`AttendanceChanged.present_added`) who has a confirmed check-in gets
  a record of the activity's hours; a withdrawn mark (`present_removed`) withdraws it.

A record is never deleted: withdrawing sets `withdrawn_at`. A new record earns the `service.hours` points
(`party.points.service.earn_service_hours`); a withdrawn one has them taken back by a counter-entry.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Final

from flask import current_app
from sqlalchemy import select

from auth.models import Account
from grid.models import GridUnit
from kernel.clock import BEIJING, utcnow
from kernel.extensions import db
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from party.activities.events import AttendanceChanged
from party.checkins import service as check_ins
from party.checkins.models import CheckIn, RecordKind, ServiceRecord
from party.members import service as members
from party.members.models import PartyMember
from party.points import service as points
from tasks.tickets.events import TicketChanged
from tasks.tickets.models import Ticket, TicketEvent

HOURS_QUANTUM: Final = Decimal("0.01")


# --- from ticket events ------------------------------------------------------------------------------


def on_ticket_changed(change: TicketChanged) -> None:
    """Service records a ticket's event writes, withdraws or rates, in the event's transaction."""
    if change.action == "resolve":
        _record_resolution(change.ticket)
    elif change.action == "reopen":
        _withdraw_all(RecordKind.TICKET, str(change.ticket.id), reason="工单被重新打开")
    elif change.action == "close" and change.details.get("rating") is not None:
        _rate(change.ticket, int(change.details["rating"]))


def _record_resolution(ticket: Ticket) -> None:
    account = _handler(ticket)
    if account is None:
        return
    member = db.session.scalars(
        select(PartyMember).where(PartyMember.account_id == account.id, PartyMember.active.is_(True))
    ).first()
    check_in = check_ins.confirmed_check_in_of(member.id) if member is not None else None
    if member is None or check_in is None or not _in_community(ticket, check_in):
        return
    if account.role is not Role.VOLUNTEER and not _claimed_by(ticket, account.id):
        return
    if _standing(RecordKind.TICKET, str(ticket.id), member.id):
        return
    hours = Decimal(current_app.config["PARTY_SERVICE_HOURS_PER_TICKET"]).quantize(HOURS_QUANTUM)
    _write(check_in, member, RecordKind.TICKET, str(ticket.id), f"工单 {ticket.no}", hours, utcnow())


def _handler(ticket: Ticket) -> Account | None:
    """The account that resolved the ticket, when it is a party member's (the flag on the account: no query)."""
    if ticket.handler_id is None:
        return None
    account = ticket.assignee if ticket.assignee_id == ticket.handler_id else None
    account = account or db.session.get(Account, ticket.handler_id)
    return account if account is not None and account.party_member else None


def _in_community(ticket: Ticket, check_in: CheckIn) -> bool:
    community = db.session.get(GridUnit, check_in.community_id)
    return community is not None and ticket.grid.path.startswith(community.path)


def _claimed_by(ticket: Ticket, account_id: int) -> bool:
    stmt = select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "claim", TicketEvent.actor_id == account_id
    )
    return db.session.scalars(stmt).first() is not None


def _rate(ticket: Ticket, rating: int) -> None:
    stmt = (
        select(ServiceRecord)
        .where(
            ServiceRecord.kind == RecordKind.TICKET,
            ServiceRecord.source_id == str(ticket.id),
            ServiceRecord.withdrawn_at.is_(None),
        )
        .order_by(ServiceRecord.id.desc())
    )
    record = db.session.scalars(stmt).first()
    if record is not None:
        record.rating = rating


# --- from attendance ----------------------------------------------------------------------------------


def on_attendance_changed(change: AttendanceChanged) -> None:
    """A record for each member marked present who has a confirmed check-in; a withdrawn mark withdraws it."""
    source = str(change.activity_id)
    hours = Decimal(change.hours).quantize(HOURS_QUANTUM)
    for member_id in change.present_added:
        member = db.session.get(PartyMember, member_id)
        check_in = check_ins.confirmed_check_in_of(member_id) if member is not None else None
        if member is None or check_in is None or _standing(RecordKind.ACTIVITY, source, member_id):
            continue
        _write(check_in, member, RecordKind.ACTIVITY, source, change.title[:255], hours, change.held_at)
    for member_id in change.present_removed:
        _withdraw_all(RecordKind.ACTIVITY, source, reason="出勤记录更正", member_id=member_id)


# --- writing and withdrawing ---------------------------------------------------------------------------


def _standing(kind: RecordKind, source_id: str, member_id: int) -> bool:
    stmt = select(ServiceRecord.id).where(
        ServiceRecord.kind == kind,
        ServiceRecord.source_id == source_id,
        ServiceRecord.member_id == member_id,
        ServiceRecord.withdrawn_at.is_(None),
    )
    return db.session.scalars(stmt).first() is not None


def _write(
    check_in: CheckIn,
    member: PartyMember,
    kind: RecordKind,
    source_id: str,
    title: str,
    hours: Decimal,
    occurred_at: datetime,
) -> ServiceRecord:
    record = ServiceRecord(
        check_in_id=check_in.id,
        member_id=member.id,
        kind=kind,
        source_id=source_id,
        title=title,
        hours=hours,
        occurred_at=occurred_at,
    )
    db.session.add(record)
    db.session.flush()
    points.earn_service_hours(
        member_id=member.id, org_id=member.org_id, record_id=record.id, hours=hours, note=f"双报到服务 {title}"
    )
    return record


def _withdraw_all(kind: RecordKind, source_id: str, *, reason: str, member_id: int | None = None) -> None:
    stmt = select(ServiceRecord).where(
        ServiceRecord.kind == kind, ServiceRecord.source_id == source_id, ServiceRecord.withdrawn_at.is_(None)
    )
    if member_id is not None:
        stmt = stmt.where(ServiceRecord.member_id == member_id)
    now = utcnow()
    for record in db.session.scalars(stmt).all():
        record.withdrawn_at = now
        record.withdrawn_reason = reason
        db.session.flush()
        points.take_back_service_hours(record_id=record.id, note=f"{reason}，收回服务时长积分")


# --- reading -------------------------------------------------------------------------------------------


def list_records(actor: Caller, check_in_id: int, *, limit: int, cursor: str | None) -> Page[ServiceRecord]:
    """A check-in's records, oldest first, withdrawn ones too (with `withdrawn_at`)."""
    check_in = check_ins.get_check_in(actor, check_in_id)
    stmt = select(ServiceRecord).where(ServiceRecord.check_in_id == check_in.id)
    return paginate(
        stmt, order_by=[ServiceRecord.id], limit=limit, cursor=cursor, query_fingerprint={"check_in": check_in.id}
    )


@dataclass(frozen=True)
class Tally:
    key: str
    name: str
    hours: Decimal
    records: int


@dataclass(frozen=True)
class ServiceSummary:
    member_id: int
    year: int
    hours: Decimal
    records: int
    rated: int
    average_rating: Decimal | None
    by_kind: list[Tally]
    by_community: list[Tally]


KIND_NAMES: Final = {RecordKind.TICKET: "工单服务", RecordKind.ACTIVITY: "活动服务"}


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The Beijing-time calendar year as UTC instants [start, end)."""
    start = datetime.combine(date(year, 1, 1), time(), tzinfo=BEIJING).astimezone(UTC)
    return start, datetime.combine(date(year + 1, 1, 1), time(), tzinfo=BEIJING).astimezone(UTC)


def this_year() -> int:
    return utcnow().astimezone(BEIJING).year


def standing_records(member_ids: list[int], year: int) -> list[tuple[ServiceRecord, CheckIn]]:
    """The members' standing records of the Beijing-time year, with their check-ins, oldest first."""
    start, end = year_bounds(year)
    stmt = (
        select(ServiceRecord, CheckIn)
        .join(CheckIn, CheckIn.id == ServiceRecord.check_in_id)
        .where(
            ServiceRecord.member_id.in_(member_ids),
            ServiceRecord.withdrawn_at.is_(None),
            ServiceRecord.occurred_at >= start,
            ServiceRecord.occurred_at < end,
        )
        .order_by(ServiceRecord.occurred_at, ServiceRecord.id)
    )
    return [(record, check_in) for record, check_in in db.session.execute(stmt)]


def member_service(actor: Caller, member_id: int, year: int | None) -> ServiceSummary:
    """A member's service in a Beijing-time year (this one by default): hours, records, by kind and by community,
    and the residents' average rating of the rated tickets; standing records only."""
    members.get_member(actor, member_id)  # 404 outside the actor's view
    year = year or this_year()
    rows = standing_records([member_id], year)
    return summarize(member_id, year, [record for record, _ in rows], [check_in for _, check_in in rows])


def summarize(member_id: int, year: int, records: list[ServiceRecord], check_ins_of: list[CheckIn]) -> ServiceSummary:
    kinds: dict[str, list[Decimal]] = defaultdict(list)
    communities: dict[int, list[Decimal]] = defaultdict(list)
    for record, check_in in zip(records, check_ins_of, strict=True):
        kinds[record.kind.value].append(record.hours)
        communities[check_in.community_id].append(record.hours)
    names = dict(db.session.execute(select(GridUnit.id, GridUnit.name).where(GridUnit.id.in_(list(communities)))).all())
    ratings = [record.rating for record in records if record.rating is not None]
    average = (Decimal(sum(ratings)) / len(ratings)).quantize(HOURS_QUANTUM) if ratings else None
    return ServiceSummary(
        member_id=member_id,
        year=year,
        hours=sum((record.hours for record in records), Decimal("0.00")),
        records=len(records),
        rated=len(ratings),
        average_rating=average,
        by_kind=[
            Tally(kind.value, KIND_NAMES[kind], sum(kinds[kind.value], Decimal("0.00")), len(kinds[kind.value]))
            for kind in RecordKind
            if kind.value in kinds
        ],
        by_community=[
            Tally(str(unit_id), names.get(unit_id, ""), sum(hours, Decimal("0.00")), len(hours))
            for unit_id, hours in sorted(communities.items())
        ],
    )
