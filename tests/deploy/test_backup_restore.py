"""deploy/backup.sh and deploy/restore.sh: a service with a ticket and its photo is backed up, restored into a
fresh database and an empty attachments folder, and the restored service is ready and serves the same ticket and
the same photo. PostgreSQL only (pg_dump): skipped unless TEST_DATABASE_URL names PostgreSQL."""

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import select

from auth import tokens
from auth.models import Account
from bootstrap import create_app
from grid.models import GridUnit
from kernel.extensions import db
from kernel.principals import Role
from tasks.categories.service import seed_defaults
from tests.support.cluster import ROOT, fresh_database, postgres_url
from tests.support.geometry import MAP
from tests.support.http import bearer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL: TEST_DATABASE_URL=postgresql+psycopg://..."),
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump and pg_restore"),
]


def app_on(url: str, attachments: Path) -> Any:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "backup-test-secret-key-0123456789",
            "JWT_SECRET_KEY": "backup-test-jwt-key-0123456789abcdef",
            "RATELIMIT_STORAGE_URI": "memory://",
            "ATTACHMENTS_DIR": str(attachments),
        }
    )


def admin_headers(app: Any) -> dict[str, str]:
    with app.app_context():
        admin = db.session.scalars(select(Account).where(Account.role == Role.ADMIN)).one()
        grant = tokens.open_session(admin)
        db.session.commit()
        return bearer(grant.access_token)


def a_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def seed_a_ticket_with_a_photo(app: Any) -> tuple[str, str]:
    with app.app_context():
        upgrade()
        seed_defaults()
        db.session.add(Account(username="admin", display_name="管理员", role=Role.ADMIN, password_hash="x"))
        db.session.commit()
    client, headers = app.test_client(), admin_headers(app)
    assert client.post("/api/v1/grids/import", json=MAP, headers=headers).status_code == 200
    with app.app_context():
        cell = db.session.scalars(select(GridUnit.id).where(GridUnit.code == "G1")).one()
    body = {
        "channel": "hotline",
        "category_code": "CITY.GARBAGE",
        "description": "楼下垃圾三天没人清运",
        "grid_id": str(cell),
        "reporter": {"name": "张大妈", "phone": "13900000001"},
    }
    filed = client.post("/api/v1/requests", json=body, headers=headers)
    assert filed.status_code == 201, filed.get_data(as_text=True)
    ticket_id = filed.json["ticket"]["id"]
    photo = {"file": (io.BytesIO(a_photo()), "scene.jpg")}
    attached = client.post(f"/api/v1/tickets/{ticket_id}/attachments", data=photo, headers=headers)
    assert attached.status_code == 201, attached.get_data(as_text=True)
    return ticket_id, attached.json["id"]


def script(name: str, *arguments: str, url: str, attachments: Path) -> list[str]:
    environment = {**os.environ, "DATABASE_URL": url, "ATTACHMENTS_DIR": str(attachments)}
    done = subprocess.run(  # noqa: S603 (the repository's own script)
        [str(ROOT / "deploy" / name), *arguments], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_backup_restored_into_a_fresh_database_serves_the_same_ticket_and_photo(tmp_path):
    base = postgres_url() or ""
    with fresh_database(base, "backup_source") as source, fresh_database(base, "backup_restored") as restored:
        original = app_on(source, tmp_path / "attachments")
        ticket_id, photo_id = seed_a_ticket_with_a_photo(original)
        headers = admin_headers(original)
        ticket = original.test_client().get(f"/api/v1/tickets/{ticket_id}", headers=headers).json
        photo = original.test_client().get(f"/api/v1/attachments/{photo_id}", headers=headers).data

        dump, archive = script("backup.sh", str(tmp_path / "backups"), url=source, attachments=tmp_path / "attachments")
        script("restore.sh", dump, archive, url=restored, attachments=tmp_path / "restored-attachments")

        again = app_on(restored, tmp_path / "restored-attachments")
        client = again.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json["status"] == "ready"
        assert client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).json == ticket
        served = client.get(f"/api/v1/attachments/{photo_id}", headers=headers)
        assert served.status_code == 200 and served.data == photo
        for app in (original, again):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
