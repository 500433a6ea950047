"""The longest request line the API takes: 8,190 bytes (method, target and protocol, as gunicorn's maximum was).

The HTTP server lets longer lines through up to its buffer (uWSGI's `buffer-size`, uwsgi.ini), so the app answers
them itself, in the one error shape: `414 uri_too_long`. Anything shorter reaches the routes, which answer an
over-long parameter with their `422`. Past the server's buffer (64 KB of request line and headers) uWSGI closes the
connection without an answer; nginx in front refuses such requests first with its own 414 or 400.
"""

from flask import Flask, request
from werkzeug.exceptions import RequestURITooLarge

REQUEST_LINE_LIMIT = 8190  # bytes


def register_request_line_limit(app: Flask) -> None:
    @app.before_request
    def refuse_long_request_lines() -> None:
        environ = request.environ
        # REQUEST_URI is the target as the client sent it (uWSGI, werkzeug); servers without it limit the line
        # themselves. uWSGI writes it before the query string, so it is here even when the query no longer fit.
        target = environ.get("REQUEST_URI")
        if target is None:
            return
        length = len(environ["REQUEST_METHOD"]) + len(target) + len(environ.get("SERVER_PROTOCOL", "")) + 2
        query = environ.get("QUERY_STRING")
        if query and "?" not in target:  # a server (or werkzeug's test client) that keeps only the path there
            length += 1 + len(query)
        if length > REQUEST_LINE_LIMIT:
            raise RequestURITooLarge()
