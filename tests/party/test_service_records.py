"""双报到 service records: from tickets a checked-in member resolves in their community and activities they attend,
their hours and the `service.hours` points, withdrawals and counter-entries, the yearly summary, and the workbook
reported back to the work unit. The arrangement is tests/support/checkins.py."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kernel import clock, events
from kernel.extensions import db
from party.activities.events import AttendanceChanged
from party.checkins.models import ServiceRecord
from party.points.models import PointEntry
from tests.support.checkins import CHECK_INS, build_party
from tests.support.http import assert_error, bearer

# 10:00 in Beijing on 10 December 2026: one Beijing-time month and year.
MOMENT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
EXPORT = "/api/v1/exports/party-service.xlsx"


@pytest.fixture
def party(app, world, make_account, auth) -> Any:
    clock.travel(MOMENT - datetime.now(UTC))
    yield build_party(app, world, make_account, auth)
    clock.travel(timedelta(0))


@pytest.fixture
def teacher(party) -> dict[str, Any]:
    """The teacher checked in with C1, logged in to the volunteer account opened for them."""
    decision = party.confirm(party.register("teacher"), "community_supervisor")
    login = party.client.post("/api/v1/auth/login", json=decision["credentials"]).get_json()
    party.headers["teacher"] = bearer(login["access_token"])
    party.world.headers["teacher"] = party.headers["teacher"]
    return decision["check_in"]


def claimed_and_resolved(party, who: str = "teacher", unit: str = "G1b") -> dict[str, Any]:
    world = party.world
    ticket = world.ticket("far_supervisor" if unit == "G2a" else "supervisor", grid_id=str(world.tree[unit].id))
    world.act(who, ticket, "claim")
    return world.act(who, ticket, "resolve", note="已清运")


def records_of(party, check_in: dict[str, Any], who: str = "admin") -> list[dict[str, Any]]:
    response = party.get(f"{CHECK_INS}/{check_in['id']}/records", who)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def service_entries(app) -> list[tuple[int, str | None, int | None]]:
    with app.app_context():
        # in the order written (PostgreSQL returns an unordered select's rows in whatever order it finds them)
        entries = db.session.scalars(
            select(PointEntry).where(PointEntry.rule_code == "service_hours").order_by(PointEntry.id)
        )
        return [(entry.points, entry.source_type, entry.corrects_id) for entry in entries.all()]


def attend(app, activity_id: int, added: tuple[int, ...], removed: tuple[int, ...] = (), hours: str = "2") -> None:
    """What the activities sub-package publishes when attendance is recorded or corrected."""
    with app.test_request_context():
        events.publish(
            AttendanceChanged(
                activity_id=activity_id,
                org_id=1,
                kind="service",
                title="重阳节敬老服务",
                held_at=MOMENT - timedelta(days=1),
                hours=Decimal(hours),
                present_added=added,
                present_removed=removed,
            )
        )
        db.session.commit()


# --- tickets -----------------------------------------------------------------------------------------


def test_a_ticket_the_member_claims_and_resolves_in_the_community_is_a_record_with_points(app, party, teacher):
    ticket = claimed_and_resolved(party)
    [record] = records_of(party, teacher)
    assert (record["kind"], record["source_id"], record["title"]) == ("ticket", ticket["id"], f"工单 {ticket['no']}")
    assert (record["hours"], record["rating"], record["withdrawn_at"]) == ("1.00", None, None)
    assert record["member_id"] == party.members["teacher"]
    assert service_entries(app) == [(1, "service", None)]


def test_a_reopen_withdraws_the_record_and_takes_its_points_back(app, party, teacher):
    ticket = claimed_and_resolved(party)
    party.world.act("supervisor", ticket, "feedback", rating=1, channel="sms")  # 1–2 reopens
    [record] = records_of(party, teacher)
    assert record["withdrawn_at"] is not None and record["withdrawn_reason"] == "工单被重新打开"
    with app.app_context():
        first = db.session.scalars(select(PointEntry.id).where(PointEntry.rule_code == "service_hours")).first()
    assert service_entries(app) == [(1, "service", None), (-1, "service", first)]
    party.world.act("teacher", ticket, "resolve", note="已重新清运")
    assert [item["withdrawn_at"] is None for item in records_of(party, teacher)] == [False, True]
    assert [points for points, _, _ in service_entries(app)] == [1, -1, 1]


def test_a_rated_close_writes_the_residents_rating_on_the_record(party, teacher):
    ticket = claimed_and_resolved(party)
    party.world.act("supervisor", ticket, "feedback", rating=5, channel="sms")
    assert records_of(party, teacher)[0]["rating"] == 5


def test_a_ticket_outside_the_community_is_no_service_record(app, party):
    party.checked_in("volunteer")  # far_volunteer, checked in with C1, volunteer of C2 too
    claimed_and_resolved(party, "far_volunteer", "G2a")  # in C2: their own volunteering, not 双报到
    assert records_of(party, {"id": party.get(CHECK_INS).get_json()["items"][0]["id"]}) == []
    assert service_entries(app) == []


def test_a_workers_dispatched_ticket_is_their_job_not_service(app, party):
    with app.app_context():  # the worker lives in C1 now, where their cells are
        from party.members.models import PartyMember

        db.session.get(PartyMember, int(party.members["worker"])).home_grid_id = party.world.tree["G1b"].id
        db.session.commit()
    check_in = party.checked_in("worker")
    party.world.resolved("worker")  # dispatched in G1a, accepted, resolved
    assert records_of(party, check_in) == []
    claimed_and_resolved(party, "worker", "G1b")  # claimed as a volunteer: service
    assert len(records_of(party, check_in)) == 1


def test_a_resolution_before_confirmation_or_after_the_end_is_no_record(app, party):
    check_in = party.register("volunteer")
    claimed = party.world.ticket("far_supervisor", grid_id=str(party.world.tree["G2a"].id))
    party.confirm(check_in)
    party.end(check_in)
    party.world.act("far_volunteer", claimed, "claim")
    party.world.act("far_volunteer", claimed, "resolve", note="已办")
    assert records_of(party, check_in) == []


def test_the_hours_per_ticket_are_configurable(app, party, teacher):
    app.config["PARTY_SERVICE_HOURS_PER_TICKET"] = Decimal("2.5")
    try:
        claimed_and_resolved(party)
    finally:
        app.config["PARTY_SERVICE_HOURS_PER_TICKET"] = Decimal("1")
    assert records_of(party, teacher)[0]["hours"] == "2.50"
    assert service_entries(app) == [(2, "service", None)]  # 1 point an hour, rounded down


# --- activities ------------------------------------------------------------------------------------


def test_attending_an_activity_is_a_record_of_its_hours(app, party, teacher):
    far = int(party.members["far"])  # no check-in: nothing
    attend(app, 41, (int(party.members["teacher"]), far), hours="1.5")
    [record] = records_of(party, teacher)
    assert (record["kind"], record["source_id"], record["hours"], record["title"]) == (
        "activity",
        "41",
        "1.50",
        "重阳节敬老服务",
    )
    assert service_entries(app) == [(1, "service", None)]
    attend(app, 41, (int(party.members["teacher"]),))  # recorded again: still one record
    assert len(records_of(party, teacher)) == 1


def test_a_withdrawn_attendance_withdraws_the_record_and_its_points(app, party, teacher):
    member = int(party.members["teacher"])
    attend(app, 41, (member,))
    attend(app, 41, (), (member,))
    [record] = records_of(party, teacher)
    assert record["withdrawn_reason"] == "出勤记录更正"
    assert [points for points, _, _ in service_entries(app)] == [2, -2]


def test_the_service_hours_rule_is_capped_by_the_month(app, party, teacher):
    member = int(party.members["teacher"])
    for activity in range(3):
        attend(app, 100 + activity, (member,), hours="8")  # 8 + 8 + 4 (the cap of 20)
    assert [points for points, _, _ in service_entries(app)] == [8, 8, 4]


# --- reading records and the yearly summary ----------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [
    ("staff", 200), ("community_supervisor", 200), ("teacher", 200),
    ("far_staff", 404), ("far_supervisor", 404), ("worker", 404),
])  # fmt: skip
def test_records_are_read_by_whoever_reads_the_check_in(party, teacher, who, status):
    response = party.get(f"{CHECK_INS}/{teacher['id']}/records", who)
    assert response.status_code == status


def test_the_yearly_summary_adds_up_standing_records(app, party, teacher):
    first = claimed_and_resolved(party)
    claimed_and_resolved(party)
    party.world.act("supervisor", first, "feedback", rating=5, channel="sms")
    member = int(party.members["teacher"])
    attend(app, 41, (member,), hours="2")
    attend(app, 42, (member,), hours="3")
    attend(app, 42, (), (member,))  # withdrawn: not counted
    url = f"/api/v1/party/members/{party.members['teacher']}/service"
    summary = party.get(url, "staff", year=2026).get_json()
    c1 = str(party.world.tree["C1"].id)
    assert summary == {
        "member_id": party.members["teacher"],
        "year": 2026,
        "hours": "4.00",
        "records": 3,
        "rated": 1,
        "average_rating": "5.00",
        "by_kind": [
            {"key": "ticket", "name": "工单服务", "hours": "2.00", "records": 2},
            {"key": "activity", "name": "活动服务", "hours": "2.00", "records": 1},
        ],
        "by_community": [{"key": c1, "name": party.world.tree["C1"].name, "hours": "4.00", "records": 3}],
    }
    assert party.get(url, "teacher").get_json()["hours"] == "4.00"  # this year by default, the member themself
    assert party.get(url, year=2025).get_json()["records"] == 0


@pytest.mark.parametrize("who", ["far_staff", "far_supervisor", "worker"])
def test_the_summary_is_404_outside_the_readers_view(party, who):
    response = party.get(f"/api/v1/party/members/{party.members['teacher']}/service", who)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("year", ["1999", "abc", "2026.5"])
def test_a_bad_year_is_422(party, year):
    response = party.get(f"/api/v1/party/members/{party.members['teacher']}/service", year=year)
    assert "year" in assert_error(response, 422, "validation_error")["details"]


# --- 报到反馈 -----------------------------------------------------------------------------------------


def export_in_chinese(party: Any, who: str, **params: Any) -> Any:
    """The workbook as the work unit reads it: in Chinese."""
    headers = {**party.headers[who], "Accept-Language": "zh-CN"}
    return party.client.get(EXPORT, query_string=params, headers=headers)


def workbook_of(response: Any) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)
    return load_workbook(io.BytesIO(response.get_data()))


def test_the_work_unit_gets_its_members_check_ins_hours_and_ratings(app, party, teacher):
    ticket = claimed_and_resolved(party)
    party.world.act("supervisor", ticket, "feedback", rating=4, channel="sms")
    attend(app, 41, (int(party.members["teacher"]),), hours="2")
    unit = {"kind": "unit", "org_id": str(party.orgs["school"].id), "community_id": str(party.world.tree["C1"].id)}
    party.post(CHECK_INS, "staff", service_areas=["tutoring"], **unit)
    response = export_in_chinese(party, "staff", org_id=str(party.orgs["school"].id), year=2026)
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename=party-service.xlsx" in response.headers["Content-Disposition"]
    book = workbook_of(response)
    assert book.sheetnames == ["党员报到", "服务记录", "单位报到"]
    rows = list(book["党员报到"].values)
    assert rows[0][:4] == ("姓名", "所属党组织", "报到社区", "服务领域")
    assert rows[1][0] == "冯老师" and rows[1][3] == "环境整治、助老" and rows[1][4] == "已报到"
    assert rows[1][8:] == (2, 3, 1, 4)  # records, hours, rated, average rating
    assert [row[3] for row in list(book["服务记录"].values)[1:]] == ["参加活动", "认领工单"]
    assert list(book["单位报到"].values)[1][:5] == (
        "十三中党支部",
        "十三中党支部",
        party.world.tree["C1"].name,
        "助学",
        "待确认",
    )
    every_cell = " ".join(str(cell) for sheet in book for row in sheet.values for cell in row)
    assert "13900002222" not in every_cell and "139****2222" not in every_cell  # never a phone


def test_an_organisations_export_covers_its_subtree_only(party, teacher):
    party.checked_in("far")
    book = workbook_of(export_in_chinese(party, "supervisor", org_id=str(party.orgs["S1"].id)))
    assert [row[0] for row in list(book["党员报到"].values)[1:]] == ["冯老师"]


@pytest.mark.parametrize(("who", "status", "code"), [
    ("far_staff", 404, "not_found"), ("far_supervisor", 404, "not_found"),
    ("worker", 403, "forbidden"), ("volunteer", 403, "forbidden"),
])  # fmt: skip
def test_the_export_is_refused_outside_the_readers_scope(party, who, status, code):
    assert_error(party.get(EXPORT, who, org_id=str(party.orgs["school"].id)), status, code)


@pytest.mark.parametrize("query", [{}, {"org_id": "x"}, {"org_id": "1", "year": "1800"}])
def test_a_bad_export_query_is_422(party, query):
    assert_error(party.get(EXPORT, **query), 422, "validation_error")


def test_service_records_are_never_deleted(app, party, teacher):
    ticket = claimed_and_resolved(party)
    party.world.act("supervisor", ticket, "feedback", rating=2, channel="sms")
    with app.app_context():
        assert db.session.scalar(select(ServiceRecord.withdrawn_at)) is not None
