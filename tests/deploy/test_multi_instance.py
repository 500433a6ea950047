"""Several machines, one truth: two app instances (separate gunicorn processes on two ports) on one PostgreSQL
and one Redis behave as one service. A login brake tripped through one holds on the other; a boundary changed
through one is what the other's locator uses at once; a ticket claimed through both at the same moment has one
winner; two delivery workers send each message once and two sweeps record each threshold once.

Needs PostgreSQL (TEST_DATABASE_URL; the suite's PostgreSQL leg in CI) and Redis (TEST_REDIS_URL, default
redis://127.0.0.1:6379/5). Every name it uses carries a random part, so it shares Redis with nobody's keys."""

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from auth import tokens
from auth.models import Account
from auth.passwords import hash_password
from bootstrap import create_app
from grid.models import GridUnit
from kernel.extensions import db
from kernel.principals import Role
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from tasks.categories.models import Category
from tasks.categories.service import seed_defaults
from tasks.tickets.models import Ticket
from tests.support.cluster import (
    Cluster,
    Instance,
    fresh_database,
    instance_environment,
    postgres_url,
    redis_answers,
    stop_process,
)
from tests.support.geometry import LAT, LNG, MAP, square
from tests.support.http import bearer

PASSWORD = "cluster-pass-2026"
ADDRESS_FAILURES = 3  # LOGIN_FAILURES_PER_ADDRESS of the instances: fewer slow password checks
POINT = {"lat": LAT + 0.001, "lng": LNG + 0.001}  # inside cell G1 (a 0.002° square at LNG, LAT)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL: TEST_DATABASE_URL=postgresql+psycopg://..."),
    pytest.mark.skipif(not redis_answers(), reason="needs Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/5)"),
]


@dataclass
class Seeded:
    headers: dict[str, dict[str, str]]
    ids: dict[str, int]
    usernames: dict[str, str]


@dataclass
class Service:
    cluster: Cluster
    a: Instance
    b: Instance
    seeded: Seeded
    app: Any  # an app in this process on the same database, to arrange and to look at what was stored


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("cluster")
    with fresh_database(postgres_url() or "", "cluster") as url:
        environment = {**instance_environment(url, folder), "LOGIN_FAILURES_PER_ADDRESS": str(ADDRESS_FAILURES)}
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": environment["SECRET_KEY"],
                "JWT_SECRET_KEY": environment["JWT_SECRET_KEY"],
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )
        seeded = seed(app)
        cluster = Cluster(url, environment, Path(folder))
        try:
            a, b = cluster.start_instances("a", "b")
            yield Service(cluster, a, b, seeded, app)
        finally:
            cluster.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def seed(app: Any) -> Seeded:
    """The map of tests/support/geometry.py, the default categories (garbage open to volunteers), and people."""
    run = secrets.token_hex(4)
    with app.app_context():
        upgrade()
        seed_defaults()
        db.session.execute(update(Category).where(Category.code == "CITY.GARBAGE").values(volunteer_claimable=True))
        admin = _account(f"admin-{run}", Role.ADMIN, None)
        db.session.commit()
        grant = tokens.open_session(admin)
        db.session.commit()
        imported = app.test_client().post("/api/v1/grids/import", json=MAP, headers=bearer(grant.access_token))
        assert imported.status_code == 200, imported.get_data(as_text=True)
        units = {unit.code: unit for unit in db.session.scalars(select(GridUnit))}
        people = {
            "admin": admin,
            "supervisor": _account(f"sup-{run}", Role.SUPERVISOR, units["S"]),
            "volunteer_a": _account(f"vol-a-{run}", Role.VOLUNTEER, units["C"]),
            "volunteer_b": _account(f"vol-b-{run}", Role.VOLUNTEER, units["C"]),
            "locked": _account(f"locked-{run}", Role.SUPERVISOR, units["S"]),
        }
        db.session.commit()
        headers = {}
        for name, account in people.items():
            headers[name] = bearer(tokens.open_session(account).access_token)
        db.session.commit()
        ids = {**{name: account.id for name, account in people.items()}, "G1": units["G1"].id}
        return Seeded(headers, ids, {name: account.username for name, account in people.items()})


def _account(username: str, role: Role, unit: GridUnit | None) -> Account:
    account = Account(
        username=username,
        display_name=username,
        role=role,
        scope_grid_id=unit.id if unit is not None else None,
        password_hash=hash_password(PASSWORD),
    )
    db.session.add(account)
    db.session.flush()
    return account


def file_ticket(instance: Instance, service: Service, phone: str) -> dict[str, Any]:
    body = {
        "channel": "hotline",
        "category_code": "CITY.GARBAGE",
        "description": "楼下垃圾三天没人清运",
        "grid_id": str(service.seeded.ids["G1"]),
        "reporter": {"name": "张大妈", "phone": phone},
    }
    response = instance.call("POST", "/api/v1/requests", body, service.seeded.headers["supervisor"])
    assert response.status == 201, response.body
    return response.body["ticket"]


def at_once(*calls: Any) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def login(instance: Instance, username: str, password: str, address: str) -> int:
    body = {"username": username, "password": password}
    return instance.call("POST", "/api/v1/auth/login", body, {"X-Forwarded-For": address}).status


def another_address() -> str:
    """A client address no other login of this run came from (the address brake counts per address)."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def test_an_account_locked_through_one_instance_is_locked_on_the_other(service):
    username = service.seeded.usernames["locked"]
    assert login(service.b, username, PASSWORD, another_address()) == 200
    statuses = [login(service.a, username, "wrong-password-1", another_address()) for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert login(service.b, username, PASSWORD, another_address()) == 429


def test_an_address_braked_through_one_instance_is_braked_on_the_other(service):
    address = another_address()
    tries = ADDRESS_FAILURES + 1
    statuses = [login(service.a, f"nobody-{secrets.token_hex(4)}", "wrong-password-1", address) for _ in range(tries)]
    assert statuses[-1] == 429
    assert login(service.b, service.seeded.usernames["supervisor"], PASSWORD, address) == 429


def test_a_boundary_changed_through_one_instance_is_used_by_the_others_locator_at_once(service):
    admin, cell = service.seeded.headers["admin"], service.seeded.ids["G1"]
    where = f"/api/v1/grids/locate?lat={POINT['lat']}&lng={POINT['lng']}"
    located = service.b.call("GET", where, headers=admin)
    assert located.status == 200 and located.body["cell"]["id"] == str(cell)
    etag = service.a.call("GET", f"/api/v1/grids/{cell}", headers=admin).headers["ETag"]
    shrunk = {"boundary": square(LNG, LAT, 0.0005)}  # the point is no longer inside
    changed = service.a.call("PATCH", f"/api/v1/grids/{cell}", shrunk, {**admin, "If-Match": etag})
    assert changed.status == 200, changed.body
    assert service.b.call("GET", where, headers=admin).status == 404


def test_a_ticket_claimed_through_both_instances_at_once_has_one_winner(service):
    headers = service.seeded.headers
    for _ in range(3):
        ticket = file_ticket(service.a, service, "13900000001")
        path = f"/api/v1/tickets/{ticket['id']}/claim"
        first, second = at_once(
            lambda path=path: service.a.call("POST", path, {}, headers["volunteer_a"]),
            lambda path=path: service.b.call("POST", path, {}, headers["volunteer_b"]),
        )
        assert sorted([first.status, second.status]) == [200, 409], (first.body, second.body)
        stored = service.b.call("GET", f"/api/v1/tickets/{ticket['id']}", headers=headers["supervisor"]).body
        winner = "volunteer_a" if first.status == 200 else "volunteer_b"
        assert stored["status"] == "in_progress"
        assert stored["assignee"]["id"] == str(service.seeded.ids[winner])


def test_two_sweeps_record_each_threshold_once_and_two_workers_send_each_message_once(service, tmp_path):
    tickets = [file_ticket(service.a if n % 2 else service.b, service, f"139000010{n:02d}") for n in range(12)]
    ids = [int(ticket["id"]) for ticket in tickets]
    with service.app.app_context():  # arrange: every ticket long past both deadlines
        past = func.now() - func.make_interval(0, 0, 0, 0, 1)
        db.session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(warn_at=past, due_at=past))
        db.session.commit()

    for _ in range(2):
        sweeps = [service.cluster.run("tasks", "sweep", "--batch", "2") for _ in range(2)]
        for sweep in sweeps:
            output, _ = sweep.communicate(timeout=60)
            assert sweep.returncode == 0, output.decode()
    for ticket in tickets:
        events = service.b.call(
            "GET", f"/api/v1/tickets/{ticket['id']}/events", headers=service.seeded.headers["admin"]
        )
        recorded = [event["action"] for event in events.body["items"]]
        assert recorded.count("warned") == 1 and recorded.count("overdue") == 1, recorded

    files = [tmp_path / "sms-1.jsonl", tmp_path / "sms-2.jsonl"]
    workers = [service.cluster.run("notify", "worker", extra={"SMS_CONSOLE_FILE": str(path)}) for path in files]
    try:
        _wait_for_empty_outbox(service)
    finally:
        for worker in workers:
            stop_process(worker)
    sent_lines = [line for path in files if path.exists() for line in path.read_text().splitlines()]
    sent_ids = [line.split('"message_id": "', 1)[1].split('"', 1)[0] for line in sent_lines]
    with service.app.app_context():
        owed = set(db.session.scalars(select(Notification.message_id).where(Notification.medium == Medium.SMS)))
        statuses = set(db.session.scalars(select(Notification.status).where(Notification.medium == Medium.SMS)))
    assert len(owed) >= 12
    assert sorted(sent_ids) == sorted(owed)  # each once, none lost
    assert statuses == {DeliveryStatus.SENT}


def _wait_for_empty_outbox(service: Service, timeout: float = 40) -> None:
    waiting = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    deadline = time.monotonic() + timeout
    with service.app.app_context():
        while time.monotonic() < deadline:
            left = db.session.scalar(
                select(func.count()).select_from(Notification).where(Notification.status.in_(waiting))
            )
            db.session.rollback()
            if left == 0:
                return
            time.sleep(0.3)
    raise AssertionError("the delivery workers did not empty the outbox")


def scrape(instance: Instance) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = instance.call("GET", "/metrics")
    assert response.status == 200, response.body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.body)
        for sample in family.samples
    }


def test_each_instance_counts_its_own_requests_and_both_read_the_same_database_figures(service):
    healthz = ("grid_http_requests_total", (("endpoint", "/healthz"), ("method", "GET"), ("status", "200")))
    before_a, before_b = scrape(service.a), scrape(service.b)
    for _ in range(3):
        assert service.a.call("GET", "/healthz").status == 200
    after_a, after_b = scrape(service.a), scrape(service.b)
    assert after_a.get(healthz, 0) - before_a.get(healthz, 0) == 3
    assert after_b.get(healthz, 0) == before_b.get(healthz, 0)
    shared = [key for key in after_a if key[0] in {"grid_tickets_overdue", "grid_outbox_depth"}]
    assert shared and all(after_a[key] == after_b[key] for key in shared)
