"""Extension singletons, initialised by the app factory."""

from functools import partial
from typing import Any

import click
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy

from kernel.api import HouseApi
from kernel.db import Base
from kernel.replica import RoutingSession
from kernel.tokens import OneKeyJWTManager


class StoreLimiter(Limiter):
    """flask-limiter for its storage only (`limiter.limiter`): the brakes (auth.throttle, the open311 and public
    hooks) count in it themselves, at the few places they guard. No route carries a limit, so the request hooks
    flask-limiter installs (which look for limits on every request, and found none) are taken off again: they
    cost every request as much as the rest of the kernel's hooks (docs/PERFORMANCE.md, "Kernel hooks"). A route
    limit would need them back: `limit` and `shared_limit` refuse, so that one cannot silently do nothing."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        app.before_request_funcs[None] = [f for f in app.before_request_funcs.get(None, []) if not self._owns(f)]
        app.after_request_funcs[None] = [f for f in app.after_request_funcs.get(None, []) if not self._owns(f)]
        teardown = app.teardown_request_funcs.get(None, [])
        app.teardown_request_funcs[None] = [f for f in teardown if not self._owns(f)]

    def _owns(self, hook: Any) -> bool:
        if isinstance(hook, partial):
            return bool(hook.args) and hook.args[0] is self
        return getattr(hook, "__self__", None) is self

    def limit(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("StoreLimiter has no request hooks: count in `limiter.limiter` where the route guards")

    shared_limit = limit


class DeferredMigrate:
    """Flask-Migrate, imported only when something migrates (`flask db …`, `flask_migrate.upgrade()`): importing it
    brings alembic, mako and pygments into every web worker, which never migrates (docs/PERFORMANCE.md, "Worker
    memory"). `init_app` puts a stand-in in `app.extensions["migrate"]` and a `db` command group on the CLI; the
    first use of either sets up the real extension, which then replaces both."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def init_app(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        def load() -> Any:
            if isinstance(app.extensions.get("migrate"), _PendingMigrateConfig):
                from flask_migrate import Migrate

                Migrate(**self.options).init_app(app, db, directory=directory)
            return app.extensions["migrate"]

        app.extensions["migrate"] = _PendingMigrateConfig(load)
        app.cli.add_command(_DeferredCommands(load), name="db")


class _PendingMigrateConfig:
    """Flask-Migrate's `app.extensions["migrate"]` until first read, when the real one is made."""

    def __init__(self, load: Any) -> None:
        self._load = load

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


class _DeferredCommands(click.Group):
    """`flask db`: Flask-Migrate's command group, imported when the CLI looks into it."""

    def __init__(self, load: Any) -> None:
        super().__init__(name="db", help="Perform database migrations.")
        self._load = load

    def _commands(self) -> click.Group:
        self._load()
        from flask_migrate.cli import db as commands

        return commands

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return self._commands().make_context(info_name, args, parent=parent, **extra)  # its options and commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._commands().get_command(ctx, name)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = DeferredMigrate(render_as_batch=True, compare_type=True)
jwt = OneKeyJWTManager()
api = HouseApi()
# No default limits: the login rules count failures only (see auth.throttle); storage is
# RATELIMIT_STORAGE_URI (memory by default, Redis in production).
limiter = StoreLimiter(key_func=get_remote_address)
