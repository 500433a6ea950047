"""Extension singletons, initialised by the app factory."""

from functools import partial
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
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


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate(render_as_batch=True, compare_type=True)
jwt = OneKeyJWTManager()
api = HouseApi()
# No default limits: the login rules count failures only (see auth.throttle); storage is
# RATELIMIT_STORAGE_URI (memory by default, Redis in production).
limiter = StoreLimiter(key_func=get_remote_address)
