"""Rate limits on the Open311 endpoints, per address and per API key, in flask-limiter's storage (memory, or Redis
via RATELIMIT_STORAGE_URI, shared by every process): past the limit, 429 with Retry-After."""

import math
import time

from flask import current_app
from limits import RateLimitItemPerMinute

from kernel.errors import RateLimitedError
from kernel.extensions import limiter
from kernel.i18n import _


def check_address(address: str) -> None:
    """Count a request from an address: every Open311 request counts."""
    _hit("open311-address", address, current_app.config["OPEN311_REQUESTS_PER_MINUTE_PER_ADDRESS"])


def check_key(integration_id: int) -> None:
    """Count a request made with an integration's key (filing a request or a comment)."""
    _hit("open311-key", str(integration_id), current_app.config["OPEN311_REQUESTS_PER_MINUTE_PER_KEY"])


def _hit(namespace: str, key: str, per_minute: int) -> None:
    if per_minute <= 0:  # 0 turns the limit off
        return
    item = RateLimitItemPerMinute(per_minute)
    if limiter.limiter.hit(item, namespace, key):
        return
    reset_at = limiter.limiter.get_window_stats(item, namespace, key).reset_time
    # The limiter keeps real time, not the app's clock.
    raise RateLimitedError(_("Too many requests; try again later."), math.ceil(reset_at - time.time()))
