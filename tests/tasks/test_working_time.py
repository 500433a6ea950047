"""SLAs in working time (categories' `resolve_working_days`, `accept_working_hours`): deadlines, the 80 % warning and
overdue follow the working-day calendar and `WORKING_HOURS` (09:00-12:00, 13:30-17:30 Beijing: a working day is 7
hours). Every expected time below is worked by hand from the 2026 calendar (chinesecalendar 1.11.0):

- 元旦 2026: Thu 01-01 and Fri 01-02 off, Sunday 01-04 worked (班);
- 春节 2026: Saturday 02-14 worked, Sunday 02-15 to Monday 02-23 off, Saturday 02-28 worked;
- 中秋 Fri 09-25 off; 国庆 2026: Thu 10-01 to Wed 10-07 off, Sunday 09-20 and Saturday 10-10 worked.

The clock is moved with `kernel.clock.travel`, which keeps running: times are compared to the second."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kernel import clock
from tasks.calendar.worktime import WorkingHoursError, parse_working_hours
from tasks.sweep import SweepReport, sweep
from tests.support.tasks import World

BJ = timezone(timedelta(hours=8))
GARBAGE = "CITY.GARBAGE"


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def travel_to(moment: datetime) -> None:
    clock.travel(moment - datetime.now(UTC))


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def assert_at(timestamp: str | None, expected: datetime) -> None:
    assert timestamp is not None
    assert abs(parse(timestamp) - expected) < timedelta(seconds=1), (timestamp, expected.astimezone(UTC))


def sla(world: World, code: str = GARBAGE, **changes: Any) -> None:
    response = world.client.patch(f"/api/v1/categories/{code}", json=changes, headers=world.headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)


def filed_at(world: World, moment: datetime, **fields: Any) -> dict[str, Any]:
    travel_to(moment)
    return world.ticket(**fields)


@pytest.fixture
def run_sweep(app):
    def run() -> SweepReport:
        with app.app_context():
            return sweep()

    return run


# --- the six (and more) calendar cases ----------------------------------------------------------------


def test_spring_festival_skips_the_holiday_week_and_counts_the_make_up_saturday(world, working_calendar):
    """Filed Fri 02-13 10:00 with 3 working days (21 h): Fri 6 h (10-12, 13:30-17:30), Sat 02-14 (班) 7 h,
    02-15..02-23 off, Tue 02-24 7 h, Wed 02-25 09:00-10:00 the last hour. 80 % is 16 h 48 min: 6 + 7 + 3 h by
    Tue noon, then 48 min from 13:30."""
    sla(world, resolve_working_days=3)
    ticket = filed_at(world, bj(2026, 2, 13, 10, 0))
    assert ticket["deadlines"]["resolve_in_working_time"] is True
    assert ticket["calendar_missing"] is False
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 2, 25, 10, 0))
    assert_at(ticket["deadlines"]["due_at"], bj(2026, 2, 25, 10, 0))
    assert_at(ticket["deadlines"]["warn_at"], bj(2026, 2, 24, 14, 18))


def test_national_day_counts_the_make_up_sunday_before_it(world, working_calendar):
    """Filed Fri 09-18 16:00 with 2 working days (14 h): Fri 1.5 h, Sun 09-20 (班) 7 h, Mon 09-21 3 h by noon and
    2.5 h from 13:30: 16:00 on Monday (Tuesday without the 调休 Sunday)."""
    sla(world, resolve_working_days=2)
    ticket = filed_at(world, bj(2026, 9, 18, 16, 0))
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 9, 21, 16, 0))


def test_national_day_week_is_skipped_and_the_make_up_saturday_after_it_counts(world, working_calendar):
    """Filed Wed 09-30 15:00 with 3 working days (21 h): Wed 2.5 h, 10-01..10-07 off, Thu 10-08 7 h, Fri 10-09
    7 h, Sat 10-10 (班) 3 h by noon and 1.5 h from 13:30: due on the Saturday at 15:00."""
    sla(world, resolve_working_days=3)
    ticket = filed_at(world, bj(2026, 9, 30, 15, 0))
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 10, 10, 15, 0))


def test_a_friday_evening_intake_starts_on_monday_morning(world, working_calendar):
    """Filed Fri 03-13 19:00 with 1 working day: nothing counts until Mon 09:00, due Mon 17:30; 80 % (5 h 36 min)
    is Mon 16:06. Dispatched at once with 2 working hours to accept: due Mon 11:00, warned at 10:36."""
    sla(world, resolve_working_days=1, accept_working_hours=2)
    ticket = filed_at(world, bj(2026, 3, 13, 19, 0))
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 3, 16, 17, 30))
    assert_at(ticket["deadlines"]["warn_at"], bj(2026, 3, 16, 16, 6))
    assigned = world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    assert assigned["deadlines"]["accept_in_working_time"] is True
    assert_at(assigned["deadlines"]["accept_due_at"], bj(2026, 3, 16, 11, 0))
    assert_at(assigned["deadlines"]["due_at"], bj(2026, 3, 16, 11, 0))
    assert_at(assigned["deadlines"]["warn_at"], bj(2026, 3, 16, 10, 36))
    accepted = world.act("worker", ticket, "accept")  # the resolution clock runs again, unchanged
    assert_at(accepted["deadlines"]["due_at"], bj(2026, 3, 16, 17, 30))
    assert_at(accepted["deadlines"]["warn_at"], bj(2026, 3, 16, 16, 6))


def test_new_year_2026_ends_on_the_make_up_sunday(world, working_calendar):
    """Filed Wed 2025-12-31 08:00 with 2 working days (14 h): Wed 7 h from 09:00, Thu 01-01 and Fri 01-02 off,
    Sun 01-04 (班) the other 7 h: due that Sunday at 17:30, the end of its working day."""
    sla(world, resolve_working_days=2)
    ticket = filed_at(world, bj(2025, 12, 31, 8, 0))
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 1, 4, 17, 30))
    assert ticket["calendar_missing"] is False


def test_a_deadline_into_a_year_the_calendar_lacks_counts_monday_to_friday_and_says_so(world, working_calendar):
    """Filed Wed 2026-12-30 14:00 with 2 working days (14 h): Wed 3.5 h, Thu 12-31 7 h, and 2027 unknown, Fri
    2027-01-01 counts as a weekday: 3 h by noon and 0.5 h from 13:30, due 14:00. Once an admin enters 2027 with
    01-01 off, the same intake is due Mon 01-04 14:00, and the calendar is not missing."""
    sla(world, resolve_working_days=2)
    ticket = filed_at(world, bj(2026, 12, 30, 14, 0))
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2027, 1, 1, 14, 0))
    assert ticket["calendar_missing"] is True
    days = {"days": [{"date": "2027-01-01", "kind": "rest", "name": "元旦"}]}
    response = world.client.put("/api/v1/calendar/2027", json=days, headers=world.headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)
    later = filed_at(world, bj(2026, 12, 30, 14, 0))
    assert_at(later["deadlines"]["resolve_due_at"], bj(2027, 1, 4, 14, 0))
    assert later["calendar_missing"] is False
    assert world.get("supervisor", ticket).get_json()["calendar_missing"] is True  # set deadlines keep their time


def test_an_urgent_category_in_hours_ignores_the_holiday(world, working_calendar):
    """FACILITY.ELEVATOR stays in calendar hours (6 h, urgent: 3 h): filed 02-17 10:00 in 春节, due 13:00."""
    ticket = filed_at(world, bj(2026, 2, 17, 10, 0), category_code="FACILITY.ELEVATOR")
    assert ticket["deadlines"]["resolve_in_working_time"] is False
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 2, 17, 13, 0))


def test_an_urgent_ticket_gets_half_the_working_time(world, working_calendar):
    """2 working days, urgent: 7 h. Filed Tue 03-10 10:00: Tue 6 h, Wed 03-11 09:00-10:00."""
    sla(world, resolve_working_days=2)
    ticket = filed_at(world, bj(2026, 3, 10, 10, 0), priority="urgent")
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 3, 11, 10, 0))


def test_other_working_hours_give_other_deadlines(app, world, working_calendar, monkeypatch):
    """WORKING_HOURS=08:00-12:00,14:00-18:00 (8 h a day): filed Fri 03-13 19:00 with 1 working day, due Mon 18:00."""
    monkeypatch.setitem(app.config, "WORKING_HOURS", "08:00-12:00,14:00-18:00")
    sla(world, resolve_working_days=1)
    ticket = filed_at(world, bj(2026, 3, 13, 19, 0))
    assert_at(ticket["deadlines"]["resolve_due_at"], bj(2026, 3, 16, 18, 0))


def test_a_reopen_starts_a_new_deadline_in_working_time(world, working_calendar):
    """Reopened Fri 03-20 17:00 with 1 working day: 0.5 h on Friday, 6.5 h on Monday: due Mon 03-23 17:00."""
    sla(world, resolve_working_days=1)
    travel_to(bj(2026, 3, 19, 9, 0))
    ticket = world.resolved()
    travel_to(bj(2026, 3, 20, 17, 0))
    reopened = world.act("supervisor", ticket, "reopen", reason="没有清运干净")
    assert_at(reopened["deadlines"]["resolve_due_at"], bj(2026, 3, 23, 17, 0))


# --- the sweep follows working time -----------------------------------------------------------------


def test_the_sweep_warns_and_marks_overdue_by_working_time(world, working_calendar, run_sweep):
    """Filed Fri 03-13 19:00 with 1 working day: warned at Mon 16:06 and overdue at Mon 17:30, although in
    calendar time 24 hours passed on Saturday evening."""
    sla(world, resolve_working_days=1)
    ticket = filed_at(world, bj(2026, 3, 13, 19, 0))
    travel_to(bj(2026, 3, 15, 20, 0))  # Sunday evening: 49 calendar hours, no working time
    assert run_sweep() == SweepReport()
    travel_to(bj(2026, 3, 16, 16, 5))
    assert run_sweep() == SweepReport()
    travel_to(bj(2026, 3, 16, 16, 7))
    assert run_sweep() == SweepReport(warned=1)
    assert world.get("supervisor", ticket).get_json()["warned"] is True
    travel_to(bj(2026, 3, 16, 17, 31))
    assert run_sweep() == SweepReport(overdue=1)
    assert world.get("supervisor", ticket).get_json()["overdue"] is True


def test_a_resolution_by_the_working_deadline_is_on_time(world, working_calendar):
    sla(world, resolve_working_days=1)
    travel_to(bj(2026, 3, 13, 19, 0))
    ticket = world.in_progress()
    travel_to(bj(2026, 3, 16, 17, 0))  # 70 calendar hours later, within the working day
    world.act("worker", ticket, "resolve", note="已清运完毕")
    events = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["supervisor"])
    assert events.get_json()["items"][-1]["details"]["on_time"] is True


# --- the categories' SLA fields ----------------------------------------------------------------------


def test_a_category_sla_in_working_time_is_read_and_cleared(world):
    sla(world, resolve_working_days=3, accept_working_hours=4)
    category = world.client.get(f"/api/v1/categories/{GARBAGE}", headers=world.headers["worker"]).get_json()
    assert (category["resolve_working_days"], category["accept_working_hours"]) == (3, 4)
    sla(world, resolve_working_days=None, accept_working_hours=None)
    ticket = world.ticket()
    assert ticket["deadlines"]["resolve_in_working_time"] is False
    assert_at(ticket["deadlines"]["resolve_due_at"], parse(ticket["created_at"]) + timedelta(hours=24))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("resolve_working_days", 0),
        ("resolve_working_days", 251),
        ("accept_working_hours", 0),
        ("accept_working_hours", "2"),
    ],
)
def test_a_bad_working_time_sla_is_422(world, field, value):
    response = world.client.patch(f"/api/v1/categories/{GARBAGE}", json={field: value}, headers=world.headers["admin"])
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]


def test_a_category_is_created_with_a_working_time_sla(world):
    body = {"code": "CITY.SNOW", "name": "积雪清扫", "parent_code": "CITY", "accept_minutes": 60, "resolve_hours": 12}
    body |= {"resolve_working_days": 2}
    response = world.client.post("/api/v1/categories", json=body, headers=world.headers["admin"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["resolve_working_days"] == 2
    assert response.get_json()["accept_working_hours"] is None


# --- working hours ----------------------------------------------------------------------------------


def test_working_hours_parse_and_give_the_day_length():
    assert parse_working_hours("09:00-12:00,13:30-17:30").day_length == timedelta(hours=7)
    assert parse_working_hours(" 08:30-17:00 ").day_length == timedelta(hours=8, minutes=30)


@pytest.mark.parametrize("text", ["", "9:00-12:00", "09:00-08:00", "09:00-12:00,11:00-13:00", "25:00-26:00", "x"])
def test_malformed_working_hours_are_refused(text):
    with pytest.raises(WorkingHoursError):
        parse_working_hours(text)
