"""Health probes, request ids, ETags on reads."""

import hashlib
import os
import re
import signal
import time

from sqlalchemy import text

from kernel.extensions import db
from kernel.health import HEALTHY_BODY, HealthSchema
from tests.support.http import assert_error


def test_healthz_says_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthzs_written_body_is_what_its_declared_schema_dumps(app, client):
    """The probe's body is written once by hand (kernel/health.py); it must stay what HealthSchema describes, in
    the bytes the JSON provider would write, so its ETag is the one a dumped answer would have."""
    with app.test_request_context():
        dumped = app.json.response(HealthSchema().dump({"status": "ok"})).get_data()
    response = client.get("/healthz")
    assert response.get_data() == dumped == HEALTHY_BODY
    assert response.mimetype == "application/json"
    # its ETag, written once too, is the one every JSON read gets: the digest of the bytes sent
    assert response.headers["ETag"] == f'"{hashlib.sha256(dumped).hexdigest()[:32]}"'
    assert client.get("/healthz", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_readyz_is_200_when_the_schema_is_at_the_latest_migration(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"


def test_readyz_is_503_when_the_schema_is_behind(app, client):
    with app.app_context():
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        db.session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        db.session.commit()
    try:
        response = client.get("/readyz")
        error = assert_error(response, 503, "service_unavailable")
        assert "migration" in error["details"]
    finally:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
            db.session.commit()


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/api/v1/nowhere").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_forked_worker_names_its_requests_apart_from_its_parent(client):
    """Web workers are forked from one process (uWSGI): each must draw its own ids, not repeat its parent's."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out without running the parent's cleanup
        os.write(write, client.get("/healthz").headers["X-Request-ID"].encode())
        os._exit(0)
    os.close(write)
    _wait_for(pid)
    childs = os.read(read, 64).decode()
    os.close(read)
    parents = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}

    assert re.fullmatch(r"[0-9a-f]{32}", childs) and len(parents) == 3
    assert {childs[:16]} != {own[:16] for own in parents} and childs not in parents


def _wait_for(pid: int, seconds: float = 10.0) -> None:
    """The child's exit, or it is killed and the test fails (a child stuck in a lock must not hang the suite)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the forked worker did not answer within {seconds} s")


def test_a_clients_request_id_is_echoed(client):
    assert client.get("/healthz", headers={"X-Request-ID": "app-42.7"}).headers["X-Request-ID"] == "app-42.7"


def test_a_request_id_with_odd_characters_is_replaced(client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["X-Request-ID"]
    assert echoed != "bad id\twith spaces"


def test_a_single_object_get_sends_an_etag_and_honours_if_none_match(client, make_account, auth):
    admin = make_account("admin")
    headers = auth(admin)
    first = client.get("/api/v1/auth/me", headers=headers)
    assert first.headers["ETag"]
    again = client.get("/api/v1/auth/me", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_the_etag_changes_when_the_object_changes(client, make_account, auth):
    admin = make_account("admin")
    headers = auth(admin)
    before = client.get("/api/v1/auth/me", headers=headers).headers["ETag"]
    client.patch(f"/api/v1/users/{admin.id}", json={"display_name": "新名字"}, headers=headers)
    after = client.get("/api/v1/auth/me", headers={**headers, "If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["ETag"] != before
