"""The working-day calendar through the HTTP API and the CLI: staff read a year, admins replace it (validated, all
or nothing), a year the State Council published before the package knew it is imported from a file, and
`/readyz` warns from December 1st while next year is missing."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kernel import clock
from kernel.extensions import db
from tasks.calendar.models import CalendarDay, CalendarYear
from tests.support.http import assert_error

URL = "/api/v1/calendar"
ROLES = ["admin", "supervisor", "worker", "volunteer", "party_staff"]
# 2027 as an admin might enter it (illustrative: not the State Council's notice).
DAYS_2027 = [
    {"date": "2027-01-01", "kind": "rest", "name": "元旦"},
    {"date": "2027-02-06", "kind": "work", "name": "春节"},
    {"date": "2027-02-08", "kind": "rest", "name": "春节"},
]


@pytest.fixture
def headers(make_account, auth):
    return {role: auth(make_account(role)) for role in ROLES}


def travel_to(moment: datetime) -> None:
    clock.travel(moment - datetime.now(UTC))


def stored_days(app, year: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CalendarDay).where(CalendarDay.year == year))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_a_seeded_year_with_its_holidays_and_make_up_days(client, working_calendar, headers, role):
    response = client.get(f"{URL}/2026", headers=headers[role])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["year"] == 2026 and body["source"] == "chinesecalendar"
    days = {day["date"]: (day["kind"], day["name"]) for day in body["days"]}
    # 国庆 2026: 10-01 (Thu) to 10-07 rest, the weekend 10-03/04 not listed (already rest); 09-20 and 10-10 worked.
    assert days["2026-10-01"] == ("rest", "国庆节")
    assert days["2026-10-07"] == ("rest", "国庆节")
    assert "2026-10-03" not in days
    assert days["2026-09-20"] == ("work", "国庆节")
    assert days["2026-10-10"] == ("work", "国庆节")
    # 春节 2026: Saturday 02-14 and 02-28 worked; Monday 02-16 to Monday 02-23 off.
    assert days["2026-02-14"] == ("work", "春节") and days["2026-02-28"] == ("work", "春节")
    assert days["2026-02-23"] == ("rest", "春节")
    assert [day["date"] for day in body["days"]] == sorted(days)


def test_reading_needs_a_token(client, working_calendar):
    assert_error(client.get(f"{URL}/2026"), 401, "unauthorized")


def test_a_year_the_calendar_lacks_is_404(client, working_calendar, headers):
    error = assert_error(client.get(f"{URL}/2027", headers=headers["worker"]), 404, "not_found")
    assert "2027" in error["message"]


@pytest.mark.parametrize("year", ["1999", "2101", "10765180102", "99999999999999999999"])
def test_a_year_out_of_range_is_404_without_asking_the_database(client, working_calendar, headers, year):
    assert_error(client.get(f"{URL}/{year}", headers=headers["worker"]), 404, "not_found")
    assert_error(client.put(f"{URL}/{year}", json={"days": []}, headers=headers["admin"]), 422, "validation_error")


def test_an_admin_replaces_a_year(app, client, working_calendar, headers):
    response = client.put(f"{URL}/2027", json={"days": DAYS_2027}, headers=headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["source"] == "admin"
    assert [day["date"] for day in response.json["days"]] == ["2027-01-01", "2027-02-06", "2027-02-08"]
    assert client.get(f"{URL}/2027", headers=headers["worker"]).json["days"] == response.json["days"]
    # Replacing again keeps only the new list.
    response = client.put(f"{URL}/2027", json={"days": DAYS_2027[:1]}, headers=headers["admin"])
    assert [day["date"] for day in response.json["days"]] == ["2027-01-01"]
    assert stored_days(app, 2027) == 1


def test_an_empty_year_is_known_and_counts_monday_to_friday(client, headers):
    response = client.put(f"{URL}/2030", json={"days": []}, headers=headers["admin"])
    assert response.status_code == 200
    assert client.get(f"{URL}/2030", headers=headers["worker"]).json["days"] == []


@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
def test_other_roles_cannot_replace_a_year(app, client, working_calendar, headers, role):
    response = client.put(f"{URL}/2026", json={"days": DAYS_2027}, headers=headers[role])
    assert_error(response, 403, "forbidden")
    assert stored_days(app, 2026) > 20


def test_replacing_needs_a_token(client):
    assert_error(client.put(f"{URL}/2027", json={"days": []}), 401, "unauthorized")


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        ({"date": "2028-01-03", "kind": "rest"}, "not in 2027"),
        ({"date": "2027-01-02", "kind": "rest"}, "a holiday must be a Monday–Friday day"),  # a Saturday
        ({"date": "2027-01-04", "kind": "work"}, "a make-up working day must be a Saturday or Sunday"),  # a Monday
        ({"date": "2027-01-01", "kind": "rest"}, "listed twice"),
    ],
)
def test_an_invalid_day_is_422_naming_it_and_nothing_is_written(app, client, working_calendar, headers, day, problem):
    client.put(f"{URL}/2027", json={"days": DAYS_2027}, headers=headers["admin"])
    response = client.put(f"{URL}/2027", json={"days": [*DAYS_2027, day]}, headers=headers["admin"])
    error = assert_error(response, 422, "validation_error")
    assert any(problem in message for message in error["details"]["days.3.date"])
    assert stored_days(app, 2027) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"days": [{"date": "2027-13-01", "kind": "rest"}]},
        {"days": [{"date": "2027-01-01", "kind": "holiday"}]},
        {"days": [{"date": "2027-01-01", "kind": "rest", "name": "x" * 33}]},
        {"days": "2027-01-01"},
        {},
    ],
)
def test_a_malformed_body_is_422(client, headers, body):
    assert_error(client.put(f"{URL}/2027", json=body, headers=headers["admin"]), 422, "validation_error")


def test_a_year_out_of_range_is_422(client, headers):
    assert_error(client.put(f"{URL}/1999", json={"days": []}, headers=headers["admin"]), 422, "validation_error")


def test_the_cli_imports_a_year_from_a_file(app, tmp_path):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps({"year": 2027, "days": DAYS_2027}, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2027: 3 days" in result.output
    with app.app_context():
        assert db.session.get(CalendarYear, 2027).source == "import"
    assert stored_days(app, 2027) == 3


def test_the_cli_refuses_an_invalid_file_and_writes_nothing(app, tmp_path):
    path = tmp_path / "2027.json"
    bad = [*DAYS_2027, {"date": "2027-01-04", "kind": "work"}]
    path.write_text(json.dumps({"year": 2027, "days": bad}), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code != 0 and "周六或周日" in result.output  # the console speaks Chinese
    path.write_text("not json", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code != 0 and "not a calendar document" in result.output
    with app.app_context():
        assert db.session.get(CalendarYear, 2027) is None


def test_seed_adds_the_package_years_once_and_keeps_edited_years(app, client, headers):
    client.put(f"{URL}/2026", json={"days": []}, headers=headers["admin"])
    result = app.test_cli_runner().invoke(args=["calendar", "seed"])
    assert result.exit_code == 0 and "2025" in result.output and "2026" not in result.output
    assert stored_days(app, 2026) == 0
    again = app.test_cli_runner().invoke(args=["calendar", "seed"])
    assert "no year to add" in again.output


def test_readyz_warns_from_december_first_while_next_year_is_missing(client, working_calendar, headers):
    travel_to(datetime(2026, 11, 30, 15, 59, tzinfo=UTC))  # 23:59 on November 30th in Beijing
    assert client.get("/readyz").json["warnings"] == []
    travel_to(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # midnight: December 1st in Beijing
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["status"] == "ready"
    assert len(response.json["warnings"]) == 1 and "2027" in response.json["warnings"][0]
    client.put(f"{URL}/2027", json={"days": DAYS_2027}, headers=headers["admin"])
    assert client.get("/readyz").json["warnings"] == []
