"""Workers forked from the process that built the app (uWSGI, uwsgi.ini).

Each starts with connection pools of its own, so no database connection opened before the fork is ever used by two
processes (SQLAlchemy's "Using Connection Pools with Multiprocessing or os.fork()": `Engine.dispose(close=False)` in
the child). And each leaves stopping to its master: honcho (Ctrl-C in `make run`) and systemd send SIGTERM to the
whole process group, and uWSGI's worker handler for it exits on the spot, inside the signal handler; the master's
graceful stop (SIGHUP to the worker) arriving during that exit ran a second exit inside the first, which could hang
the worker on a lock until it was killed, and cut its request in flight. With SIGTERM blocked in the worker (uWSGI sets
its handlers after this hook, but keeps the mask), it stops once, when its master says so: after its request in
flight (SIGHUP), at once (SIGINT), or killed past `worker-reload-mercy`."""

import signal

from flask import Flask

from kernel.extensions import db


def install(app: Flask) -> None:
    """Under uWSGI, prepare each worker right after its fork; elsewhere nothing to do."""
    try:
        import uwsgi  # type: ignore[import-not-found]  # present only inside uWSGI
    except ImportError:
        return

    def prepare_the_worker() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)  # the parent's connections stay the parent's

    uwsgi.post_fork_hook = prepare_the_worker
