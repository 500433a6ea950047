"""Workers forked from the process that built the app (uWSGI, uwsgi.ini): each starts with connection pools of its
own, so no database connection opened before the fork is ever used by two processes (SQLAlchemy's "Using
Connection Pools with Multiprocessing or os.fork()": `Engine.dispose(close=False)` in the child)."""

from flask import Flask

from kernel.extensions import db


def install(app: Flask) -> None:
    """Under uWSGI, empty the pools in each worker right after its fork; elsewhere nothing to do."""
    try:
        import uwsgi  # type: ignore[import-not-found]  # present only inside uWSGI
    except ImportError:
        return

    def start_with_pools_of_its_own() -> None:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)  # the parent's connections stay the parent's

    uwsgi.post_fork_hook = start_with_pools_of_its_own
