"""SMS replies: a resident's answer to an SMS becomes a rating or a comment on the one ticket it is about.

**Replies.** A reply that is one digit 1–5 rates the one ticket awaiting a rating whose "resolved" SMS reached
that phone within `SMS_REPLY_WINDOW_HOURS`: 1–2 reopen it, 3–5 close it (`tasks.tickets.actions.rate_as_resident`:
the rules of a supervisor's feedback, with no account acting). A ticket number (YYYYMMDD-NNNNNN) in the reply
names the ticket instead, if that phone reported it; what follows the number is the digit or the text. A second
rating of one resolution (or a rating of a ticket no longer resolved) changes nothing: the reply is kept as
`ignored` with the reason. Any other text is a comment on the record: a ticket event `sms_reply` (no actor; the
text as its note), on the one ticket an SMS went to that phone about within the window. A reply that matches
no single ticket is kept as `unmatched` and answered, at most once an hour per phone, with an SMS naming the
resident's latest ticket and asking for "ticket number and score"; a phone that never reported anything gets
no answer.

**Rating asks (评单).** A higher context may ask residents by SMS to rate what their ticket led to (a need's done
project asks each phone behind the need's tickets, `hooks.sms.asks`). Precedence, so that a digit never rates the
wrong thing: a ticket awaiting its own rating comes first (a bare digit rates it, as above; for a ticket promoted
into a need whose project is done that rating is also the project's); only when no ticket awaits one does a bare
digit answer the one ask that reached the phone within the window (several asks: unmatched, and the resident is
asked for the number). The ticket-number form always disambiguates: "20261206-000123 5" rates that ticket when it
awaits its rating, and otherwise the ask about that ticket if one reached the phone lately. A second rating of an
ask is kept as `ignored` with the reason, like a ticket's.

**Requests by text.** A text that is none of these (no ticket number, no rating, not about the one ticket an SMS
went to lately) from a phone with no ticket awaiting a rating becomes a request (`channel` sms, the text as its
description, the phone as reporter, no location) in the triage queue of `SMS_INTAKE_GRID_ID`'s unit, and the
resident is told it was received; the number follows by SMS once a supervisor routes it. Texts without a letter
or a Chinese character (only punctuation or digits), more than `SMS_INTAKE_PER_PHONE_PER_DAY` from one phone in
24 hours, or any text while `SMS_INTAKE_GRID_ID` is unset stay `unmatched` as above.

**Status by text.** "查询" (or "CX") alone is answered with the phone's open tickets (number and status, at most
`STATUS_LIST_LIMIT`); "查询 20261206-000123" with that ticket's status and deadline if this phone reported it, and
otherwise with the same "not found" whether the number exists or not. Answers go only to the asking phone.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select

from grid import service as grid_service
from hooks.dedup import insert_once
from hooks.sms import formats
from hooks.sms.asks import installed_asks
from hooks.sms.callbacks import Received, check_token, newest_first, staleness
from hooks.sms.formats import ACKS, Malformed
from hooks.sms.models import InboundStatus, SmsReply
from kernel.clock import utcnow
from kernel.extensions import db
from kernel.names import resident_status
from kernel.pagination import Page
from notifications.outbox import service as notify
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from tasks.lifecycle import OPEN_STATUSES, Status
from tasks.tickets import actions as tasks
from tasks.tickets import intake as ticket_intake
from tasks.tickets.models import Channel, FeedbackChannel, ResidentRequest, Ticket

RESOLVED_TEMPLATE = "sms_ticket_resolved"
UNMATCHED_TEMPLATE = "sms_reply_unmatched"
UNMATCHED_EVENT = "sms.reply_unmatched"
REQUEST_TEMPLATE = "sms_request_received"
STATUS_EVENT = "sms.status_query"
STATUS_LIST_LIMIT = 3
# "查询", "CX", "cx" alone or followed by a ticket number; spaces and punctuation around them are allowed.
STATUS_QUERY = re.compile(r"^[\s\W_]*(?:查询|[Cc][Xx])[\s\W_]*(?:([0-9]{8}-[0-9]{6})[\s\W_]*)?$")
REQUEST_EVENT = "sms.request_received"
COMMENT_ACTION = "sms_reply"
ANSWER_INTERVAL = timedelta(hours=1)
TICKET_NO = re.compile(r"(?<![0-9])([0-9]{8}-[0-9]{6})(?![0-9])")
# Around a rating digit residents type spaces and punctuation ("5。", "评 5", "：5分").
_DIGIT_ONLY = re.compile(r"^[\s\W_]*(?:评分?|打)?[\s\W_]*([1-5])[\s\W_]*分?[\s\W_]*$")


def receive_replies(provider: str, token: str | None, body: bytes) -> Received:
    """Keep and act on each reply of a provider's callback (its raw JSON body), once each."""
    check_token(provider, token)
    now = utcnow()
    new = 0
    for item in formats.items(body, single_allowed=provider != "aliyun"):
        try:
            reply = formats.read_reply(provider, item)
        except Malformed as malformed:
            new += _keep_malformed_reply(provider, item, str(malformed))
            continue
        reply_id = insert_once(
            SmsReply,
            {
                "provider": provider,
                "dedup_key": reply.dedup_key[:128],
                "phone": reply.phone,
                "text": reply.text,
                "sent_at": reply.sent_at,
                "status": InboundStatus.IGNORED,
                "created_at": now,
            },
            unique=["provider", "dedup_key"],
        )
        if reply_id is None:
            continue  # a replay: handled when it first came
        new += 1
        row = db.session.get(SmsReply, reply_id)
        _handle_reply(row, now)  # type: ignore[arg-type]
    db.session.flush()
    return Received(new, ACKS[provider])


def _keep_malformed_reply(provider: str, item: Any, reason: str) -> int:
    values = {"provider": provider, "dedup_key": formats.malformed_key(item), "text": formats.as_text(item)}
    values |= {"status": InboundStatus.IGNORED, "reason": f"malformed: {reason}"[:200], "created_at": utcnow()}
    return 0 if insert_once(SmsReply, values, unique=["provider", "dedup_key"]) is None else 1


def _handle_reply(row: SmsReply, now: datetime) -> None:
    stale = staleness(row.sent_at, now)
    if stale is not None:
        return _settle(row, InboundStatus.IGNORED, reason=stale)
    if row.phone is None:
        return _settle(row, InboundStatus.IGNORED, reason="not from a mainland mobile number")
    text = unicodedata.normalize("NFKC", row.text).strip()  # full-width digits and dashes become ASCII
    if not text:
        return _settle(row, InboundStatus.IGNORED, reason="empty")
    query = STATUS_QUERY.match(text)
    if query is not None:
        return _answer_status(row, query.group(1))
    named = TICKET_NO.search(text)
    if named is not None:
        ticket = _reported_by(named.group(1), row.phone)
        if ticket is None:
            return _unmatched(row, "no ticket with that number reported from this phone", now)
        rest = (text[: named.start()] + " " + text[named.end() :]).strip()
        rating = _rating(rest)
        if rating is not None:
            asked = _asked(row.phone, now, ticket_id=ticket.id)
            if ticket.status is not Status.RESOLVED and asked:
                return _rate_asked(row, asked[0], ticket, rating)
            return _rate(row, ticket, rating)
        return _comment(row, ticket, row.text)
    rating = _rating(text)
    if rating is not None:
        return _rate_bare(row, rating, now)
    tickets = _answered(row.phone, now)
    if len(tickets) != 1:
        reason = "no recent SMS to this phone" if not tickets else f"recent SMS about {len(tickets)} tickets"
        why_not = _why_not_a_request(row.phone, text, now)
        if why_not is None:
            return _file(row)
        return _unmatched(row, f"{reason}; {why_not}", now)
    return _comment(row, tickets[0], row.text)


def _answer_status(row: SmsReply, number: str | None) -> None:
    """A status query, answered only to the asking phone about the tickets it reported."""
    phone: str = row.phone  # type: ignore[assignment]
    if number is None:
        tickets = _open_tickets(phone)
        listed = "；".join(f"{ticket.no} {resident_status(ticket.status)}" for ticket in tickets[:STATUS_LIST_LIMIT])
        if len(tickets) > STATUS_LIST_LIMIT:
            listed += f"等{len(tickets)}张"
        template, params, about = (
            ("sms_status_list", {"tickets": listed}, None) if tickets else ("sms_status_none", {}, None)
        )
    else:
        ticket = _reported_by(number, phone)
        if ticket is None:
            template, params, about = "sms_status_unknown", {"no": number}, None
        else:
            template, params, about = "sms_status_one", notify.ticket_params(ticket), ticket
    _settle(row, InboundStatus.ANSWERED, outcome="queried", ticket=about)
    answer = notify.owe_sms(STATUS_EVENT, template, phone, params, ticket=about)
    if answer is not None:
        db.session.flush()
        row.answer_id = answer.id


def _open_tickets(phone: str) -> list[Ticket]:
    """The open tickets this phone reported, newest first (a merged one shows as the ticket it went into)."""
    stmt = (
        select(Ticket)
        .join(ResidentRequest, ResidentRequest.ticket_id == Ticket.id)
        .where(ResidentRequest.reporter_phone == phone, Ticket.status.in_(list(OPEN_STATUSES)))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    return list(db.session.scalars(stmt).unique())


def _why_not_a_request(phone: str, text: str, now: datetime) -> str | None:
    """None when the text may become a request; otherwise why it stays unmatched."""
    unit_id = current_app.config["SMS_INTAKE_GRID_ID"]
    if unit_id is None:
        return "SMS intake is off (SMS_INTAKE_GRID_ID)"
    if grid_service.find_unit(int(unit_id)) is None:
        return f"SMS_INTAKE_GRID_ID {unit_id} names no grid unit"
    if not any(unicodedata.category(character).startswith("L") for character in text):
        return "no words to file as a request"
    awaiting = (
        select(ResidentRequest.id)
        .join(Ticket, Ticket.id == ResidentRequest.ticket_id)
        .where(ResidentRequest.reporter_phone == phone, Ticket.status == Status.RESOLVED)
    )
    if db.session.scalars(awaiting.limit(1)).first() is not None:
        return "a ticket from this phone awaits a rating"
    limit = int(current_app.config["SMS_INTAKE_PER_PHONE_PER_DAY"])
    today = select(func.count(ResidentRequest.id)).where(
        ResidentRequest.reporter_phone == phone,
        ResidentRequest.channel == Channel.SMS,
        ResidentRequest.created_at >= now - timedelta(days=1),
    )
    if db.session.scalar(today) >= limit:
        return f"{limit} requests from this phone within 24 hours (SMS_INTAKE_PER_PHONE_PER_DAY)"
    return None


def _file(row: SmsReply) -> None:
    """The text becomes a request in the SMS intake unit's triage queue; the resident is told it arrived."""
    unit_id = int(current_app.config["SMS_INTAKE_GRID_ID"])
    request = ticket_intake.file_for_triage(
        None, unit_id, {"channel": Channel.SMS, "description": row.text, "reporter": {"phone": row.phone}}
    )
    _settle(row, InboundStatus.FILED, outcome="filed")
    row.request_id = request.id
    answer = notify.owe_sms(REQUEST_EVENT, REQUEST_TEMPLATE, row.phone, {}, ticket=None)  # type: ignore[arg-type]
    if answer is not None:
        db.session.flush()
        row.answer_id = answer.id


def _rating(text: str) -> int | None:
    match = _DIGIT_ONLY.match(text)
    return int(match.group(1)) if match else None


def _settle(
    row: SmsReply,
    status: InboundStatus,
    *,
    reason: str | None = None,
    outcome: str | None = None,
    ticket: Ticket | None = None,
    rating: int | None = None,
) -> None:
    row.status, row.reason, row.outcome, row.rating = status, reason, outcome, rating
    row.ticket_id = ticket.id if ticket is not None else None


def _rate(row: SmsReply, ticket: Ticket, rating: int) -> None:
    why_not = tasks.rate_as_resident(
        ticket, rating, channel=FeedbackChannel.SMS, details={"sms_reply_id": str(row.id), "via": "sms"}
    )
    if why_not is not None:  # a second rating, or one nobody awaits: kept, changes nothing
        return _settle(row, InboundStatus.IGNORED, reason=why_not, ticket=ticket, rating=rating)
    _settle(row, InboundStatus.MATCHED, outcome="rated", ticket=ticket, rating=rating)


def _asked(phone: str, now: datetime, *, ticket_id: int | None = None) -> list[tuple[str, int]]:
    """The (template, ticket id) of each installed rating ask that reached this phone within the window."""
    asks = installed_asks()
    if not asks:
        return []
    stmt = _sent_to(phone, now).where(Notification.template.in_(sorted(asks)))
    if ticket_id is not None:
        stmt = stmt.where(Notification.ticket_id == ticket_id)
    pairs = db.session.execute(stmt.with_only_columns(Notification.template, Notification.ticket_id).distinct())
    return sorted((template, int(about)) for template, about in pairs)


def _rate_asked(row: SmsReply, ask: tuple[str, int], ticket: Ticket, rating: int) -> None:
    """The reply answers a rating ask: the context that asked applies it (or says why not: kept as ignored)."""
    why_not = installed_asks()[ask[0]].rate(ticket.id, rating, reply_id=row.id)
    if why_not is not None:
        return _settle(row, InboundStatus.IGNORED, reason=why_not, ticket=ticket, rating=rating)
    _settle(row, InboundStatus.MATCHED, outcome="rated_asked", ticket=ticket, rating=rating)


def _comment(row: SmsReply, ticket: Ticket, text: str) -> None:
    ticket.updated_at = utcnow()  # part of the record: delta sync shows the ticket changed
    tasks.record_event(
        ticket, None, COMMENT_ACTION, ticket.status, note=text, details={"sms_reply_id": str(row.id), "via": "sms"}
    )
    _settle(row, InboundStatus.MATCHED, outcome="commented", ticket=ticket)


def _unmatched(row: SmsReply, reason: str, now: datetime) -> None:
    """Kept, and the resident asked for the ticket number: at most once an hour, and only a known reporter."""
    _settle(row, InboundStatus.UNMATCHED, reason=reason)
    latest = _latest_ticket(row.phone)  # type: ignore[arg-type]
    if latest is None:
        row.reason = f"{reason}; not answered: this phone reported nothing"
        return
    recently = select(Notification.id).where(
        Notification.recipient_phone == row.phone,
        Notification.template == UNMATCHED_TEMPLATE,
        Notification.created_at >= now - ANSWER_INTERVAL,
    )
    if db.session.scalars(recently.limit(1)).first() is not None:
        row.reason = f"{reason}; not answered: asked within the hour"
        return
    answer = notify.owe_sms(
        UNMATCHED_EVENT,
        UNMATCHED_TEMPLATE,
        row.phone,
        notify.ticket_params(latest),
        ticket=None,  # type: ignore[arg-type]
    )
    if answer is not None:
        db.session.flush()
        row.answer_id = answer.id


def _reported_by(number: str, phone: str) -> Ticket | None:
    """The ticket with this number (or the one it was merged into), if `phone` reported it."""
    ticket = db.session.scalars(select(Ticket).where(Ticket.no == number)).one_or_none()
    if ticket is not None and ticket.merged_into_id is not None:
        ticket = db.session.get(Ticket, ticket.merged_into_id)
    if ticket is None or phone not in notify.resident_phones(ticket.id):
        return None
    return ticket


def _sent_to(phone: str, now: datetime) -> Select[Any]:
    window = timedelta(hours=int(current_app.config["SMS_REPLY_WINDOW_HOURS"]))
    return select(Notification.ticket_id).where(
        Notification.recipient_phone == phone,
        Notification.sent_at >= now - window,
        Notification.medium == Medium.SMS,
        Notification.status.in_([DeliveryStatus.SENT, DeliveryStatus.DELIVERED]),
        Notification.ticket_id.is_not(None),
        Notification.template != UNMATCHED_TEMPLATE,
    )


def _tickets(ids: Sequence[int | None]) -> list[Ticket]:
    unique = sorted({ticket_id for ticket_id in ids if ticket_id is not None})
    return list(db.session.scalars(select(Ticket).where(Ticket.id.in_(unique)).order_by(Ticket.id))) if unique else []


def _answered(phone: str, now: datetime) -> list[Ticket]:
    """The tickets an SMS reached this phone about lately."""
    return _tickets(list(db.session.scalars(_sent_to(phone, now).distinct())))


def _rate_bare(row: SmsReply, rating: int, now: datetime) -> None:
    """A bare digit rates, in this order: the one ticket awaiting its rating whose "resolved" SMS reached this phone
    lately; else the one rating ask that reached it (`hooks.sms.asks`); else the only ticket whose "resolved" SMS
    did (its rating is then refused as late or second). Several of a kind: unmatched, the number is asked for."""
    phone: str = row.phone  # type: ignore[assignment]
    stmt = _sent_to(phone, now).where(Notification.template == RESOLVED_TEMPLATE).distinct()
    resolved = _tickets(list(db.session.scalars(stmt)))
    awaiting = [ticket for ticket in resolved if ticket.status is Status.RESOLVED]
    if len(awaiting) == 1:
        return _rate(row, awaiting[0], rating)
    if len(awaiting) > 1:
        return _unmatched(row, f"{len(awaiting)} tickets await a rating from this phone", now)
    asked = _asked(phone, now)
    if len(asked) == 1:
        return _rate_asked(row, asked[0], db.session.get(Ticket, asked[0][1]), rating)  # type: ignore[arg-type]
    if len(asked) > 1:
        return _unmatched(row, f"{len(asked)} rating requests reached this phone lately", now)
    if len(resolved) == 1:
        return _rate(row, resolved[0], rating)
    return _unmatched(
        row, "no recent resolved SMS to this phone" if not resolved else "several resolved tickets, none awaiting", now
    )


def _latest_ticket(phone: str) -> Ticket | None:
    stmt = (
        select(ResidentRequest)
        .where(ResidentRequest.reporter_phone == phone, ResidentRequest.ticket_id.is_not(None))
        .order_by(ResidentRequest.created_at.desc(), ResidentRequest.id.desc())
        .limit(1)
    )
    request = db.session.scalars(stmt).first()
    return request.ticket if request is not None else None


# --- reading: admins ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyFilters:
    status: InboundStatus | None = None
    provider: str | None = None


def list_replies(filters: ReplyFilters, *, limit: int, cursor: str | None) -> Page[SmsReply]:
    """Replies newest first; `status=unmatched` is what waits for a person to read."""
    return newest_first(SmsReply, "sms_inbound", filters, limit=limit, cursor=cursor)
