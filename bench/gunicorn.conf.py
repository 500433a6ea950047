"""gunicorn's settings as production had them before it moved to uWSGI (uwsgi.ini): the benchmarks that compare
servers (bench/serve.py) and the older ones (bench/auth_reads.py, bench/city.py) start gunicorn with this file.
Workers, bind address and worker class stay on their command lines."""

import os
import pathlib

from prometheus_client import multiprocess

# The longest request line gunicorn accepts (its maximum; its default is 4094), the app's own limit too
# (kernel/limits.py): a longer line gets gunicorn's HTML 414 here, the app's JSON 414 under uWSGI.
limit_request_line = 8190

# What production needs besides (issue 27, docs/PERFORMANCE.md "The server"), gunicorn's defaults written out where
# they are a decision: a worker stuck on one request longer than `timeout` seconds is killed and replaced; on
# SIGTERM or a reload (SIGHUP) workers finish their requests for up to `graceful_timeout` seconds; headers are
# limited in number and size; no access log line is written by gunicorn (the app logs one JSON line per request
# at INFO, kernel/observability.py).
timeout = 30
graceful_timeout = 30
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None
# Each worker is replaced after about this many requests (the jitter keeps them from restarting together): what a
# worker accumulates beyond its bounded caches (fragmentation, a leak in a library) does not grow without end.
max_requests = 20000
max_requests_jitter = 2000


def on_starting(server):
    """With PROMETHEUS_MULTIPROC_DIR set (kernel.metrics), start with an empty folder: files left by an earlier
    run would add its counts to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = pathlib.Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    """A worker that is gone no longer counts in the live gauges (connections in use)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
