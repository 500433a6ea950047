"""What `/metrics` reads about tickets at scrape time (kernel.metrics): overdue tickets, and how far the sweep
is behind (the oldest warned or overdue moment it has not recorded yet; 0 when it is up to date)."""

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from kernel.clock import utcnow
from kernel.extensions import db
from tasks.lifecycle import OPEN_STATUSES
from tasks.sweep import OVERDUE, WARNED, Threshold
from tasks.tickets.models import Ticket

OPEN = list(OPEN_STATUSES)


def ticket_gauges() -> Iterable[Metric]:
    """The ticket figures of one scrape."""
    now = utcnow()
    overdue = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN), Ticket.due_at <= now)
    )
    yield GaugeMetricFamily("grid_tickets_overdue", "Open tickets past their running deadline.", value=overdue or 0)
    lag = GaugeMetricFamily(
        "grid_sweep_lag_seconds",
        "How long ago the oldest warned or overdue moment passed that no sweep has recorded yet (0: up to date).",
        labels=["threshold"],
    )
    for threshold in (WARNED, OVERDUE):
        oldest = _oldest_unrecorded(threshold, now)
        lag.add_metric([threshold.action], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
    yield lag


def _oldest_unrecorded(threshold: Threshold, now: datetime) -> datetime | None:
    due = [Ticket.status.in_(OPEN), threshold.passed_at <= now, threshold.marker.is_(None)]
    if threshold.needs_marked is not None:
        due.append(threshold.needs_marked.is_not(None))
    return db.session.scalar(select(func.min(threshold.passed_at)).where(*due))
