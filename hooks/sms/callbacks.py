"""What SMS provider callbacks share: the token, the freshness of what they report, the listing of what was kept.

**Authentication.** Neither provider signs its callbacks, so each provider's callback URLs carry a secret
token (`?token=`, `SMS_CALLBACK_TOKENS`, compared in constant time); a provider without a token has its
callbacks switched off (404). Every callback is kept (`sms_inbound`, `sms_reports`) under a key unique per
provider (Aliyun's sequence id; for Tencent, which has no id, a digest of number, time and text; the report's
ids and outcome), inserted before anything is done: a replayed or concurrent duplicate finds the key taken and
changes nothing. One about something older than `SMS_CALLBACK_MAX_AGE_HOURS` is kept as `ignored` (stale).
Malformed items are kept as `ignored` too; only a body that is not JSON (400) or not the provider's shape
(422) is refused, so a provider never re-sends a batch because of one bad item, and nothing is a 500.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from hooks.sms.formats import PROVIDERS
from kernel.errors import NotFoundError, UnauthorizedError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.signing import equal

FUTURE_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Received:
    """How many items of a callback were new (handled), and the provider's acknowledgement."""

    new: int
    ack: Mapping[str, Any]


def check_token(provider: str, token: str | None) -> None:
    """404 when this provider's callbacks are off; 401 unless `token` is its configured one."""
    expected = (current_app.config["SMS_CALLBACK_TOKENS"] or {}).get(provider) or ""
    if provider not in PROVIDERS or not expected:
        raise NotFoundError(_("SMS callbacks from %(provider)s are not enabled.", provider=provider))
    if not token or not equal(token, expected):
        raise UnauthorizedError(_("The callback token is not valid."), {"token": [_("not valid")]})


def staleness(moment: datetime | None, now: datetime) -> str | None:
    """Why something reported at `moment` is too old (or dated in the future) to act on; None when fresh."""
    if moment is None:
        return None
    max_age = timedelta(hours=int(current_app.config["SMS_CALLBACK_MAX_AGE_HOURS"]))
    if moment < now - max_age:
        return f"stale: older than {max_age.total_seconds() / 3600:g} hours"
    if moment > now + FUTURE_SKEW:
        return "stale: dated in the future"
    return None


def newest_first(model: type[db.Model], name: str, filters: Any, *, limit: int, cursor: str | None) -> Page[Any]:  # type: ignore[name-defined]
    """Kept callbacks (`model`'s rows) newest first; each field of `filters` (a dataclass), when set, must equal
    the column of the same name."""
    values = asdict(filters)
    stmt = select(model)
    for column, value in values.items():
        if value is not None:
            stmt = stmt.where(getattr(model, column) == value)
    fingerprint = {"list": name, **values}
    return paginate(
        stmt, order_by=[model.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint, descending=True
    )
