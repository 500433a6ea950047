"""Intake at a city's rate while the dashboards are read (issue 28): an intake takes its ticket number in a
transaction of its own on PostgreSQL, so the next intake does not wait for it to commit. In the intake's own
transaction the day's counter row stayed locked until the commit, and intakes ran one after the other: at 10M
tickets, 50 a second came out at 39-43 a second (docs/PERFORMANCE.md, "A city at scale", sixth session)."""

import threading
import time
from typing import Any

import pytest

from tasks.tickets import intake


@pytest.fixture
def postgres(app: Any) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite writes one transaction at a time: its intakes wait for each other whatever they lock")


def test_an_intake_does_not_wait_for_the_one_before_it_to_commit(app, world, postgres, monkeypatch):
    numbered, release = threading.Event(), threading.Event()
    dispatch = intake._auto_dispatch

    def first_one_pauses(ticket: Any, now: Any) -> Any:
        if not numbered.is_set():  # the first intake, numbered, stops before dispatch and its commit
            numbered.set()
            release.wait(20)
        return dispatch(ticket, now)

    monkeypatch.setattr(intake, "_auto_dispatch", first_one_pauses)
    body = {"channel": "app", "category_code": "CITY.GARBAGE", "description": "楼下垃圾三天没人清运",
            "grid_id": str(world.tree["G1a"].id), "reporter": {"name": "张大妈", "phone": "13900000000"}}  # fmt: skip
    answers: dict[str, Any] = {}

    def first() -> None:
        answers["first"] = app.test_client().post("/api/v1/requests", json=body, headers=world.headers["worker"])

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert numbered.wait(20)
        started = time.monotonic()
        second = app.test_client().post("/api/v1/requests", json=body, headers=world.headers["worker"])
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(30)

    assert second.status_code == 201, second.get_data(as_text=True)
    assert waited < 4  # the day's counter row is not held: no wait for the lock (5 s, then 409)
    assert answers["first"].status_code == 201, answers["first"].get_data(as_text=True)
    first_no, second_no = answers["first"].get_json()["ticket"]["no"], second.get_json()["ticket"]["no"]
    assert first_no < second_no  # unique and growing, in the order they were numbered


def test_numbers_go_on_after_a_failed_intake_with_a_gap_at_most(app, world, postgres, monkeypatch):
    first = world.ticket()["no"]

    def fails(ticket: Any, now: Any) -> Any:
        raise RuntimeError("an intake that fails after it was numbered")

    monkeypatch.setattr(intake, "_auto_dispatch", fails)
    failed = app.test_client().post(
        "/api/v1/requests",
        json={"channel": "app", "category_code": "CITY.GARBAGE", "description": "楼下垃圾三天没人清运",
              "grid_id": str(world.tree["G1a"].id)},
        headers=world.headers["worker"],
    )  # fmt: skip
    assert failed.status_code == 500
    monkeypatch.undo()

    later = world.ticket()["no"]
    day, number = first.split("-")
    assert later.split("-")[0] == day and int(later.split("-")[1]) > int(number)
