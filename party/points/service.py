"""Rules of the points ledger (积分考核): the rules, the entries ticket events write, manual entries and
corrections, the ledger and rankings a caller reads, and members' disputes.

The ledger is append-only: an entry is never edited; a correction is a new entry pointing at the one it
corrects (`corrects_id`). An entry copies its rule's points when written, so a rule changed later leaves the
entries already written as they are; a rule applies to what happens on or after its `effective_from`.

Automatic entries are written by `on_ticket_changed`, in the transaction of the ticket's event:

- `resolve` on time by an assignee linked to an active member: the `ticket.resolved_on_time` rule's points, or,
  when that assignee claimed the ticket (a `claim` event of theirs on it), the `claim.resolved` rule's points
  (on time or not: claiming is the service); once per ticket while that entry stands;
- `reopen` against a handler: a counter-entry taking back what the ticket's latest standing resolution entry
  earned (same rule, opposite points, `corrects_id` at it), then the `ticket.reopened` rule's deduction;
- `close` with a rating of 4 or 5: the `ticket.rated_good` rule's points for the handler, once per ticket.

Of a trigger's active rules, the one with the latest `effective_from` on or before the day (Beijing time)
applies, so a change is scheduled by adding a rule for the same trigger effective later. A positive rule's
`monthly_cap` bounds what it earns a member in a Beijing-time month (entries of the rule, counter-entries
included, dated in that month): the entry reaching the cap gets what is left, and nothing is written beyond it.
Deductions and manual entries are not capped.

An organisation earns entries of its own (no member) by the rules of organisation triggers
(`project.org_rated_good`: a need's project rated 4 or 5, `earn_for_org`), capped per organisation and month;
its ledger (`org_ledger`) lists them with what its members earned in it beside, and the rankings count both.
Disputes are members' appeals of their own entries: an organisation's own entries are not disputed (404).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, func, select

from auth.models import Account
from kernel.clock import BEIJING, utcnow
from kernel.codes import add_with_new_code, get_by_code, is_valid_code
from kernel.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import N_, _
from kernel.pagination import Page, paginate
from kernel.principals import Caller
from party.activities.events import AttendanceChanged
from party.members import service as members
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.points.events import PointsEntered
from party.points.models import DisputeStatus, PointDispute, PointEntry, PointRule, PointRuleVersion, PointTrigger
from party.scope import can_manage_org, ensure_manages_org, ensure_reads_org, org_scope_of
from tasks.tickets.events import TicketChanged
from tasks.tickets.models import Ticket, TicketEvent

RESOLUTION_TRIGGERS: Final = (PointTrigger.TICKET_RESOLVED_ON_TIME, PointTrigger.CLAIM_RESOLVED)
GOOD_RATINGS: Final = (4, 5)


# --- rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultRule:
    code: str
    name: str
    points: int
    trigger: PointTrigger
    monthly_cap: int | None = None


DEFAULT_RULES: Final = (  # as the migration seeds them
    DefaultRule("ticket_on_time", "按时办结工单", 5, PointTrigger.TICKET_RESOLVED_ON_TIME),
    DefaultRule("ticket_rated_good", "群众评价满意", 3, PointTrigger.TICKET_RATED_GOOD),
    DefaultRule("ticket_reopened", "工单被重新打开", -5, PointTrigger.TICKET_REOPENED),
    DefaultRule("claim_resolved", "认领并办结工单", 5, PointTrigger.CLAIM_RESOLVED),
    DefaultRule("manual", "人工加减分", 0, PointTrigger.MANUAL),
    DefaultRule("activity_attended", "参加组织生活", 2, PointTrigger.ACTIVITY_ATTENDED, monthly_cap=10),
    DefaultRule("service_hours", "双报到服务时长", 1, PointTrigger.SERVICE_HOURS, monthly_cap=20),  # per hour
)
DEFAULT_EFFECTIVE_FROM: Final = date(2026, 1, 1)


def seed_default_rules() -> int:
    """Insert the default rules when the table is empty (the migration seeds them too); how many were added."""
    if db.session.scalars(select(PointRule.code).limit(1)).first() is not None:
        return 0
    for default in DEFAULT_RULES:
        rule = PointRule(**default.__dict__, active=True, effective_from=DEFAULT_EFFECTIVE_FROM)
        db.session.add(rule)
        db.session.add(_version_of(rule))
    db.session.flush()
    return len(DEFAULT_RULES)


@dataclass(frozen=True)
class RuleFilters:
    trigger: PointTrigger | None = None
    active: bool | None = None


def list_rules(filters: RuleFilters, *, limit: int, cursor: str | None) -> Page[PointRule]:
    """The rules by code; filters `trigger`, `active`."""
    stmt = select(PointRule)
    if filters.trigger is not None:
        stmt = stmt.where(PointRule.trigger == filters.trigger)
    if filters.active is not None:
        stmt = stmt.where(PointRule.active.is_(filters.active))
    fingerprint = {"trigger": filters.trigger and str(filters.trigger), "active": filters.active}
    return paginate(stmt, order_by=[PointRule.code], limit=limit, cursor=cursor, query_fingerprint=fingerprint)


def get_rule(code: str) -> PointRule:
    """The rule with this code, active or not; NotFoundError otherwise."""
    return get_by_code(PointRule, code, valid=is_valid_code, what=N_("point rule"))


def create_rule(data: Mapping[str, Any]) -> PointRule:
    """A new rule (admins); its code and trigger are permanent; it applies from `effective_from` (today by
    default, never earlier)."""
    rule = PointRule(
        code=data["code"],
        name=data["name"],
        points=data["points"],
        trigger=data["trigger"],
        monthly_cap=data.get("monthly_cap"),
        active=data.get("active", True),
        effective_from=_not_retroactive(data.get("effective_from")),
    )
    add_with_new_code(rule, what=N_("point rule"))
    db.session.add(_version_of(rule))
    db.session.flush()
    db.session.expire(rule, ["versions"])
    return rule


VERSIONED: Final = ("points", "monthly_cap", "active")


def update_rule(code: str, changes: Mapping[str, Any]) -> PointRule:
    """Change a rule from `effective_from` on (today unless later), as a new version: what happened before that
    day is still scored by the version in force then, and entries already written keep their points. A second
    change for the same day replaces that day's version; versions of later days stay scheduled. The name is a
    label, not versioned."""
    rule = get_rule(code)
    if "name" in changes:
        rule.name = changes["name"]
    if {*VERSIONED, "effective_from"} & set(changes):
        day = _not_retroactive(changes.get("effective_from"))
        first = versions_of(rule.code)[0]
        if "effective_from" not in changes and day < first.effective_from:
            day = first.effective_from  # a rule not yet in force is changed as scheduled, not brought forward
        version = _version_in_force(rule.code, day)
        values = {name: changes.get(name, getattr(version, name)) for name in VERSIONED}
        if version.effective_from == day:
            for name, value in values.items():
                setattr(version, name, value)
        else:
            db.session.add(PointRuleVersion(code=rule.code, effective_from=day, **values))
        db.session.flush()
        _show_latest_version(rule)
        db.session.expire(rule, ["versions"])
    db.session.flush()
    return rule


def versions_of(code: str) -> list[PointRuleVersion]:
    """The rule's versions, oldest first."""
    stmt = select(PointRuleVersion).where(PointRuleVersion.code == code).order_by(PointRuleVersion.effective_from)
    return list(db.session.scalars(stmt))


def _version_of(rule: PointRule) -> PointRuleVersion:
    return PointRuleVersion(
        code=rule.code,
        effective_from=rule.effective_from,
        points=rule.points,
        monthly_cap=rule.monthly_cap,
        active=rule.active,
    )


def _version_in_force(code: str, day: date) -> PointRuleVersion:
    """The version in force on the day, or the first one when the rule starts after it."""
    versions = versions_of(code)
    earlier = [version for version in versions if version.effective_from <= day]
    return earlier[-1] if earlier else versions[0]


def _show_latest_version(rule: PointRule) -> None:
    latest = versions_of(rule.code)[-1]
    rule.points, rule.monthly_cap, rule.active = latest.points, latest.monthly_cap, latest.active
    rule.effective_from = latest.effective_from


def _not_retroactive(effective_from: date | None) -> date:
    today = beijing_today()
    if effective_from is None:
        return today
    if effective_from < today:
        raise ValidationError(
            _("A rule applies from today on, never retroactively."), {"effective_from": [_("before today")]}
        )
    return effective_from


def beijing_today() -> date:
    return utcnow().astimezone(BEIJING).date()


def rule_for(trigger: PointTrigger, on: date) -> PointRuleVersion | None:
    """What the trigger earns on the day: of its rules' versions in force then (each rule's latest on or before
    the day), the active one that took effect last (so a rule added for a later day takes over on that day)."""
    stmt = (
        select(PointRuleVersion)
        .join(PointRule, PointRule.code == PointRuleVersion.code)
        .where(PointRule.trigger == trigger, PointRuleVersion.effective_from <= on)
        .order_by(PointRuleVersion.effective_from)
    )
    in_force: dict[str, PointRuleVersion] = {}
    for version in db.session.scalars(stmt):  # a handful of rows: a trigger's rules and their changes
        in_force[version.code] = version
    active = sorted((version for version in in_force.values() if version.active), key=lambda version: version.code)
    return max(active, key=lambda version: version.effective_from, default=None)  # of one day, the first code


# --- entries from ticket events --------------------------------------------------------------------


def on_ticket_changed(change: TicketChanged) -> None:
    """Points a ticket's event earns or takes back, in the event's transaction (see the module's docstring)."""
    if change.action == "resolve":
        _award_resolution(change.ticket, on_time=bool(change.details.get("on_time")))
    elif change.action == "reopen":
        _take_back_resolution(change.ticket, change.details.get("against_id"))
    elif change.action == "close" and change.details.get("rating") in GOOD_RATINGS:
        _award_rating(change.ticket)


def _member_handling(ticket: Ticket, account_id: int | None) -> PartyMember | None:
    """The active member linked to the account; no query when the loaded account is no party member."""
    if account_id is None:
        return None
    account = ticket.assignee if ticket.assignee_id == account_id else None
    if account is None:
        account = db.session.get(Account, account_id)
    if account is None or not account.party_member:  # the flag the members service keeps: no query
        return None
    stmt = select(PartyMember).where(PartyMember.account_id == account_id, PartyMember.active.is_(True))
    return db.session.scalars(stmt).first()


def _award_resolution(ticket: Ticket, *, on_time: bool) -> None:
    member = _member_handling(ticket, ticket.handler_id)
    if member is None:
        return
    claimed = db.session.scalars(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "claim", TicketEvent.actor_id == member.account_id
        )
    ).first()
    if claimed is None and not on_time:
        return
    trigger = PointTrigger.CLAIM_RESOLVED if claimed is not None else PointTrigger.TICKET_RESOLVED_ON_TIME
    if _standing_ticket_entry(ticket, member, (trigger,)) is None:
        _earn(member, trigger, ticket)


def _award_rating(ticket: Ticket) -> None:
    member = _member_handling(ticket, ticket.handler_id)
    if member is not None and _standing_ticket_entry(ticket, member, (PointTrigger.TICKET_RATED_GOOD,)) is None:
        _earn(member, PointTrigger.TICKET_RATED_GOOD, ticket)


def _take_back_resolution(ticket: Ticket, against_id: str | None) -> None:
    if against_id is None:
        return
    earned = _latest_standing_resolution(ticket, int(against_id))
    now = utcnow()
    if earned is not None:
        _write(
            member_id=earned.member_id,
            org_id=earned.org_id,
            points=-earned.points,
            rule_code=earned.rule_code,
            source=("ticket", str(ticket.id)),
            occurred_at=now,
            note=f"工单 {ticket.no} 被重新打开，收回办结积分",
            corrects_id=earned.id,
        )
    member = _member_handling(ticket, int(against_id))
    if member is not None:
        _earn(member, PointTrigger.TICKET_REOPENED, ticket)


def _latest_standing_resolution(ticket: Ticket, account_id: int) -> PointEntry | None:
    """The ticket's latest resolution entry of the account's member not yet taken back (one indexed lookup)."""
    entries = db.session.scalars(
        select(PointEntry)
        .where(PointEntry.source_type == "ticket", PointEntry.source_id == str(ticket.id))
        .order_by(PointEntry.id)
    ).all()
    if not entries:
        return None
    member_id = db.session.scalars(select(PartyMember.id).where(PartyMember.account_id == account_id)).first()
    resolution_codes = _codes_of(RESOLUTION_TRIGGERS)
    taken_back = {entry.corrects_id for entry in entries if entry.corrects_id is not None}
    standing = [
        entry
        for entry in entries
        if entry.member_id == member_id
        and entry.rule_code in resolution_codes
        and entry.points > 0
        and entry.id not in taken_back
    ]
    return standing[-1] if standing else None


def _standing_ticket_entry(ticket: Ticket, member: PartyMember, triggers: Sequence[PointTrigger]) -> int | None:
    """The member's entry on the ticket under one of the triggers' rules that no counter-entry took back."""
    entries = db.session.scalars(
        select(PointEntry).where(
            PointEntry.source_type == "ticket",
            PointEntry.source_id == str(ticket.id),
            PointEntry.member_id == member.id,
        )
    ).all()
    codes = _codes_of(triggers)
    taken_back = {entry.corrects_id for entry in entries if entry.corrects_id is not None}
    for entry in entries:
        if entry.rule_code in codes and entry.corrects_id is None and entry.id not in taken_back:
            return entry.id
    return None


def _codes_of(triggers: Sequence[PointTrigger]) -> set[str]:
    return set(db.session.scalars(select(PointRule.code).where(PointRule.trigger.in_(triggers))))


def _earn(member: PartyMember, trigger: PointTrigger, ticket: Ticket) -> None:
    now = utcnow()
    rule = rule_for(trigger, now.astimezone(BEIJING).date())
    if rule is None or rule.points == 0:
        return
    points = _within_cap(rule, member.id, now)
    if points == 0:
        return
    _write(
        member_id=member.id,
        org_id=member.org_id,
        points=points,
        rule_code=rule.code,
        source=("ticket", str(ticket.id)),
        occurred_at=now,
        note=f"工单 {ticket.no}",
    )


def _within_cap(rule: PointRuleVersion, member_id: int, at: datetime) -> int:
    """The rule's points, or what is left of its monthly cap for the member (never below 0)."""
    if rule.monthly_cap is None or rule.points < 0:
        return rule.points
    return min(rule.points, _cap_left(rule, member_id, at))


def _cap_left(rule: PointRuleVersion, member_id: int, at: datetime) -> int:
    """What is left of the rule's monthly cap for the member in the Beijing-time month of `at` (never below 0)."""
    assert rule.monthly_cap is not None
    start, end = period_bounds("month", at.astimezone(BEIJING).date())
    used = db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member_id,
            PointEntry.rule_code == rule.code,
            PointEntry.occurred_at >= start,
            PointEntry.occurred_at < end,
        )
    )
    return max(0, rule.monthly_cap - int(used or 0))


def _write(
    *,
    member_id: int | None,
    org_id: int,
    points: int,
    rule_code: str,
    source: tuple[str, str | None],
    occurred_at: datetime,
    note: str | None,
    created_by: int | None = None,
    corrects_id: int | None = None,
) -> PointEntry:
    entry = PointEntry(
        member_id=member_id,
        org_id=org_id,
        points=points,
        rule_code=rule_code,
        source_type=source[0],
        source_id=source[1],
        occurred_at=occurred_at,
        note=note,
        created_by=created_by,
        corrects_id=corrects_id,
    )
    db.session.add(entry)
    db.session.flush()
    publish(PointsEntered(entry.id, entry.org_id, entry.points, entry.occurred_at))
    return entry


def earn_by_rule(
    *, member_id: int, org_id: int, trigger: PointTrigger, source: tuple[str, str], note: str
) -> PointEntry | None:
    """The points the trigger's rule in force today earns the member for `source` (within its monthly cap), once:
    None when the rule earns nothing or the member already holds a standing entry of that rule for the source."""
    now = utcnow()
    rule = rule_for(trigger, now.astimezone(BEIJING).date())
    if rule is None or rule.points == 0:
        return None
    held = db.session.scalars(
        select(PointEntry.id).where(
            PointEntry.source_type == source[0],
            PointEntry.source_id == source[1],
            PointEntry.member_id == member_id,
            PointEntry.rule_code == rule.code,
        )
    ).first()
    points = _within_cap(rule, member_id, now)
    if held is not None or points == 0:
        return None
    return _write(
        member_id=member_id,
        org_id=org_id,
        points=points,
        rule_code=rule.code,
        source=source,
        occurred_at=now,
        note=note,
    )


def earn_for_org(*, org_id: int, trigger: PointTrigger, source: tuple[str, str], note: str) -> PointEntry | None:
    """The organisation's own entry (no member) by the trigger's rule in force today, within the rule's monthly
    cap for the organisation, once per source: None when the rule earns nothing or the source already earned."""
    now = utcnow()
    rule = rule_for(trigger, now.astimezone(BEIJING).date())
    if rule is None or rule.points == 0:
        return None
    held = db.session.scalars(
        select(PointEntry.id).where(
            PointEntry.source_type == source[0],
            PointEntry.source_id == source[1],
            PointEntry.member_id.is_(None),
            PointEntry.org_id == org_id,
            PointEntry.rule_code == rule.code,
        )
    ).first()
    points = (
        rule.points
        if rule.monthly_cap is None or rule.points < 0
        else min(rule.points, _org_cap_left(rule, org_id, now))
    )
    if held is not None or points == 0:
        return None
    return _write(
        member_id=None, org_id=org_id, points=points, rule_code=rule.code, source=source, occurred_at=now, note=note
    )


def _org_cap_left(rule: PointRuleVersion, org_id: int, at: datetime) -> int:
    """What is left of the rule's monthly cap for the organisation's own entries in the Beijing month of `at`."""
    assert rule.monthly_cap is not None
    start, end = period_bounds("month", at.astimezone(BEIJING).date())
    used = db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id.is_(None),
            PointEntry.org_id == org_id,
            PointEntry.rule_code == rule.code,
            PointEntry.occurred_at >= start,
            PointEntry.occurred_at < end,
        )
    )
    return max(0, rule.monthly_cap - int(used or 0))


# --- manual entries and corrections ----------------------------------------------------------------


def record_manual(actor: Caller, data: Mapping[str, Any]) -> PointEntry:
    """A manual entry (or, with `corrects_id`, a correction) by an admin or the party staff over the member."""
    member = _member_in_scope(actor, data["member_id"])
    ensure_manages_org(actor, member.org, N_("member"))
    if not member.active:
        raise ValidationError(_("That member has left."), {"member_id": [_("inactive member")]})
    rule = db.session.get(PointRule, data["rule_code"])
    if (
        rule is None
        or rule.trigger is not PointTrigger.MANUAL
        or not rule.active
        or rule.effective_from > beijing_today()
    ):
        raise ValidationError(
            _("Manual entries use an active `manual` rule."), {"rule_code": [_("no such manual rule")]}
        )
    corrects_id = data.get("corrects_id")
    if corrects_id is not None:
        corrected = db.session.get(PointEntry, corrects_id)
        if corrected is None or corrected.member_id != member.id:
            raise ValidationError(
                _("No such entry of this member."), {"corrects_id": [_("no such entry of the member")]}
            )
    return _write(
        member_id=member.id,
        org_id=member.org_id,
        points=data["points"],
        rule_code=rule.code,
        source=("correction" if corrects_id is not None else "manual", None),
        occurred_at=utcnow(),
        note=data["note"],
        created_by=actor.id,
        corrects_id=corrects_id,
    )


def _member_in_scope(actor: Caller, member_id: int) -> PartyMember:
    """A member the actor reads (their own record, or one in their party scope); 404 otherwise."""
    members.get_member(actor, member_id)  # raises NotFoundError outside the actor's view
    member = db.session.get(PartyMember, member_id)
    assert member is not None
    return member


# --- the ledger --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    id: int
    member_id: int | None
    org_id: int
    points: int
    running_total: int
    rule_code: str
    source_type: str
    source_id: str | None
    occurred_at: datetime
    note: str | None
    created_by: int | None
    corrects_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Ledger:
    member_id: int
    date_from: date | None
    date_to: date | None
    brought_forward: int
    total: int
    items: list[LedgerLine]


def member_ledger(actor: Caller, member_id: int, *, date_from: date | None, date_to: date | None) -> Ledger:
    """The member's entries in the days (Beijing time, inclusive), oldest first, with running totals."""
    member = _member_in_scope(actor, member_id)
    return _ledger(member, date_from, date_to)


def my_ledger(actor: Caller, *, date_from: date | None, date_to: date | None) -> Ledger:
    """The caller's own member record's ledger; 404 when no member is linked to the caller's account."""
    member = db.session.scalars(select(PartyMember).where(PartyMember.account_id == actor.id)).first()
    if member is None:
        raise NotFoundError(_("You have no party member record."))
    return _ledger(member, date_from, date_to)


def _ledger(member: PartyMember, date_from: date | None, date_to: date | None) -> Ledger:
    brought_forward, total, lines = _entries_between((PointEntry.member_id == member.id,), date_from, date_to)
    return Ledger(member.id, date_from, date_to, brought_forward, total, lines)


def _entries_between(
    owner: tuple[ColumnElement[bool], ...], date_from: date | None, date_to: date | None
) -> tuple[int, int, list[Any]]:
    """The owner's entries in the days (Beijing time, inclusive), oldest first with running totals: the balance
    brought forward from before `date_from`, the total at the end, and the lines."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise ValidationError(_("`to` comes before `from`."), {"to": [_("before from")]})
    stmt = select(PointEntry).where(*owner, *_days(date_from, date_to))
    brought_forward = 0
    if date_from is not None:
        before = PointEntry.occurred_at < _beijing_midnight(date_from)
        balance = select(func.coalesce(func.sum(PointEntry.points), 0)).where(*owner, before)
        brought_forward = int(db.session.scalar(balance) or 0)
    running = brought_forward
    lines = []
    for entry in db.session.scalars(stmt.order_by(PointEntry.occurred_at, PointEntry.id)):
        running += entry.points
        lines.append(_line(entry, running))
    return brought_forward, running, lines


def _days(date_from: date | None, date_to: date | None) -> tuple[ColumnElement[bool], ...]:
    since = (PointEntry.occurred_at >= _beijing_midnight(date_from),) if date_from is not None else ()
    until = (PointEntry.occurred_at < _beijing_midnight(date_to, days_after=1),) if date_to is not None else ()
    return since + until


@dataclass(frozen=True)
class OrgLedger:
    org_id: int
    date_from: date | None
    date_to: date | None
    brought_forward: int
    total: int
    members_points: int
    items: list[LedgerLine]


def org_ledger(actor: Caller, org_id: int, *, date_from: date | None, date_to: date | None) -> OrgLedger:
    """The organisation's own entries in the days (Beijing time, inclusive), oldest first, with running totals, and
    beside them what its members earned while in it in those days; 404 outside the caller's party scope."""
    org = ensure_reads_org(actor, db.session.get(PartyOrg, org_id))
    own = (PointEntry.org_id == org.id, PointEntry.member_id.is_(None))
    brought_forward, running, lines = _entries_between(own, date_from, date_to)
    members_points = db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.org_id == org.id, PointEntry.member_id.is_not(None), *_days(date_from, date_to)
        )
    )
    return OrgLedger(org.id, date_from, date_to, brought_forward, running, int(members_points or 0), lines)


def _line(entry: PointEntry, running_total: int) -> LedgerLine:
    return LedgerLine(
        id=entry.id,
        member_id=entry.member_id,
        org_id=entry.org_id,
        points=entry.points,
        running_total=running_total,
        rule_code=entry.rule_code,
        source_type=entry.source_type,
        source_id=entry.source_id,
        occurred_at=entry.occurred_at,
        note=entry.note,
        created_by=entry.created_by,
        corrects_id=entry.corrects_id,
        created_at=entry.created_at,
    )


def _beijing_midnight(day: date, days_after: int = 0) -> datetime:
    """The UTC instant a Beijing-time day (`days_after` the given one) begins."""
    return datetime.combine(day + timedelta(days=days_after), time(), tzinfo=BEIJING).astimezone(UTC)


# --- rankings --------------------------------------------------------------------------------------


PERIODS: Final = ("month", "quarter", "year")


def period_bounds(period: str, at: date) -> tuple[datetime, datetime]:
    """The Beijing-time month, quarter or year holding the day, as UTC instants [start, end)."""
    if period == "month":
        first, months = date(at.year, at.month, 1), 1
    elif period == "quarter":
        first, months = date(at.year, 3 * ((at.month - 1) // 3) + 1, 1), 3
    else:
        first, months = date(at.year, 1, 1), 12
    index = first.month - 1 + months
    after = date(first.year + index // 12, index % 12 + 1, 1)
    return _beijing_midnight(first), _beijing_midnight(after)


@dataclass(frozen=True)
class RankedMember:
    rank: int
    member_id: int
    name: str
    org_id: int
    points: int


@dataclass(frozen=True)
class RankedOrg:
    rank: int
    org_id: int
    name: str
    points: int


@dataclass(frozen=True)
class Rankings:
    period: str
    start: datetime
    end: datetime
    org_id: int | None
    members: list[RankedMember]
    orgs: list[RankedOrg]


def rankings(actor: Caller, *, org_id: int | None, period: str, at: date | None) -> Rankings:
    """Active members and organisations of the subtree (the caller's scope by default) by points earned in the
    period, most first; ties share a rank (1, 1, 3). An organisation counts its own entries and the entries its
    members earned while in it; a member counts only their own."""
    start, end = period_bounds(period, at or beijing_today())
    orgs_stmt: Select[tuple[PartyOrg]] = select(PartyOrg).where(org_scope_of(actor).clause(PartyOrg.path))
    if org_id is not None:
        root = ensure_reads_org(actor, db.session.get(PartyOrg, org_id))
        orgs_stmt = orgs_stmt.where(PartyOrg.path.startswith(root.path, autoescape=True))
    orgs = db.session.scalars(orgs_stmt.where(PartyOrg.active.is_(True))).all()
    org_ids = [org.id for org in orgs]
    in_period = (PointEntry.occurred_at >= start, PointEntry.occurred_at < end)
    by_member = _sums(
        select(PointEntry.member_id, func.sum(PointEntry.points))
        .join(PartyMember, PartyMember.id == PointEntry.member_id)
        .where(PartyMember.org_id.in_(org_ids), *in_period)
        .group_by(PointEntry.member_id)
    )
    by_org = _sums(
        select(PointEntry.org_id, func.sum(PointEntry.points))
        .where(PointEntry.org_id.in_(org_ids), *in_period)
        .group_by(PointEntry.org_id)
    )
    people = db.session.scalars(
        select(PartyMember).where(PartyMember.org_id.in_(org_ids), PartyMember.active.is_(True))
    ).all()
    member_rows = sorted(((int(by_member.get(m.id) or 0), m) for m in people), key=lambda row: (-row[0], row[1].id))
    org_rows = sorted(((int(by_org.get(o.id) or 0), o) for o in orgs), key=lambda row: (-row[0], row[1].id))
    return Rankings(
        period=period,
        start=start,
        end=end,
        org_id=org_id,
        members=[
            RankedMember(rank, m.id, m.name, m.org_id, points)
            for rank, (points, m) in zip(competition_ranks([p for p, _ in member_rows]), member_rows, strict=True)
        ],
        orgs=[
            RankedOrg(rank, o.id, o.name, points)
            for rank, (points, o) in zip(competition_ranks([p for p, _ in org_rows]), org_rows, strict=True)
        ],
    )


def _sums(stmt: Select[tuple[int, int]]) -> dict[int, int]:
    return {key: int(total or 0) for key, total in db.session.execute(stmt)}


def competition_ranks(points: Sequence[int]) -> list[int]:
    """Ranks of scores sorted most first, ties sharing the better rank: 10, 10, 7 → 1, 1, 3."""
    ranks: list[int] = []
    for index, score in enumerate(points):
        ranks.append(ranks[-1] if index and score == points[index - 1] else index + 1)
    return ranks


# --- disputes --------------------------------------------------------------------------------------


def open_dispute(actor: Caller, entry_id: int, reason: str) -> PointDispute:
    """The member disputes one of their own entries; one open dispute per entry."""
    entry = db.session.get(PointEntry, entry_id)
    # An organisation's own entry has no member to dispute it: disputes stay members' appeals.
    member = db.session.get(PartyMember, entry.member_id) if entry is not None and entry.member_id else None
    if entry is None or member is None:
        raise NotFoundError(_("No such points entry."))
    if member.account_id != actor.id:
        members.get_member(actor, member.id)  # 404 when the actor may not see the member at all
        raise ForbiddenError(_("Only the member may dispute their entry."), {"member": [_("not yours")]})
    already = db.session.scalars(
        select(PointDispute.id).where(PointDispute.entry_id == entry.id, PointDispute.status == DisputeStatus.OPEN)
    ).first()
    if already is not None:
        raise ConflictError(_("That entry is already disputed."), {"entry_id": [_("an open dispute exists")]})
    dispute = PointDispute(entry_id=entry.id, member_id=member.id, reason=reason, status=DisputeStatus.OPEN)
    db.session.add(dispute)
    db.session.flush()
    return dispute


def resolve_dispute(actor: Caller, dispute_id: int, data: Mapping[str, Any]) -> PointDispute:
    """The secretary of the entry's organisation, or an admin or the party staff over it, upholds the entry or
    corrects it (a correction entry of `points`); both stay on record."""
    dispute = db.session.get(PointDispute, dispute_id)
    entry = db.session.get(PointEntry, dispute.entry_id) if dispute is not None else None
    org = db.session.get(PartyOrg, entry.org_id) if entry is not None else None
    if dispute is None or entry is None or org is None or not _may_settle(actor, org, dispute):
        raise NotFoundError(_("No such dispute."))
    if not (can_manage_org(actor, org) or _is_secretary(actor, org)):
        raise ForbiddenError(
            _("Only the organisation's secretary or party staff settle it."), {"role": [_("not yours")]}
        )
    if dispute.status is not DisputeStatus.OPEN:
        raise ConflictError(_("That dispute is settled."), {"status": [dispute.status.value]})
    outcome = DisputeStatus(data["outcome"])
    points = data.get("points")
    if outcome is DisputeStatus.CORRECTED and not points:
        raise ValidationError(_("A correction gives its points."), {"points": [_("required, not 0, to correct")]})
    if outcome is DisputeStatus.UPHELD and points is not None:
        raise ValidationError(_("An upheld entry stands as it is."), {"points": [_("only to correct")]})
    now = utcnow()
    if outcome is DisputeStatus.CORRECTED:
        member = db.session.get(PartyMember, entry.member_id)
        assert member is not None
        correction = _write(
            member_id=member.id,
            org_id=member.org_id,
            points=points,
            rule_code=entry.rule_code,
            source=("correction", f"dispute:{dispute.id}"),
            occurred_at=now,
            note=data["note"],
            created_by=actor.id,
            corrects_id=entry.id,
        )
        dispute.correction_id = correction.id
    dispute.status = outcome
    dispute.resolution_note = data["note"]
    dispute.resolved_by = actor.id
    dispute.resolved_at = now
    db.session.flush()
    return dispute


def _may_settle(actor: Caller, org: PartyOrg, dispute: PointDispute) -> bool:
    """Whether the actor may know of the dispute: in their party scope, their own, or their organisation's."""
    if org_scope_of(actor).covers(org.path) or _is_secretary(actor, org):
        return True
    return db.session.get(PartyMember, dispute.member_id).account_id == actor.id  # type: ignore[union-attr]


def _is_secretary(actor: Caller, org: PartyOrg) -> bool:
    if org.secretary_id is None:
        return False
    secretary = db.session.get(PartyMember, org.secretary_id)
    return secretary is not None and secretary.active and secretary.account_id == actor.id


# --- entries from activity attendance ------------------------------------------------------------------


def on_attendance_changed(event: AttendanceChanged) -> None:
    """Points for members marked present at an activity, and their take-back when a mark is withdrawn, in the
    transaction that recorded the change.

    Each member newly present, active, without a standing entry for the activity, earns the `activity.attended`
    rule in force on the activity's Beijing-time day (a rule changed later does not reach back), within the
    rule's monthly cap for that month; the entry is dated when the activity was held. A withdrawn mark writes a
    counter-entry taking back what the member's standing entry earned, dated the same, pointing at it (so the
    month's cap is freed as well); a mark that earned nothing (the cap was full) takes nothing back.
    """
    source = ("activity", str(event.activity_id))
    for member_id in event.present_removed:
        earned = _standing_activity_entry(source, member_id)
        if earned is not None:
            _write(
                member_id=earned.member_id,
                org_id=earned.org_id,
                points=-earned.points,
                rule_code=earned.rule_code,
                source=source,
                occurred_at=event.held_at,
                note=f"{event.title}：出席记录撤销，收回积分",
                corrects_id=earned.id,
            )
    if not event.present_added:
        return
    rule = rule_for(PointTrigger.ACTIVITY_ATTENDED, event.held_at.astimezone(BEIJING).date())
    if rule is None or rule.points == 0:
        return
    for member_id in event.present_added:
        member = db.session.get(PartyMember, member_id)
        if member is None or not member.active or _standing_activity_entry(source, member_id) is not None:
            continue
        points = _within_cap(rule, member.id, event.held_at)
        if points != 0:
            _write(
                member_id=member.id,
                org_id=member.org_id,
                points=points,
                rule_code=rule.code,
                source=source,
                occurred_at=event.held_at,
                note=event.title,
            )


def _standing_activity_entry(source: tuple[str, str], member_id: int) -> PointEntry | None:
    """The member's attendance entry for the activity that no counter-entry took back."""
    entries = db.session.scalars(
        select(PointEntry)
        .where(
            PointEntry.source_type == source[0],
            PointEntry.source_id == source[1],
            PointEntry.member_id == member_id,
        )
        .order_by(PointEntry.id)
    ).all()
    codes = _codes_of((PointTrigger.ACTIVITY_ATTENDED,))
    taken_back = {entry.corrects_id for entry in entries if entry.corrects_id is not None}
    for entry in entries:
        if entry.rule_code in codes and entry.corrects_id is None and entry.id not in taken_back:
            return entry
    return None


# --- service hours (双报到) --------------------------------------------------------------------------------
# Called by the check-ins' service records (`party.checkins.records`) in the transaction that writes or withdraws a
# record: the `service.hours` rule's points per hour times the record's hours, rounded down to whole points (toward
# zero), within the rule's monthly cap; a withdrawn record's entry is taken back by a counter-entry.

SERVICE_SOURCE: Final = "service"


def earn_service_hours(*, member_id: int, org_id: int, record_id: int, hours: Decimal, note: str) -> PointEntry | None:
    """The points a new service record earns its member (none without an active rule in force, or past the cap)."""
    now = utcnow()
    rule = rule_for(PointTrigger.SERVICE_HOURS, now.astimezone(BEIJING).date())
    if rule is None or rule.points == 0:
        return None
    points = int((rule.points * hours).to_integral_value(rounding=ROUND_DOWN))
    if points > 0 and rule.monthly_cap is not None:
        points = min(points, _cap_left(rule, member_id, now))
    if points == 0:
        return None
    return _write(
        member_id=member_id,
        org_id=org_id,
        points=points,
        rule_code=rule.code,
        source=(SERVICE_SOURCE, str(record_id)),
        occurred_at=now,
        note=note,
    )


def take_back_service_hours(*, record_id: int, note: str) -> PointEntry | None:
    """A counter-entry for what a withdrawn service record earned, if it earned anything not yet taken back."""
    entries = db.session.scalars(
        select(PointEntry)
        .where(PointEntry.source_type == SERVICE_SOURCE, PointEntry.source_id == str(record_id))
        .order_by(PointEntry.id)
    ).all()
    taken_back = {entry.corrects_id for entry in entries if entry.corrects_id is not None}
    standing = [entry for entry in entries if entry.corrects_id is None and entry.id not in taken_back]
    if not standing:
        return None
    earned = standing[-1]
    return _write(
        member_id=earned.member_id,
        org_id=earned.org_id,
        points=-earned.points,
        rule_code=earned.rule_code,
        source=(SERVICE_SOURCE, str(record_id)),
        occurred_at=utcnow(),
        note=note,
        corrects_id=earned.id,
    )
