"""The console's pages: HTML shells rendered in the caller's language; their scripts fetch the data from the API."""

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, render_template

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
# inline styles; photos and exports are shown or saved through blob: URLs; the map's tiles (when configured) come
# from their server's origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{tiles}; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def register(app: Flask) -> None:
    app.register_blueprint(blp)


def tile_layer() -> dict[str, object] | None:
    """The map's raster tiles (CONSOLE_TILE_URL, its attribution, max zoom and coordinate system), or None."""
    url = current_app.config.get("CONSOLE_TILE_URL")
    if not url:
        return None
    return {
        "url": url,
        "attribution": current_app.config["CONSOLE_TILE_ATTRIBUTION"],
        "max_zoom": current_app.config["CONSOLE_TILE_MAX_ZOOM"],
        "coord_system": current_app.config["CONSOLE_TILE_COORD_SYSTEM"],
    }


def content_security_policy() -> str:
    """The policy, with the tile server's origin among the image sources when the map has tiles."""
    tiles = tile_layer()
    if tiles is None:
        return CONTENT_SECURITY_POLICY.format(tiles="")
    parts = urlsplit(str(tiles["url"]))
    return CONTENT_SECURITY_POLICY.format(tiles=f" {parts.scheme}://{parts.netloc}")


@blp.after_request
def protect(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
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
    return page("ticket.html", "ticket", active="board", ticket_id=ticket_id, tiles=tile_layer())


@blp.get("/map")
def territory_map() -> str:
    return page("map.html", "map", active="map", tiles=tile_layer())


@blp.get("/dashboards")
def dashboards() -> str:
    return page("dashboards.html", "dashboards", active="dashboards")


@blp.get("/party")
def party() -> str:
    return page("party.html", "party", active="party")


@blp.get("/password")
def password() -> str:
    return page("password.html", "password", active="password")
