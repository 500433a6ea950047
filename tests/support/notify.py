"""Arranging the notification tests: a channel that records what it is given, the clock in Beijing time, and
short ways to owe messages and read the outbox."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from kernel import clock
from kernel.extensions import db
from notifications import delivery
from notifications.channels.base import Outcome, OutgoingSms, SendResult
from notifications.outbox import service
from notifications.outbox.models import Notification

BEIJING = ZoneInfo("Asia/Shanghai")
PHONE = "13912345678"


@dataclass
class RecordingChannel:
    """Answers SENT unless told otherwise (`down`, or queued `answers`); remembers every message and answer."""

    name: str = "recording"
    down: bool = False
    answers: list[SendResult] = field(default_factory=list)
    calls: list[tuple[OutgoingSms, SendResult]] = field(default_factory=list)

    def send(self, message: OutgoingSms) -> SendResult:
        if self.answers:
            result = self.answers.pop(0)
        elif self.down:
            result = SendResult(Outcome.RETRY, error="provider unavailable (503)")
        else:
            result = SendResult(Outcome.SENT, provider_id=f"p-{len(self.calls) + 1}")
        self.calls.append((message, result))
        return result

    @property
    def accepted(self) -> list[OutgoingSms]:
        """The messages the provider took (the ones a resident would receive)."""
        return [message for message, result in self.calls if result.outcome is Outcome.SENT]


def beijing(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """Today (Beijing calendar) at hour:minute Beijing time, `days` later, in UTC."""
    today = datetime.now(BEIJING).date()
    return datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=BEIJING).astimezone(UTC)


def travel_to(moment: datetime) -> None:
    clock.travel(moment - datetime.now(UTC))


def later(delta: timedelta) -> None:
    """Move the application's clock `delta` further on."""
    travel_to(clock.utcnow() + delta)


def owe_sms(app: Flask, count: int = 1, *, phone: str = PHONE, urgent: bool = False) -> list[int]:
    """`count` pending resident SMS, committed; their ids."""
    with app.app_context():
        rows = []
        for index in range(count):
            row = service.owe_sms(
                "ticket.created",
                "sms_ticket_received",
                phone,
                {"no": f"20261123-{index + 1:06d}", "status": "已受理"},
            )
            assert row is not None
            row.urgent = urgent
            rows.append(row)
        db.session.commit()
        return [row.id for row in rows]


def stored(app: Flask, **where: Any) -> list[Notification]:
    """Outbox rows (detached, loaded), oldest first, filtered by column values."""
    with app.app_context():
        stmt = select(Notification).filter_by(**where).order_by(Notification.id)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            db.session.expunge(row)
        return rows


def one(app: Flask, notification_id: int) -> Notification:
    (row,) = stored(app, id=notification_id)
    return row


def run_once(app: Flask, **kwargs: Any) -> delivery.DeliveryReport:
    with app.app_context():
        return delivery.run_once(**kwargs)


def in_app(app: Flask, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with app.app_context():
        return function(*args, **kwargs)


def today() -> date:
    return datetime.now(BEIJING).date()
