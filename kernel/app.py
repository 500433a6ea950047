"""The application factory: reads like a table of contents."""

from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from kernel import commands, events, forking, health, i18n, metrics, replica
from kernel.compiled import send_queued_writes
from kernel.config import ROOT, load_settings
from kernel.db import POSTGRES_KEEPALIVES, install_connection_settings
from kernel.errors import register_error_handlers
from kernel.etag import register_etags
from kernel.extensions import api, db, jwt, limiter, migrate
from kernel.idempotency import register_idempotency
from kernel.jsonio import FastJSONProvider
from kernel.limits import register_request_line_limit
from kernel.observability import configure_logging, register_request_logging
from kernel.security import register_cache_policy, register_token_error_loaders
from kernel.transaction import register_transaction_boundary


class LazyCookieSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, whose signing serializer is built only for a request that brings a session cookie
    (the API has none; Flask built it on every request, before looking for the cookie)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not app.secret_key:
            return super().open_session(app, request)
        # No Cookie header at all (every API call): no cookie parsing either.
        if "HTTP_COOKIE" in request.environ and request.cookies.get(self.get_cookie_name(app)):
            return super().open_session(app, request)
        return self.session_class()


class App(Flask):
    json_provider_class = FastJSONProvider
    session_interface = LazyCookieSessions()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, once per function: it asked `inspect` whether each hook and view is a coroutine function on
        every request (fourteen times per request here)."""
        known = self._sync_functions.get(func)
        if known is None:
            known = self._sync_functions[func] = super().ensure_sync(func)
        return known


def build_app(
    overrides: Mapping[str, Any] | None,
    *,
    contexts: Iterable[ModuleType],
    subscribe: Callable[[events.EventBus], None],
) -> Flask:
    """The app from its parts: `contexts` are modules whose `register(app)` adds blueprints or commands, and
    `subscribe` wires the event handlers. The kernel knows neither; `bootstrap.create_app` names them."""
    app = App(__name__, instance_path=str(ROOT / "instance"))
    app.config.from_mapping(load_settings())
    app.config.update(overrides or {})
    configure_logging(app.config["LOG_LEVEL"])
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_request_hooks(app)
    register_error_handlers(app)
    subscribe(events.install(app))
    register_blueprints(app, contexts)
    commands.register(app)
    return app


def register_extensions(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # No pre-ping (a `SELECT 1` round trip per request): a connection the server closed is found when it
        # leaves the pool, from its socket (kernel.db); keepalives make a vanished server show there too.
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        connect_args = {**POSTGRES_KEEPALIVES, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}
    replica.configure(app)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():  # the primary, and the read replica if there is one
            install_connection_settings(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
            if engine.dialect.name == "postgresql":
                send_queued_writes(engine)
    forking.install(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    jwt.init_app(app)
    register_token_error_loaders(jwt)
    limiter.init_app(app)
    i18n.install(app)
    api.init_app(app)


def register_request_hooks(app: Flask) -> None:
    # after_request hooks run in reverse order: remember the idempotent response, add the ETag,
    # commit, then count and log last, so both show the status the client really got.
    register_request_logging(app)
    register_request_line_limit(app)
    with app.app_context():
        metrics.install(app, db.engine)
    register_cache_policy(app)
    register_transaction_boundary(app)
    register_etags(app)
    register_idempotency(app)


def register_blueprints(app: Flask, contexts: Iterable[ModuleType]) -> None:
    api.register_blueprint(health.blp)
    for context in contexts:
        context.register(app)
