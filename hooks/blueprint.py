"""The `/api/v1/hooks` blueprint: what other systems call in, one section of the API documentation.

Requests pushed by integrations (`hooks.integrations.routes`) and SMS provider callbacks (`hooks.sms.routes`)
add their routes to it; it is registered once both have (after them in `bootstrap.CONTEXTS`).
"""

from flask import Flask

from kernel.api import Blueprint
from kernel.extensions import api

hooks_blp = Blueprint(
    "hooks",
    __name__,
    url_prefix="/api/v1/hooks",
    description="Hooks in: requests pushed by integrations; SMS providers' reply and delivery-report callbacks",
)


def register(app: Flask) -> None:
    api.register_blueprint(hooks_blp)
