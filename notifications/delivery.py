"""Delivery: workers take due messages from the outbox under a lease, send them, and record what happened.

Any number of worker processes, on any number of machines, share the table:

1. **Claim** a batch in one short transaction: one conditional UPDATE takes up to `NOTIFY_BATCH_SIZE` due
   pending rows (`WITH claimable AS MATERIALIZED (SELECT id ... LIMIT n FOR UPDATE SKIP LOCKED) UPDATE ...
   RETURNING *`), marking them `sending` under a fresh lease token until `lease_until` and counting the
   attempt. On PostgreSQL rows another worker is claiming are skipped, not waited for; SQLite has one writer,
   which makes the same statement atomic. A row is in one claim or none.
2. **Send** each message outside any transaction. No send starts unless it can finish before the lease ends
   (`NOTIFY_SEND_MARGIN_SECONDS`, the longest a channel may take); what is left of the batch then is given back.
3. **Record** each outcome in its own short transaction, conditional on still holding the lease (status
   `sending` and our token): sent; retry later with exponential backoff and full jitter; dead after
   `NOTIFY_MAX_ATTEMPTS` attempts or at once when the provider refuses for good.

A worker that dies keeps its messages only until their lease ends: the next run puts them back in the queue
(`release_expired_leases`), and the attempt counts, so a message that kills its worker every time ends dead
instead of looping. The stable `message_id` goes to the channel, so the rare resend after a lease expired
mid-send (a worker frozen past its lease) is recognisable by the provider or receiver.

SMS pass two gates first (`GATES`): quiet hours postpone non-urgent resident SMS to the end of the quiet period,
and more than `NOTIFY_SMS_PER_PHONE_PER_HOUR` to one number in the last hour are held (recorded, not sent); the
last place under that cap is kept for the "resolved" notice with its rating prompt (`templates.PRIORITY_SMS`). The
count is read at send time, so workers sending to one number at the same instant can pass it together: the
limit can be exceeded by at most the number of workers less one.

`SENDERS` maps a medium to the function that sends it; webhooks plug in there. Only media with a sender are
claimed; inbox messages are delivered by being written and never reach the queue.
"""

import logging
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, and_, bindparam, func, select, update

from kernel.claims import claimable
from kernel.clock import utcnow
from kernel.extensions import db
from notifications.channels import sms_channel
from notifications.channels.base import Outcome, OutgoingSms, SendResult
from notifications.outbox import templates
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from notifications.webhooks.delivery import deliver_webhook

log = logging.getLogger("grid.notifications.delivery")

Sender = Callable[[Notification], SendResult]
_jitter = random.Random()  # noqa: S311 - spreading retries, not a secret


def send_sms(notification: Notification) -> SendResult:
    """Render the template and hand the SMS to the configured channel."""
    template = templates.TEMPLATES.get(notification.template)
    if template is None or notification.recipient_phone is None:
        return SendResult(Outcome.REJECTED, error=f"no SMS template {notification.template!r} or no phone")
    params = {name: str(notification.params.get(name, "")) for name in template.params}
    message = OutgoingSms(
        message_id=notification.message_id,
        phone=notification.recipient_phone,
        template=template.name,
        params=params,
        text=current_app.config["SMS_SIGNATURE"] + template.render(params),
    )
    return sms_channel().send(message)


SENDERS: dict[Medium, Sender] = {Medium.SMS: send_sms, Medium.WEBHOOK: deliver_webhook}


# --- gates: decided before sending --------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Not sent now: `pending` until `until` (quiet hours) or `held` (over a limit), and why."""

    status: DeliveryStatus
    why: str
    until: datetime | None = None


def sms_gate(connection: Connection, notification: Notification, now: datetime) -> Verdict | None:
    """Quiet hours for non-urgent SMS (residents' and, with NOTIFY_WORKER_SMS, assignees'), then the per-phone
    hourly limit."""
    config = current_app.config
    if not notification.urgent:
        spec, zone = config["NOTIFY_QUIET_HOURS"], config["NOTIFY_TIMEZONE"]
        until = quiet_until(now, spec, zone)
        if until is not None:
            why = f"quiet hours {spec} ({zone}): postponed to {until.astimezone(ZoneInfo(zone)):%H:%M}"
            return Verdict(DeliveryStatus.PENDING, why, until)
    limit = config["NOTIFY_SMS_PER_PHONE_PER_HOUR"]
    phone = notification.recipient_phone
    if limit <= 0 or phone is None:
        return None
    # The last place under the cap is kept for the "resolved" notice and its rating prompt: lower-value SMS stop
    # one short of it, so a burst of them never holds back the one a rating depends on.
    priority = notification.template in templates.PRIORITY_SMS
    room = limit if priority or limit == 1 else limit - 1
    sent = sent_lately(connection, phone, now - timedelta(hours=1))
    if sent >= room:
        kept = "" if priority or room == limit else f" (the last of {limit} is kept for a rating prompt)"
        return Verdict(DeliveryStatus.HELD, f"held: {sent} SMS already sent to this number in the last hour{kept}")
    return None


Gate = Callable[[Connection, Notification, datetime], Verdict | None]
GATES: dict[Medium, Gate] = {Medium.SMS: sms_gate}

_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """The (start, end) of a spec like "22:00-07:00"; None when empty (no quiet hours); ValueError if malformed."""
    if not spec.strip():
        return None
    match = _QUIET.match(spec)
    if match is None:
        raise ValueError(f"NOTIFY_QUIET_HOURS={spec!r}: expected HH:MM-HH:MM, e.g. 22:00-07:00")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    return time(start_h, start_m), time(end_h, end_m)


def quiet_until(now: datetime, spec: str, zone: str) -> datetime | None:
    """When the quiet period that holds `now` ends (UTC), or None outside it. Periods may span midnight."""
    period = parse_quiet_hours(spec)
    if period is None or period[0] == period[1]:
        return None
    start, end = period
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


# --- the three steps ------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one run did; each message is counted once per attempt."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    held: int = 0
    postponed: int = 0
    given_back: int = 0
    lost_lease: int = 0

    def __iadd__(self, other: "DeliveryReport") -> "DeliveryReport":
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self

    def summary(self) -> str:
        return ", ".join(f"{field.name.replace('_', ' ')} {getattr(self, field.name)}" for field in fields(self))


@dataclass(frozen=True)
class Claim:
    token: str
    lease_until: datetime
    messages: list[Notification]  # detached snapshots, as the claim returned them


def run_once(*, batch: int | None = None, should_stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
    """Deliver everything due when the run starts, batch after batch, then return (cron, tests)."""
    batch = batch or current_app.config["NOTIFY_BATCH_SIZE"]
    due_by = utcnow()
    report = DeliveryReport()
    release_expired_leases(due_by)
    while not should_stop():
        claim = claim_due(due_by=due_by, batch=batch)
        report.claimed += len(claim.messages)
        report += deliver(claim, should_stop=should_stop)
        if len(claim.messages) < batch:  # the rest is held by other workers, or not due yet
            break
    return report


def work(stop: threading.Event, *, batch: int | None = None, idle_seconds: float | None = None) -> DeliveryReport:
    """Deliver until `stop` is set, sleeping `NOTIFY_IDLE_SECONDS` whenever nothing was due; the message being
    sent when it is set is finished and recorded, the rest of its batch given back."""
    idle = current_app.config["NOTIFY_IDLE_SECONDS"] if idle_seconds is None else idle_seconds
    total = DeliveryReport()
    while not stop.is_set():
        report = run_once(batch=batch, should_stop=stop.is_set)
        total += report
        if report.claimed:
            log.info("delivered", extra={"report": report.summary()})
        else:
            stop.wait(idle)
    return total


def release_expired_leases(now: datetime) -> int:
    """Put back in the queue what a dead worker held past its lease; dead if that was its last attempt."""
    expired = and_(Notification.status == DeliveryStatus.SENDING, Notification.next_attempt_at <= now)
    gone = {"lease_until": None, "lease_token": None}
    buried = db.session.execute(
        update(Notification)
        .where(expired, Notification.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"])
        .values(status=DeliveryStatus.DEAD, last_error="the worker sending the last attempt stopped", **gone)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    released = db.session.execute(
        update(Notification)
        .where(expired)
        .values(status=DeliveryStatus.PENDING, last_error="the worker sending it stopped; lease expired", **gone)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    if buried or released:
        log.warning("expired leases", extra={"released": released, "dead": buried})
    return int(released + buried)


def claim_due(*, due_by: datetime, batch: int) -> Claim:
    """Take up to `batch` pending messages due by `due_by` under a new lease; commits."""
    now = utcnow()
    lease_until = now + timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    token = uuid.uuid4().hex
    due = and_(
        Notification.status == DeliveryStatus.PENDING,
        Notification.next_attempt_at <= due_by,
        Notification.medium.in_(list(SENDERS)),
    )
    claim = (
        update(Notification)
        .where(claimable(Notification.id, due, order_by=[Notification.next_attempt_at], batch=batch), due)
        # While sending, `next_attempt_at` is the lease's end: when the message is due again if we die.
        .values(
            status=DeliveryStatus.SENDING,
            lease_until=lease_until,
            lease_token=token,
            next_attempt_at=lease_until,
            attempts=Notification.attempts + 1,
        )
        .returning(Notification)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    messages = sorted(db.session.scalars(claim).all(), key=lambda message: message.id)
    for message in messages:
        db.session.expunge(message)  # keep the loaded values: commit would expire them
    db.session.commit()
    return Claim(token, lease_until, messages)


def deliver(claim: Claim, *, should_stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
    """Send a claim's messages one by one, each outcome recorded at once."""
    report = DeliveryReport()
    margin = timedelta(seconds=current_app.config["NOTIFY_SEND_MARGIN_SECONDS"])
    with outcome_connection() as connection:
        for index, message in enumerate(claim.messages):
            now = utcnow()
            if should_stop() or now + margin > claim.lease_until:
                report.given_back += give_back(claim, claim.messages[index:], connection=connection)
                break
            report += _deliver_one(connection, claim, message, now)
    return report


@contextmanager
def outcome_connection() -> Iterator[Connection]:
    """One connection for a batch's reads and outcomes, in autocommit: each outcome is a single UPDATE, so it is
    its own transaction, and no transaction stays open while a channel talks to a provider. (Through the
    session, every message would check a connection out of the pool and ping it twice.)"""
    with db.engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def _deliver_one(connection: Connection, claim: Claim, message: Notification, now: datetime) -> DeliveryReport:
    gate = GATES.get(message.medium)
    verdict = gate(connection, message, now) if gate is not None else None
    if verdict is not None:
        # Not an attempt: the one the claim counted is given back.
        changes: dict[str, Any] = {
            "status": verdict.status,
            "last_error": verdict.why,
            "attempts": message.attempts - 1,
        }
        if verdict.until is not None:
            changes["next_attempt_at"] = verdict.until
        kept = record(claim, message, changes, connection=connection)
        held = verdict.status is DeliveryStatus.HELD
        return DeliveryReport(held=int(kept and held), postponed=int(kept and not held), lost_lease=int(not kept))
    result = _send(message)
    db.session.rollback()  # a sender that read through the session (webhooks) keeps no transaction open
    changes = outcome_values(message, result, utcnow())
    if not record(claim, message, changes, connection=connection):
        return DeliveryReport(lost_lease=1)
    status = changes["status"]
    return DeliveryReport(
        sent=int(status is DeliveryStatus.SENT),
        retrying=int(status is DeliveryStatus.PENDING),
        dead=int(status is DeliveryStatus.DEAD),
    )


def _send(message: Notification) -> SendResult:
    try:
        return SENDERS[message.medium](message)
    except Exception as error:
        # Channels classify providers' answers themselves; an exception is a bug in one. The worker must outlive
        # it, and the message is retried like any failure (and ends dead if it keeps failing).
        log.exception("channel raised", extra={"notification_id": message.id})
        return SendResult(Outcome.RETRY, error=f"the channel failed: {type(error).__name__}")


def outcome_values(message: Notification, result: SendResult, now: datetime) -> dict[str, Any]:
    """The row's new values for a send's outcome."""
    if result.outcome is Outcome.SENT:
        return {"status": DeliveryStatus.SENT, "sent_at": now, "provider_id": result.provider_id, "last_error": None}
    error = (result.error or result.outcome.value)[:500]
    if result.outcome is Outcome.REJECTED:
        return {"status": DeliveryStatus.DEAD, "last_error": f"refused: {error}"}
    max_attempts = current_app.config["NOTIFY_MAX_ATTEMPTS"]
    if message.attempts >= max_attempts:
        return {"status": DeliveryStatus.DEAD, "last_error": f"gave up after {message.attempts} attempts: {error}"}
    delay = backoff(message.attempts, result.retry_after_seconds)
    return {"status": DeliveryStatus.PENDING, "next_attempt_at": now + delay, "last_error": error}


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Full jitter: anywhere in [0, min(cap, base * 2^(attempts-1))), but at least a second and at least what the
    provider asked for."""
    config = current_app.config
    ceiling = min(config["NOTIFY_BACKOFF_MAX_SECONDS"], config["NOTIFY_BACKOFF_BASE_SECONDS"] * 2 ** (attempts - 1))
    seconds = max(1.0, _jitter.uniform(0, ceiling), retry_after or 0.0)
    return timedelta(seconds=seconds)


# Built once: the hot path runs them for every message, and a prebuilt statement skips construction and keeps
# its cache key. The lease condition (our token, still sending) makes a stale worker's outcome write nothing.
_table = Notification.__table__
_MUTABLE = ("status", "attempts", "next_attempt_at", "last_error", "sent_at", "provider_id")
RECORD = (
    update(_table)
    .where(
        _table.c.id == bindparam("held_id"),
        _table.c.lease_token == bindparam("held_token"),
        _table.c.status == DeliveryStatus.SENDING.value,
    )
    .values({name: bindparam(f"new_{name}", type_=_table.c[name].type) for name in _MUTABLE})
    .values(lease_until=None, lease_token=None)
)
SENT_LATELY = select(func.count()).where(
    _table.c.recipient_phone == bindparam("phone"),
    _table.c.medium == Medium.SMS.value,
    _table.c.sent_at >= bindparam("since", type_=_table.c.sent_at.type),
)


def record(
    claim: Claim, message: Notification, changes: Mapping[str, Any], *, connection: Connection | None = None
) -> bool:
    """Write an outcome if the claim still holds the message; False (and nothing written) if it lost it."""
    values = {f"new_{name}": changes.get(name, getattr(message, name)) for name in _MUTABLE}
    if connection is None:
        with outcome_connection() as own:
            return record(claim, message, changes, connection=own)
    result = connection.execute(RECORD, {"held_id": message.id, "held_token": claim.token, **values})
    kept = bool(result.rowcount)
    if not kept:
        log.warning("lease lost before the outcome was recorded", extra={"notification_id": message.id})
    return kept


def sent_lately(connection: Connection, phone: str, since: datetime) -> int:
    """How many SMS the channel accepted for `phone` since `since` (for the per-phone limit)."""
    return int(connection.execute(SENT_LATELY, {"phone": phone, "since": since}).scalar() or 0)


def give_back(claim: Claim, messages: Sequence[Notification], *, connection: Connection) -> int:
    """Return unsent messages of a claim to the queue, due now; the attempt they were charged is undone."""
    if not messages:
        return 0
    result = connection.execute(
        update(_table)
        .where(
            _table.c.id.in_([message.id for message in messages]),
            _table.c.lease_token == claim.token,
            _table.c.status == DeliveryStatus.SENDING.value,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            next_attempt_at=utcnow(),
            attempts=_table.c.attempts - 1,
            lease_until=None,
            lease_token=None,
        )
    )
    return int(result.rowcount)
