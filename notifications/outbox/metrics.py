"""What `/metrics` reads about the outbox at scrape time (kernel.metrics), by channel (sms, inbox, webhook):
messages waiting (pending or being sent), how long the oldest one that is due has waited for a worker, and
messages that failed for good (dead, or reported undelivered by the provider)."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import ColumnElement, func, select

from kernel.clock import utcnow
from kernel.extensions import db
from notifications.outbox.models import DeliveryStatus, Medium, Notification

WAITING = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
FAILED = [DeliveryStatus.DEAD, DeliveryStatus.FAILED]


def outbox_gauges() -> Iterable[Metric]:
    """The outbox figures of one scrape; every channel is listed, with 0 when it has nothing."""
    now = utcnow()
    waiting = Notification.status.in_(WAITING)
    depth = _grouped([Notification.medium], func.count(), waiting)
    oldest_due = _grouped([Notification.medium], func.min(Notification.next_attempt_at), waiting, _due(now))
    failed = _grouped([Notification.medium, Notification.status], func.count(), Notification.status.in_(FAILED))
    yield _by_channel("grid_outbox_depth", "Messages waiting to be sent (pending or being sent).", depth)
    ages = {key: max((now - oldest).total_seconds(), 0.0) for key, oldest in oldest_due.items() if oldest}
    yield _by_channel("grid_outbox_oldest_due_age_seconds", "How long the oldest due message has waited.", ages)
    failures = GaugeMetricFamily(
        "grid_outbox_failed_messages", "Messages that failed for good (dead, failed).", labels=["channel", "status"]
    )
    for key, count in failed.items():
        failures.add_metric(list(key), count)
    yield failures


def _due(now: datetime) -> ColumnElement[bool]:
    return Notification.next_attempt_at <= now


def _grouped(keys: list[Any], value: Any, *where: ColumnElement[bool]) -> dict[tuple[str, ...], Any]:
    """`value` for each combination of `keys` among the rows matching `where`, keyed by their text."""
    rows = db.session.execute(select(*keys, value).where(*where).group_by(*keys)).all()
    return {tuple(str(key) for key in row[:-1]): row[-1] for row in rows}


def _by_channel(name: str, documentation: str, values: Mapping[tuple[str, ...], float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["channel"])
    for medium in Medium:
        family.add_metric([medium.value], values.get((medium.value,)) or 0)
    return family
