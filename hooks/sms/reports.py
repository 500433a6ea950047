"""SMS delivery reports: a provider tells whether a sent SMS reached the phone.

**Reports.** Found by our message id where the provider echoes it (Aliyun `out_id`, `http` `message_id`), else
by the provider's id (`provider_id`, as SendSms returned it). A `sent` SMS becomes `delivered` or `failed`
(the provider's code in `last_error`; admins may retry failed ones); a report for a message unknown, not
yet `sent` or already reported is kept as `ignored` and changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from hooks.dedup import insert_once
from hooks.sms import formats
from hooks.sms.callbacks import Received, check_token, newest_first, staleness
from hooks.sms.formats import ACKS, Malformed, Report
from hooks.sms.models import ReportOutcome, SmsReport
from kernel.clock import utcnow
from kernel.extensions import db
from kernel.pagination import Page
from notifications.outbox.models import DeliveryStatus, Medium, Notification


def receive_reports(provider: str, token: str | None, body: bytes) -> Received:
    """Keep each delivery report of a provider's callback (its raw JSON body) once, and move the SMS it is about."""
    check_token(provider, token)
    now = utcnow()
    new = 0
    for item in formats.items(body, single_allowed=provider == "http"):
        try:
            report = formats.read_report(provider, item)
        except Malformed as malformed:
            values = {"provider": provider, "dedup_key": formats.malformed_key(item), "outcome": ReportOutcome.IGNORED}
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
    stale = staleness(report.reported_at, now)
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


@dataclass(frozen=True)
class ReportFilters:
    outcome: ReportOutcome | None = None
    provider: str | None = None


def list_reports(filters: ReportFilters, *, limit: int, cursor: str | None) -> Page[SmsReport]:
    """Delivery reports newest first; `outcome=ignored` shows those that matched no sent SMS."""
    return newest_first(SmsReport, "sms_reports", filters, limit=limit, cursor=cursor)
