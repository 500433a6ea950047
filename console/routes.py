"""The console's pages: HTML shells rendered in the caller's language; their scripts fetch the data from the API."""

from flask import Blueprint, Flask, Response, render_template

from console.labels import catalogue
from kernel.i18n import current_locale

blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Scripts and styles from this app only (the vendored libraries included): no CDN, no inline script. ECharts sets
# inline styles; photos and exports are shown or saved through blob: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def register(app: Flask) -> None:
    app.register_blueprint(blp)


@blp.after_request
def protect(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def page(template: str, script: str, **context: object) -> str:
    return render_template(f"console/{template}", script=script, labels=catalogue(), locale=current_locale(), **context)


@blp.get("/")
def board() -> str:
    return page("board.html", "board", active="board")


@blp.get("/login")
def login() -> str:
    return page("login.html", "login", active=None)


@blp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id: int) -> str:
    return page("ticket.html", "ticket", active="board", ticket_id=ticket_id)


@blp.get("/map")
def territory_map() -> str:
    return page("map.html", "map", active="map")


@blp.get("/dashboards")
def dashboards() -> str:
    return page("dashboards.html", "dashboards", active="dashboards")


@blp.get("/party")
def party() -> str:
    return page("party.html", "party", active="party")


@blp.get("/password")
def password() -> str:
    return page("password.html", "password", active="password")
