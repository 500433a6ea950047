"""Extension singletons, initialised by the app factory."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from kernel.api import HouseApi
from kernel.db import Base
from kernel.replica import RoutingSession
from kernel.tokens import OneKeyJWTManager

db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate(render_as_batch=True, compare_type=True)
jwt = OneKeyJWTManager()
api = HouseApi()
# No default limits: the login rules count failures only (see auth.throttle); storage is
# RATELIMIT_STORAGE_URI (memory by default, Redis in production).
limiter = Limiter(key_func=get_remote_address)
