"""The one source of "now", so tests can move time for deadlines, lockouts and expiry."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# The calendar residents and offices live by: ticket numbers, quiet hours, dashboard days.
BEIJING = ZoneInfo("Asia/Shanghai")

_offset = timedelta(0)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC) + _offset


def travel(offset: timedelta) -> None:
    """Shift the application's clock (tests only); `travel(timedelta(0))` comes back."""
    global _offset
    _offset = offset
