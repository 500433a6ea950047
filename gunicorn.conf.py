"""gunicorn's settings for this service; gunicorn reads this file from the directory it starts in (the
`Procfile` that `make run` starts names it). Workers, bind address and worker class stay on the command line there."""

import os
import pathlib

from prometheus_client import multiprocess

# The longest request line gunicorn accepts (its maximum; its default is 4094). Any over-long query parameter
# shorter than this reaches the app, which answers it in the JSON error shape (422); only a longer line gets
# gunicorn's own HTML 414, which the OpenAPI document declares on every operation (kernel/api.py).
limit_request_line = 8190


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
