"""SMS provider callbacks: residents' replies (ratings and comments) and delivery reports.

**Formats** (HTTP push, JSON; what each provider documents):

- Aliyun replies (SmsUp, "HTTP批量推送"): an array of `{phone_number, content, send_time ("2017-09-01 00:00:00",
  Beijing), dest_code, sequence_id, sign_name?}`; delivery reports (SmsReport): an array of `{phone_number,
  send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id}` (`out_id` echoes our message
  id). Acknowledged with `{"code": 0, "msg": "接收成功"}`; anything but HTTP 200 is pushed again later.
- Tencent replies ("回复短信"): one object `{extend, mobile, nationcode, sign, text, time (unix seconds)}`, which
  carries no id; delivery reports ("短信下发状态"): an array of `{user_receive_time, nationcode, mobile,
  report_status (SUCCESS|FAIL), errmsg, description, sid}` (`sid` is SendSms's SerialNo). Acknowledged with
  `{"result": 0, "errmsg": "OK"}`.
- `http` (the generic gateway, our own format): replies `{id, phone, text, sent_at?}` and reports
  `{message_id?, provider_id?, status: delivered|failed, error?, reported_at?}`, each one object or an array.
  Acknowledged with `{"code": 0, "msg": "OK"}`.

**Authentication.** Neither provider signs its callbacks, so each provider's callback URLs carry a secret
token (`?token=`, `SMS_CALLBACK_TOKENS`, compared in constant time); a provider without a token has its
callbacks switched off (404). Every callback is kept (`sms_inbound`, `sms_reports`) under a key unique per
provider (Aliyun's sequence id; for Tencent, which has no id, a digest of number, time and text; the report's
ids and outcome), inserted before anything is done: a replayed or concurrent duplicate finds the key taken and
changes nothing. One about something older than `SMS_CALLBACK_MAX_AGE_HOURS` is kept as `ignored` (stale).
Malformed items are kept as `ignored` too; only a body that is not JSON (400) or not the provider's shape
(422) is refused, so a provider never re-sends a batch because of one bad item, and nothing is a 500.

**Replies.** A reply that is one digit 1–5 rates the one ticket awaiting a rating whose "resolved" SMS reached
that phone within `SMS_REPLY_WINDOW_HOURS`: 1–2 reopen it, 3–5 close it (`tasks.service.rate_as_resident`:
the rules of a supervisor's feedback, with no account acting). A ticket number (YYYYMMDD-NNNNNN) in the reply
names the ticket instead, if that phone reported it; what follows the number is the digit or the text. A second
rating of one resolution (or a rating of a ticket no longer resolved) changes nothing: the reply is kept as
`ignored` with the reason. Any other text is a comment on the record: a ticket event `sms_reply` (no actor; the
text as its note), on the one ticket an SMS went to that phone about within the window. A reply that matches
no single ticket is kept as `unmatched` and answered, at most once an hour per phone, with an SMS naming the
resident's latest ticket and asking for "ticket number and score"; a phone that never reported anything gets
no answer.

**Reports.** Found by our message id where the provider echoes it (Aliyun `out_id`, `http` `message_id`), else
by the provider's id (`provider_id`, as SendSms returned it). A `sent` SMS becomes `delivered` or `failed`
(the provider's code in `last_error`; admins may retry failed ones); a report for a message unknown, not
yet `sent` or already reported is kept as `ignored` and changes nothing.
"""

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from flask import current_app
from sqlalchemy import Select, select, update

from hooks.models import InboundStatus, ReportOutcome, SmsReply, SmsReport, insert_once
from kernel.clock import BEIJING, utcnow
from kernel.errors import BadRequestError, NotFoundError, UnauthorizedError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, paginate
from notifications import service as notify
from notifications.models import DeliveryStatus, Medium, Notification
from tasks.lifecycle import Status
from tasks.tickets import actions as tasks
from tasks.tickets.models import FeedbackChannel, ResidentRequest, Ticket

PROVIDERS: Final = ("aliyun", "tencent", "http")
MAX_ITEMS = 1000  # per callback; providers push batches of tens
TEXT_LIMIT = 2000
RESOLVED_TEMPLATE = "sms_ticket_resolved"
UNMATCHED_TEMPLATE = "sms_reply_unmatched"
UNMATCHED_EVENT = "sms.reply_unmatched"
COMMENT_ACTION = "sms_reply"
ANSWER_INTERVAL = timedelta(hours=1)
FUTURE_SKEW = timedelta(minutes=10)
ACKS: Final[Mapping[str, Mapping[str, Any]]] = {
    "aliyun": {"code": 0, "msg": "接收成功"},
    "tencent": {"result": 0, "errmsg": "OK"},
    "http": {"code": 0, "msg": "OK"},
}
TICKET_NO = re.compile(r"(?<![0-9])([0-9]{8}-[0-9]{6})(?![0-9])")
# Around a rating digit residents type spaces and punctuation ("5。", "评 5", "：5分").
_DIGIT_ONLY = re.compile(r"^[\s\W_]*(?:评分?|打)?[\s\W_]*([1-5])[\s\W_]*分?[\s\W_]*$")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Malformed(Exception):
    """One item of a callback that cannot be read; it is kept as ignored with this reason."""


# --- what providers send, read into one shape --------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    dedup_key: str
    phone: str | None  # national mobile digits; None when not a mainland number
    text: str
    sent_at: datetime | None


@dataclass(frozen=True)
class Report:
    dedup_key: str
    message_ref: str | None  # our message id, echoed
    provider_ref: str | None  # the provider's id for the message
    delivered: bool
    error: str | None
    reported_at: datetime | None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError included; absurd nesting too
        raise BadRequestError("The callback body is not valid JSON.", {"_body": ["not JSON"]}) from None


def _items(payload: Any, *, single_allowed: bool) -> list[Any]:
    if isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict) and single_allowed:
        items = [payload]
    else:
        shape = "a JSON array or object" if single_allowed else "a JSON array"
        raise ValidationError(f"The callback body must be {shape}.", {"_body": [f"expected {shape}"]})
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"At most {MAX_ITEMS} items per callback.", {"_body": [f"more than {MAX_ITEMS} items"]})
    return items


def _text(item: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"no {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{name} is not text")
    return _UNSTORABLE.sub("", str(value))[:limit]


def _beijing_time(value: str | None) -> datetime | None:
    """Providers' local times ("2017-09-01 00:00:00", also without separators) in UTC; None when unreadable."""
    if not value:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    return None


def _iso_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _unix_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def mainland_mobile(number: str | None, nationcode: str | None = None) -> str | None:
    """The 11 national digits of a mainland mobile number (+86, 86 and 0086 prefixes dropped); None otherwise."""
    if not number or (nationcode not in (None, "", "86", "+86")):
        return None
    digits = re.sub(r"[\s-]", "", number)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    return digits if notify.is_mobile(digits) else None


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()


def _aliyun_reply(item: Mapping[str, Any]) -> Reply:
    sequence = _text(item, "sequence_id", limit=64)
    return Reply(
        dedup_key=f"seq:{sequence}",
        phone=mainland_mobile(_text(item, "phone_number", limit=32)),
        text=_text(item, "content", required=False, limit=TEXT_LIMIT) or "",
        sent_at=_beijing_time(_text(item, "send_time", required=False)),
    )


def _tencent_reply(item: Mapping[str, Any]) -> Reply:
    mobile = _text(item, "mobile", limit=32)
    nationcode = _text(item, "nationcode", required=False, limit=8)
    text = _text(item, "text", required=False, limit=TEXT_LIMIT) or ""
    if "time" not in item:
        raise Malformed("no time")
    return Reply(
        dedup_key="sha:" + _digest(nationcode, mobile, item.get("time"), text),
        phone=mainland_mobile(mobile, nationcode),
        text=text,
        sent_at=_unix_time(item.get("time")),
    )


def _http_reply(item: Mapping[str, Any]) -> Reply:
    return Reply(
        dedup_key=f"id:{_text(item, 'id', limit=100)}",
        phone=mainland_mobile(_text(item, "phone", limit=32)),
        text=_text(item, "text", required=False, limit=TEXT_LIMIT) or "",
        sent_at=_iso_time(_text(item, "sent_at", required=False, limit=40)),
    )


def _aliyun_report(item: Mapping[str, Any]) -> Report:
    success = item.get("success")
    if not isinstance(success, bool):
        raise Malformed("success is not true or false")
    biz_id = _text(item, "biz_id", required=False, limit=64)
    out_id = _text(item, "out_id", required=False, limit=64)
    if biz_id is None and out_id is None:
        raise Malformed("neither biz_id nor out_id")
    code = _text(item, "err_code", required=False, limit=64)
    message = _text(item, "err_msg", required=False, limit=100)
    return Report(
        dedup_key="sha:" + _digest(biz_id, out_id, success, code),
        message_ref=out_id,
        provider_ref=biz_id,
        delivered=success,
        error=None if success else ": ".join(part for part in (code, message) if part) or "not delivered",
        reported_at=_beijing_time(_text(item, "report_time", required=False)),
    )


def _tencent_report(item: Mapping[str, Any]) -> Report:
    sid = _text(item, "sid", limit=64)
    status = _text(item, "report_status", limit=16)
    if status not in ("SUCCESS", "FAIL"):
        raise Malformed("report_status is neither SUCCESS nor FAIL")
    code = _text(item, "errmsg", required=False, limit=64)
    description = _text(item, "description", required=False, limit=100)
    return Report(
        dedup_key="sha:" + _digest(sid, status, code),
        message_ref=None,
        provider_ref=sid,
        delivered=status == "SUCCESS",
        error=None if status == "SUCCESS" else ": ".join(part for part in (code, description) if part) or "FAIL",
        reported_at=_beijing_time(_text(item, "user_receive_time", required=False)),
    )


def _http_report(item: Mapping[str, Any]) -> Report:
    message_id = _text(item, "message_id", required=False, limit=64)
    provider_id = _text(item, "provider_id", required=False, limit=64)
    if message_id is None and provider_id is None:
        raise Malformed("neither message_id nor provider_id")
    status = _text(item, "status", limit=16)
    if status not in ("delivered", "failed"):
        raise Malformed("status is neither delivered nor failed")
    return Report(
        dedup_key="sha:" + _digest(message_id, provider_id, status),
        message_ref=message_id,
        provider_ref=provider_id,
        delivered=status == "delivered",
        error=None if status == "delivered" else _text(item, "error", required=False) or "failed",
        reported_at=_iso_time(_text(item, "reported_at", required=False, limit=40)),
    )


REPLY_READERS: Final[Mapping[str, Callable[[Mapping[str, Any]], Reply]]] = {
    "aliyun": _aliyun_reply,
    "tencent": _tencent_reply,
    "http": _http_reply,
}
REPORT_READERS: Final[Mapping[str, Callable[[Mapping[str, Any]], Report]]] = {
    "aliyun": _aliyun_report,
    "tencent": _tencent_report,
    "http": _http_report,
}


# --- authentication and freshness --------------------------------------------------------------------------------


def check_token(provider: str, token: str | None) -> None:
    """404 when this provider's callbacks are off; 401 unless `token` is its configured one."""
    expected = (current_app.config["SMS_CALLBACK_TOKENS"] or {}).get(provider) or ""
    if provider not in PROVIDERS or not expected:
        raise NotFoundError(f"SMS callbacks from {provider} are not enabled.")
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise UnauthorizedError("The callback token is not valid.", {"token": ["not valid"]})


def _staleness(moment: datetime | None, now: datetime) -> str | None:
    if moment is None:
        return None
    max_age = timedelta(hours=int(current_app.config["SMS_CALLBACK_MAX_AGE_HOURS"]))
    if moment < now - max_age:
        return f"stale: older than {max_age.total_seconds() / 3600:g} hours"
    if moment > now + FUTURE_SKEW:
        return "stale: dated in the future"
    return None


# --- replies ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """How many items of a callback were new (handled), and the provider's acknowledgement."""

    new: int
    ack: Mapping[str, Any]


def receive_replies(provider: str, token: str | None, body: bytes) -> Received:
    """Keep and act on each reply of a provider's callback (its raw JSON body), once each."""
    check_token(provider, token)
    now = utcnow()
    new = 0
    for item in _items(_json(body), single_allowed=provider != "aliyun"):
        try:
            reply = _read(REPLY_READERS[provider], item)
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


def _read(reader: Callable[[Mapping[str, Any]], Any], item: Any) -> Any:
    if not isinstance(item, dict):
        raise Malformed("not an object")
    return reader(item)


def _keep_malformed_reply(provider: str, item: Any, reason: str) -> int:
    key = "bad:" + _digest(item)
    text = _UNSTORABLE.sub("", json.dumps(item, ensure_ascii=False, default=str))[:TEXT_LIMIT]
    values = {"provider": provider, "dedup_key": key, "text": text, "status": InboundStatus.IGNORED}
    values |= {"reason": f"malformed: {reason}"[:200], "created_at": utcnow()}
    return 0 if insert_once(SmsReply, values, unique=["provider", "dedup_key"]) is None else 1


def _handle_reply(row: SmsReply, now: datetime) -> None:
    stale = _staleness(row.sent_at, now)
    if stale is not None:
        return _settle(row, InboundStatus.IGNORED, reason=stale)
    if row.phone is None:
        return _settle(row, InboundStatus.IGNORED, reason="not from a mainland mobile number")
    text = unicodedata.normalize("NFKC", row.text).strip()  # full-width digits and dashes become ASCII
    if not text:
        return _settle(row, InboundStatus.IGNORED, reason="empty")
    named = TICKET_NO.search(text)
    if named is not None:
        ticket = _reported_by(named.group(1), row.phone)
        if ticket is None:
            return _unmatched(row, "no ticket with that number reported from this phone", now)
        rest = (text[: named.start()] + " " + text[named.end() :]).strip()
        rating = _rating(rest)
        if rating is not None:
            return _rate(row, ticket, rating)
        return _comment(row, ticket, row.text)
    rating = _rating(text)
    if rating is not None:
        ticket, why = _awaiting_rating(row.phone, now)
        if ticket is None:
            return _unmatched(row, why, now)
        return _rate(row, ticket, rating)
    tickets = _answered(row.phone, now)
    if len(tickets) != 1:
        reason = "no recent SMS to this phone" if not tickets else f"recent SMS about {len(tickets)} tickets"
        return _unmatched(row, reason, now)
    return _comment(row, tickets[0], row.text)


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


def _awaiting_rating(phone: str, now: datetime) -> tuple[Ticket | None, str]:
    """The one ticket a bare digit rates: of those whose "resolved" SMS reached this phone lately, the one still
    awaiting a rating, or the only one (whose rating is then refused as late or second); else why none."""
    stmt = _sent_to(phone, now).where(Notification.template == RESOLVED_TEMPLATE).distinct()
    resolved = _tickets(list(db.session.scalars(stmt)))
    awaiting = [ticket for ticket in resolved if ticket.status is Status.RESOLVED]
    if len(awaiting) == 1:
        return awaiting[0], ""
    if len(awaiting) > 1:
        return None, f"{len(awaiting)} tickets await a rating from this phone"
    if len(resolved) == 1:
        return resolved[0], ""
    return None, "no recent resolved SMS to this phone" if not resolved else "several resolved tickets, none awaiting"


def _latest_ticket(phone: str) -> Ticket | None:
    stmt = (
        select(ResidentRequest)
        .where(ResidentRequest.reporter_phone == phone)
        .order_by(ResidentRequest.created_at.desc(), ResidentRequest.id.desc())
        .limit(1)
    )
    request = db.session.scalars(stmt).first()
    return request.ticket if request is not None else None


# --- delivery reports ---------------------------------------------------------------------------------------------


def receive_reports(provider: str, token: str | None, body: bytes) -> Received:
    """Keep each delivery report of a provider's callback (its raw JSON body) once, and move the SMS it is about."""
    check_token(provider, token)
    now = utcnow()
    new = 0
    for item in _items(_json(body), single_allowed=provider == "http"):
        try:
            report = _read(REPORT_READERS[provider], item)
        except Malformed as malformed:
            values = {"provider": provider, "dedup_key": "bad:" + _digest(item), "outcome": ReportOutcome.IGNORED}
            values |= {"reason": f"malformed: {malformed}"[:200], "created_at": now}
            new += insert_once(SmsReport, values, unique=["provider", "dedup_key"]) is not None
            continue
        report_id = insert_once(
            SmsReport,
            {
                "provider": provider,
                "dedup_key": report.dedup_key[:128],
                "provider_ref": report.provider_ref,
                "message_ref": report.message_ref,
                "delivered": report.delivered,
                "error": report.error,
                "reported_at": report.reported_at,
                "outcome": ReportOutcome.IGNORED,
                "created_at": now,
            },
            unique=["provider", "dedup_key"],
        )
        if report_id is None:
            continue
        new += 1
        _apply_report(db.session.get(SmsReport, report_id), report, now)  # type: ignore[arg-type]
    db.session.flush()
    return Received(new, ACKS[provider])


def _apply_report(row: SmsReport, report: Report, now: datetime) -> None:
    stale = _staleness(report.reported_at, now)
    if stale is not None:
        row.reason = stale
        return
    notification = _reported_notification(report)
    if notification is None:
        row.reason = "no SMS with this id"
        return
    row.notification_id = notification.id
    target = DeliveryStatus.DELIVERED if report.delivered else DeliveryStatus.FAILED
    values: dict[str, Any] = {"status": target}
    if report.delivered:
        values["delivered_at"] = report.reported_at or now
    else:
        values["last_error"] = f"delivery report: {report.error}"[:500]
    # Only from sent, in one conditional UPDATE: a report racing the worker that records the send is not lost
    # silently (it is kept as ignored), and two reports cannot both move one message.
    moved = db.session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.status == DeliveryStatus.SENT)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        row.reason = f"the SMS is {notification.status.value}, not sent"
        return
    row.outcome = ReportOutcome.APPLIED


def _reported_notification(report: Report) -> Notification | None:
    sms = select(Notification).where(Notification.medium == Medium.SMS)
    if report.message_ref is not None:
        found = db.session.scalars(sms.where(Notification.message_id == report.message_ref)).one_or_none()
        if found is not None:
            return found
    if report.provider_ref is not None:
        stmt = sms.where(Notification.provider_id == report.provider_ref).order_by(Notification.id.desc())
        return db.session.scalars(stmt.limit(1)).first()
    return None


# --- reading: admins ---------------------------------------------------------------------------------------------


def list_replies(
    *, status: InboundStatus | None, provider: str | None, limit: int, cursor: str | None
) -> Page[SmsReply]:
    """Replies newest first; `status=unmatched` is what waits for a person to read."""
    stmt = select(SmsReply)
    if status is not None:
        stmt = stmt.where(SmsReply.status == status)
    if provider is not None:
        stmt = stmt.where(SmsReply.provider == provider)
    fingerprint = {"list": "sms_inbound", "status": status, "provider": provider}
    return paginate(
        stmt, order_by=[SmsReply.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint, descending=True
    )


def list_reports(
    *, outcome: ReportOutcome | None, provider: str | None, limit: int, cursor: str | None
) -> Page[SmsReport]:
    """Delivery reports newest first; `outcome=ignored` shows those that matched no sent SMS."""
    stmt = select(SmsReport)
    if outcome is not None:
        stmt = stmt.where(SmsReport.outcome == outcome)
    if provider is not None:
        stmt = stmt.where(SmsReport.provider == provider)
    fingerprint = {"list": "sms_reports", "outcome": outcome, "provider": provider}
    return paginate(
        stmt, order_by=[SmsReport.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint, descending=True
    )
