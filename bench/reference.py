"""The floor every endpoint is measured against: a bare Flask app answering `{"status": "ok"}`.

Served by the same server, with the same workers, in the same run as the app (`bench/matrix.py`), so that a
ratio to it says what this service adds on top of Flask itself: the kernel's per-request hooks, authentication,
the database and the endpoint's own work. Nothing else belongs here: a slower reference would flatter every ratio.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
