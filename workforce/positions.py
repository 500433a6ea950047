"""Positions: screening fixes from phones, storing them in WGS-84, reading tracks, and retention.

Position data is personal: it is kept for WORKFORCE_POSITION_RETENTION_DAYS (90 by default) and only
the worker and the supervisors and admins in scope read it (the service checks who asks).

Implausible jumps: a fix the phone cannot have reached is refused alone (`implausible_jump`). Each fix is
judged from the worker's previous accepted fix *in time* (offline queues replay out of order): the latest
of the stored last position and the fixes of the same batch already accepted that was recorded at or
before it; when there is none (a late fix older than everything known), the earliest one after it. The
batch is judged oldest first, so the reference is always a fix that was accepted. The implied speed is the
distance less both fixes' accuracy radii (GPS noise is not movement) over the time between them (at least
one second); above MAX_SPEED_KMH (200 km/h) the fix is refused.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, delete, insert, or_, select, update

from grid.coords import CoordSystem, distance_m, to_wgs84
from kernel.clock import utcnow
from kernel.errors import ValidationError
from kernel.extensions import db
from kernel.i18n import _
from workforce.models import Fix, PositionPing, WorkerProfile

# Phones' clocks drift; a fix this far ahead of the server is accepted, further is implausible.
CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_RETENTION_DAYS = 90
# Faster than this between two fixes, the phone cannot have travelled: a GPS glitch, a mock location.
MAX_SPEED_KMH = 200.0


def retention() -> timedelta:
    """How long position data is kept (WORKFORCE_POSITION_RETENTION_DAYS, 90 days by default)."""
    return timedelta(days=int(current_app.config.get("WORKFORCE_POSITION_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)))


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str
    message: str


def screen(
    pings: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    not_before: datetime | None = None,
    last: Fix | None = None,
) -> tuple[list[Fix], list[Rejection]]:
    """Split fixes into plausible ones (converted to WGS-84) and refusals with their reasons.

    `last` is the worker's stored last position: jumps are judged from it and from the batch's accepted
    fixes, by time (module docstring). Refusals come back in the order sent.
    """
    oldest = now - retention()
    accepted: list[Fix] = []
    rejected: list[Rejection] = []
    known = [last] if last is not None and last.recorded_at is not None else []
    order = sorted(range(len(pings)), key=lambda index: pings[index]["recorded_at"])
    for index in order:
        ping = pings[index]
        refusal = _implausibility(ping, now=now, oldest=oldest, not_before=not_before)
        if refusal is not None:
            rejected.append(Rejection(index, *refusal))
            continue
        lat, lng = to_wgs84(ping["lat"], ping["lng"], CoordSystem(ping.get("coord_system", CoordSystem.WGS84)))
        fix = Fix(lat, lng, ping.get("accuracy"), ping["recorded_at"])
        speed = _implied_speed_kmh(fix, _reference(known, ping["recorded_at"]))
        if speed is not None and speed > MAX_SPEED_KMH:
            message = f"{speed:.0f} km/h from the previous accepted position (at most {MAX_SPEED_KMH:.0f})"
            rejected.append(Rejection(index, "implausible_jump", message))
            continue
        accepted.append(fix)
        known.append(fix)
    rejected.sort(key=lambda rejection: rejection.index)
    return accepted, rejected


def _reference(known: Sequence[Fix], moment: datetime) -> Fix | None:
    """The accepted fix just before `moment` in time, or, when none is, the one just after it."""
    timed = [(other.recorded_at, other) for other in known if other.recorded_at is not None]
    before = [(at, other) for at, other in timed if at <= moment]
    if before:
        return max(before, key=lambda pair: pair[0])[1]
    return min(timed, key=lambda pair: pair[0])[1] if timed else None


def _implied_speed_kmh(fix: Fix, reference: Fix | None) -> float | None:
    if reference is None or reference.recorded_at is None or fix.recorded_at is None:
        return None
    slack = (fix.accuracy or 0.0) + (reference.accuracy or 0.0)
    metres = max(0.0, distance_m(reference.lat, reference.lng, fix.lat, fix.lng) - slack)
    seconds = max(abs((fix.recorded_at - reference.recorded_at).total_seconds()), 1.0)
    return metres / seconds * 3.6


def _implausibility(
    ping: Mapping[str, Any], *, now: datetime, oldest: datetime, not_before: datetime | None
) -> tuple[str, str] | None:
    if not (-90 <= ping["lat"] <= 90 and -180 <= ping["lng"] <= 180):
        return "out_of_range", _("lat must lie in [-90, 90] and lng in [-180, 180]")
    if ping.get("accuracy") is not None and ping["accuracy"] < 0:
        return "negative_accuracy", _("accuracy is a radius in metres")
    recorded_at: datetime = ping["recorded_at"]
    if recorded_at > now + CLOCK_SKEW:
        return "in_future", _(
            "recorded_at is more than %(minutes)s minutes in the future", minutes=CLOCK_SKEW.seconds // 60
        )
    if recorded_at < oldest:
        return "too_old", _("recorded_at is older than the retention period (%(days)s days)", days=retention().days)
    if not_before is not None and recorded_at < not_before - CLOCK_SKEW:
        return "before_start", _("recorded_at is before the patrol started")
    return None


def store(profile: WorkerProfile, fixes: Sequence[Fix], *, patrol_id: int | None) -> None:
    """Insert screened fixes (one statement) and move the worker's last position forward if they are newer."""
    if not fixes:
        return
    now = utcnow()
    db.session.execute(
        insert(PositionPing),
        [
            {
                "worker_id": profile.id,
                "patrol_id": patrol_id,
                "lat": fix.lat,
                "lng": fix.lng,
                "accuracy": fix.accuracy,
                "recorded_at": fix.recorded_at,
                "received_at": now,
            }
            for fix in fixes
        ],
    )
    _advance_last_position(profile, max(fixes, key=lambda fix: fix.recorded_at or now))


def _advance_last_position(profile: WorkerProfile, newest: Fix) -> None:
    """Move the last position forward only: a late ping from the offline queue never moves it back."""
    db.session.execute(
        update(WorkerProfile)
        .where(
            WorkerProfile.id == profile.id,
            or_(WorkerProfile.last_recorded_at.is_(None), WorkerProfile.last_recorded_at < newest.recorded_at),
        )
        .values(
            last_lat=newest.lat,
            last_lng=newest.lng,
            last_accuracy=newest.accuracy,
            last_recorded_at=newest.recorded_at,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(profile)


@dataclass(frozen=True)
class Track:
    worker_id: int
    patrol_id: int | None
    points: list[Fix]


def fixes_of_worker(worker_id: int, *, start: datetime, end: datetime) -> list[Fix]:
    """A worker's fixes from `start` to `end` (both included), oldest first, patrol points included."""
    return _load(
        PositionPing.worker_id == worker_id, PositionPing.recorded_at >= start, PositionPing.recorded_at <= end
    )


def fixes_of_patrol(patrol_id: int) -> list[Fix]:
    """A patrol's track points, oldest first."""
    return _load(PositionPing.patrol_id == patrol_id)


def _load(*criteria: ColumnElement[bool]) -> list[Fix]:
    # Plain columns, not ORM objects: a seven-day track holds tens of thousands of rows.
    stmt = (
        select(PositionPing.lat, PositionPing.lng, PositionPing.accuracy, PositionPing.recorded_at)
        .where(*criteria)
        .order_by(PositionPing.recorded_at, PositionPing.id)
    )
    return [Fix(lat, lng, accuracy, recorded_at) for lat, lng, accuracy, recorded_at in db.session.execute(stmt)]


def path_length_m(fixes: Sequence[Fix]) -> float:
    """The length of the path through the fixes in the order given (metres)."""
    return sum(distance_m(a.lat, a.lng, b.lat, b.lng) for a, b in pairwise(fixes))


# --- retention ------------------------------------------------------------------------------------


def position_cutoff(now: datetime | None = None) -> datetime:
    """Positions recorded before this time are past the retention period."""
    return (now or utcnow()) - retention()


def purge_positions_batch(cutoff: datetime, *, patrol_points: bool, limit: int) -> int:
    """Delete up to `limit` pings (or patrol points) recorded before `cutoff`; returns how many went."""
    kind = PositionPing.patrol_id.is_not(None) if patrol_points else PositionPing.patrol_id.is_(None)
    doomed = select(PositionPing.id).where(PositionPing.recorded_at < cutoff, kind).limit(limit)
    result = db.session.execute(
        delete(PositionPing).where(PositionPing.id.in_(doomed)).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def forget_last_positions(cutoff: datetime) -> int:
    """Clear last positions older than `cutoff`: they are position data too."""
    result = db.session.execute(
        update(WorkerProfile)
        .where(WorkerProfile.last_recorded_at < cutoff)
        .values(last_lat=None, last_lng=None, last_accuracy=None, last_recorded_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def check_client_time(
    value: datetime,
    field: str,
    *,
    now: datetime,
    not_before: datetime | None = None,
    skew: timedelta = CLOCK_SKEW,
) -> None:
    """422 for a client-given time of one object (a patrol's start or end, a visit) that cannot be true."""
    if value > now + CLOCK_SKEW:
        raise ValidationError(
            _("%(field)s is in the future.", field=field),
            {field: [_("more than %(value)s minutes ahead", value=CLOCK_SKEW.seconds // 60)]},
        )
    if value < now - retention():
        raise ValidationError(
            _("%(field)s is too old.", field=field), {field: [_("older than %(days)s days", days=retention().days)]}
        )
    if not_before is not None and value < not_before - skew:
        raise ValidationError(
            _("%(field)s is before the patrol started.", field=field), {field: [_("before started_at")]}
        )
