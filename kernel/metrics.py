"""`GET /metrics` in Prometheus's text format, for the operator's Prometheus only.

Two kinds of figure:

- counted as things happen, cheaply: requests by endpoint (the URL rule, never the raw path), method and status,
  with a latency histogram, and the database connections checked out of the pool. Under gunicorn with several
  workers, PROMETHEUS_MULTIPROC_DIR (set before the process starts) makes prometheus_client keep these in files
  there, so one scrape of any worker reports the sum of all (deploy/web.sh empties the folder before the server
  starts; a uWSGI worker that ends forgets its own gauges).
- read at scrape time from the database, never per request: what higher layers register with `add_gauges`
  (the outbox's depth and age, overdue tickets, the sweep's lag). These are the same from every machine.

Who may scrape: an address in METRICS_ALLOWED_NETWORKS (default loopback; behind a proxy, the client's address as
TRUSTED_PROXIES lets ProxyFix see it), or anyone presenting `Authorization: Bearer <METRICS_TOKEN>` when it is set.
Anyone else gets 403 in the one error shape.
"""

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client import generate_latest as render
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine

from kernel.errors import ForbiddenError
from kernel.i18n import _

GaugeSource = Callable[[], Iterable[Metric]]

disable_created_metrics()  # no `_created` series beside each counter: nothing here reads them

REQUESTS = Counter("grid_http_requests", "HTTP requests answered.", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "grid_http_request_duration_seconds",
    "Time from the request's start to its response, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_CHECKED_OUT = Gauge(
    "grid_db_pool_connections_in_use",
    "Database connections checked out of the pool now (all live processes summed).",
    multiprocess_mode="livesum",
)
# The labelled series by (method, URL rule, status), found once: `labels()` costs more than counting.
# Bounded by the routes and the statuses they answer.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
UNMATCHED = "<unmatched>"  # a 404 for a path no route knows: one label, however many paths are tried


def install(app: Flask, engine: Engine) -> None:
    """Count requests and pool use for `app`, and serve `/metrics`."""
    app.after_request(_count_request)
    _track_pool(engine)
    app.add_url_rule("/metrics", "metrics", _scrape, methods=["GET"])
    _forget_this_worker_at_exit()


def _forget_this_worker_at_exit() -> None:
    """Under uWSGI with PROMETHEUS_MULTIPROC_DIR: a worker that ends (recycled, reloaded, stopped) no longer counts
    in the live gauges (connections in use). The app is built before the workers fork: the pid is the exiting one's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    try:
        import uwsgi  # type: ignore[import-not-found]  # present only inside uWSGI
    except ImportError:
        return
    uwsgi.atexit = lambda: multiprocess.mark_process_dead(os.getpid())


def add_gauges(app: Flask, source: GaugeSource) -> None:
    """A higher layer's figures, read from the database at each scrape (`source` yields metric families)."""
    app.extensions.setdefault("metrics_gauges", []).append(source)


def _count_request(response: Response) -> Response:
    rule = request.url_rule
    key = (request.method, rule.rule if rule is not None else UNMATCHED, response.status_code)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (REQUESTS.labels(key[0], key[1], str(key[2])), LATENCY.labels(key[1]))
    children[0].inc()
    started = g.get("started_at")
    if started is not None:
        children[1].observe(time.perf_counter() - started)
    return response


def _track_pool(engine: Engine) -> None:
    if event.contains(engine, "checkout", _checked_out):
        return
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def _checked_out(*_args: object) -> None:
    POOL_CHECKED_OUT.inc()


def _checked_in(*_args: object) -> None:
    POOL_CHECKED_OUT.dec()


class _ScrapeTimeGauges(Collector):
    def __init__(self, sources: Iterable[GaugeSource]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            yield from source()


def _scrape() -> Response:
    _check_scraper()
    read_now = CollectorRegistry(auto_describe=False)
    read_now.register(_ScrapeTimeGauges(current_app.extensions.get("metrics_gauges", [])))
    return Response(render(_counted()) + render(read_now), content_type=CONTENT_TYPE_LATEST)


def _counted() -> CollectorRegistry:
    """This process's counts; under uWSGI with PROMETHEUS_MULTIPROC_DIR, those of every worker, summed."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def _check_scraper() -> None:
    token = current_app.config["METRICS_TOKEN"]
    presented = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return
    address = ipaddress.ip_address(request.remote_addr or "0.0.0.0")  # noqa: S104 (an address, not a bind)
    if any(address in ipaddress.ip_network(network) for network in current_app.config["METRICS_ALLOWED_NETWORKS"]):
        return
    raise ForbiddenError(_("Metrics are served to the monitoring network only."), {"address": [str(address)]})
