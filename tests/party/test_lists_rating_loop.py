"""评单 by SMS: when a need's project is done the residents behind its tickets are asked to rate it, their replies
(through the SMS callback) rate the project, a poor rating reaches the supervisors, and good ratings earn the
owner organisation its own points beside its members' (the organisation ledger and the rankings).

The worked example of points (rules as seeded: `project_rated_good` 5 per worker once per project,
`project_org_rated_good` 2 per good rating to the owner organisation): the 大工委's project, 李网格员 (C1's branch)
working on it, is rated 5 by resident A (by SMS), 4 by resident B (by SMS), 5 by the hospital and 2 by a visit.
李网格员 earns 5 once; the 大工委 earns 2 + 2 + 2 = 6 of its own; the visit's 2 earns nothing and reaches the
street supervisor's inbox.
"""

import itertools
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kernel.clock import utcnow
from kernel.extensions import db
from notifications.outbox.models import DeliveryStatus, Notification
from notifications.outbox.service import text_of
from tests.party.test_lists_projects import TOKEN, deliver_sms, my_points, taken_by_the_street
from tests.support.http import assert_error
from tests.support.lists import MOMENT, NEEDS, PROJECTS, Lists, build_lists
from tests.support.notify import later, run_once, travel_to
from tests.support.tasks import RESIDENT_PHONE

BEIJING = ZoneInfo("Asia/Shanghai")
NEIGHBOUR_PHONE = "13800005555"
ASK = "sms_project_rate_request"
REPLIES = "/api/v1/hooks/sms/inbound"
SUMMARY = "/api/v1/party/stats/summary"
SEQUENCE = itertools.count(1)


@pytest.fixture
def lists(app, world, make_account, auth, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CALLBACK_TOKENS", {"aliyun": TOKEN})
    yield from build_lists(app, world, make_account, auth)


def reply(lists: Lists, text: str, phone: str = RESIDENT_PHONE) -> dict[str, Any]:
    """The resident's SMS through Aliyun's callback; what became of it (the admins' list of replies)."""
    item = {
        "phone_number": phone,
        "send_time": utcnow().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        "content": text,
        "sign_name": "网格治理",
        "dest_code": "1234",
        "sequence_id": next(SEQUENCE),  # each reply its own: the provider's dedup key
    }
    response = lists.client.post(f"/api/v1/hooks/sms/aliyun?token={TOKEN}", json=[item])
    assert response.status_code == 200, response.get_data(as_text=True)
    return lists.ok(lists.get(REPLIES, "admin"))["items"][0]


def asks(app) -> list[tuple[str, str, str]]:
    """(phone, ticket id, text) of each rating ask in the outbox."""
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.template == ASK).order_by(Notification.id))
        return [(row.recipient_phone, str(row.ticket_id), text_of(row)) for row in rows]


def done_project(lists: Lists, tickets: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    need, project = taken_by_the_street(lists, ticket_ids=[ticket["id"] for ticket in tickets])
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="扶手装好了"))
    return need, project


def two_residents(lists: Lists) -> list[dict[str, Any]]:
    """Tickets in progress from resident A (two of them) and resident B."""
    return [
        lists.world.in_progress(),
        lists.world.in_progress(reporter={"name": "张大妈", "phone": RESIDENT_PHONE}, description="楼道没有扶手"),
        lists.world.in_progress(reporter={"name": "赵大爷", "phone": NEIGHBOUR_PHONE}, description="上楼太难"),
    ]


# --- asking ---------------------------------------------------------------------------------------------------


def test_a_done_project_asks_each_residents_phone_once_naming_a_ticket(app, lists):
    tickets = two_residents(lists)
    done_project(lists, tickets)
    sent = asks(app)
    assert [(phone, ticket) for phone, ticket, _ in sent] == [
        (RESIDENT_PHONE, tickets[0]["id"]),
        (NEIGHBOUR_PHONE, tickets[2]["id"]),
    ]
    assert sent[0][2] == (
        f"您的工单{tickets[0]['no']}（当前状态：处理中）所反映的问题已纳入项目“老旧小区加装楼道扶手”，该项目现已完成。"
        f"请回复工单号和数字1-5评价该项目，如：{tickets[0]['no']} 5（5非常满意，1非常不满意）。"
    )


def test_the_ask_is_on_the_projects_timeline(lists):
    _, project = done_project(lists, two_residents(lists))
    timeline = lists.ok(lists.get(f"{PROJECTS}/{project['id']}/timeline", "lead_staff"))["items"]
    assert [(event["action"], event["details"]) for event in timeline[-2:]] == [
        ("complete", {}),
        ("rating_requested", {"residents": 2}),
    ]


def test_a_need_raised_by_staff_asks_nobody(app, lists):
    done_project(lists, [])
    assert asks(app) == []


def test_the_ask_waits_for_the_end_of_quiet_hours_like_the_tickets_sms(app, lists):
    done_project(lists, [lists.world.in_progress()])
    travel_to(MOMENT.replace(hour=15))  # 23:00 in Beijing
    run_once(app)
    with app.app_context():
        row = db.session.scalars(select(Notification).where(Notification.template == ASK)).one()
        assert (row.status, row.next_attempt_at.astimezone(BEIJING).hour) == (DeliveryStatus.PENDING, 7)
        assert row.last_error.startswith("quiet hours")


# --- replies --------------------------------------------------------------------------------------------------


def test_a_reply_naming_the_ticket_rates_the_project(app, lists):
    tickets = two_residents(lists)
    need, project = done_project(lists, tickets)
    deliver_sms(app)
    kept = reply(lists, f"{tickets[0]['no']} 5")
    assert (kept["status"], kept["outcome"], kept["ticket_id"], kept["rating"]) == (
        "matched",
        "rated_asked",
        tickets[0]["id"],
        5,
    )
    (rating,) = lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"]
    assert (rating["source"], rating["rating"], rating["ticket_id"]) == ("resident", 5, tickets[0]["id"])
    shown = lists.ok(lists.get(f"{PROJECTS}/{project['id']}", "supervisor"))
    assert (shown["rating_count"], shown["rating_average"]) == (1, 5.0)
    assert lists.world.get("supervisor", tickets[0]).get_json()["status"] == "in_progress"  # the ticket unmoved


def test_a_bare_digit_rates_the_one_project_that_asked(app, lists):
    tickets = two_residents(lists)
    need, _ = done_project(lists, tickets)
    deliver_sms(app)
    kept = reply(lists, "4", phone=NEIGHBOUR_PHONE)
    assert (kept["status"], kept["ticket_id"]) == ("matched", tickets[2]["id"])
    (rating,) = lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"]
    assert (rating["rating"], rating["ticket_id"]) == (4, tickets[2]["id"])


def test_a_second_reply_is_kept_as_ignored_with_the_reason(app, lists):
    tickets = two_residents(lists)
    need, _ = done_project(lists, tickets)
    deliver_sms(app)
    reply(lists, f"{tickets[0]['no']} 5")
    kept = reply(lists, f"{tickets[0]['no']} 1")
    assert (kept["status"], kept["reason"]) == ("ignored", "the project has already been rated for this ticket")
    assert len(lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"]) == 1


def test_a_ticket_awaiting_its_own_rating_takes_a_bare_digit_first(app, lists):
    """Precedence: the ticket's own rating first (and, the ticket being the need's, it rates the project too)."""
    ticket = lists.world.in_progress()
    need, _ = done_project(lists, [ticket])
    lists.world.act("worker", ticket, "resolve", note="已通过联合体项目解决")
    deliver_sms(app)
    kept = reply(lists, "5")
    assert (kept["status"], kept["outcome"]) == ("matched", "rated")
    assert lists.world.get("supervisor", ticket).get_json()["status"] == "closed"
    (rating,) = lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"]
    assert (rating["rating"], rating["ticket_id"]) == (5, ticket["id"])


def test_another_ticket_awaiting_its_rating_takes_the_digit_and_the_number_names_the_project(app, lists):
    promoted = lists.world.in_progress()
    need, _ = done_project(lists, [promoted])
    other = lists.world.resolved(description="路灯不亮")  # the same phone, a ticket of its own awaiting a rating
    deliver_sms(app)
    assert reply(lists, "3")["ticket_id"] == other["id"]
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"] == []
    assert reply(lists, f"{promoted['no']} 4")["outcome"] == "rated_asked"
    assert len(lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"]) == 1


def test_two_projects_asking_one_phone_need_the_ticket_number(app, lists):
    first, second = lists.world.in_progress(), lists.world.in_progress(description="井盖松动")
    done_project(lists, [first])
    done_project(lists, [second])
    deliver_sms(app)
    kept = reply(lists, "5")
    assert (kept["status"], kept["reason"].split(";")[0]) == (
        "unmatched",
        "2 rating requests reached this phone lately",
    )


def test_a_reply_after_the_window_rates_nothing(app, lists):
    ticket = lists.world.in_progress()
    need, _ = done_project(lists, [ticket])
    deliver_sms(app)
    later(timedelta(hours=int(app.config["SMS_REPLY_WINDOW_HOURS"]) + 1))
    assert reply(lists, f"{ticket['no']} 5")["status"] == "ignored"
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"] == []


def test_a_poor_rating_is_flagged_on_the_need_and_sent_to_the_supervisors(app, lists):
    ticket = lists.world.in_progress()
    need, _ = done_project(lists, [ticket])
    deliver_sms(app)
    reply(lists, f"{ticket['no']} 2")
    event = lists.ok(lists.get(f"{NEEDS}/{need['id']}/events", "admin"))["items"][-1]
    assert (event["action"], event["details"]["poor"], event["details"]["via"]) == ("rate", True, "sms")
    inbox = lists.ok(lists.get("/api/v1/notifications/me", "community_supervisor"))["items"]
    assert [item["text"] for item in inbox] == ["项目“老旧小区加装楼道扶手”获评2分（居民评价），请关注并回访：-"]
    assert lists.ok(lists.get("/api/v1/notifications/me", "supervisor"))["items"] == []  # the nearest only


# --- organisation points ----------------------------------------------------------------------------------------


def worked_example(app, lists: Lists) -> dict[str, Any]:
    tickets = two_residents(lists)
    need, _ = done_project(lists, tickets)
    deliver_sms(app)
    reply(lists, f"{tickets[0]['no']} 5")
    reply(lists, "4", phone=NEIGHBOUR_PHONE)
    lists.act(need, "ratings", "hospital_staff", 201, rating=5, org_id=lists.org("hospital"))
    lists.act(need, "ratings", "supervisor", 201, rating=2, comment="回访：扶手有些松")
    return need


def test_the_worked_example_of_points(app, lists):
    worked_example(app, lists)
    assert my_points(lists) == [("project_rated_good", 5)]
    ledger = lists.ok(lists.get(f"/api/v1/party/orgs/{lists.org('street')}/points", "lead_staff"))
    assert [
        (line["rule_code"], line["points"], line["running_total"], line["member_id"]) for line in ledger["items"]
    ] == [
        ("project_org_rated_good", 2, 2, None),
        ("project_org_rated_good", 2, 4, None),
        ("project_org_rated_good", 2, 6, None),
    ]
    assert (ledger["total"], ledger["brought_forward"], ledger["members_points"]) == (6, 0, 0)
    c1 = lists.ok(lists.get(f"/api/v1/party/orgs/{lists.org('c1')}/points", "lead_staff"))
    assert (c1["total"], c1["members_points"], c1["items"]) == (0, 5, [])


def test_the_rankings_count_the_organisations_own_points(app, lists):
    worked_example(app, lists)
    body = lists.ok(lists.get("/api/v1/party/rankings", "lead_staff", period="month"))
    orgs = {item["name"]: (item["rank"], item["points"]) for item in body["orgs"]}
    assert (orgs["S1大工委"], orgs["C1党支部"]) == ((1, 6), (2, 5))
    assert [(item["name"], item["points"]) for item in body["members"] if item["points"]] == [("李网格员", 5)]


def test_the_summary_shows_the_residents_ratings_and_counts_organisation_points_as_awarded(app, lists):
    worked_example(app, lists)
    body = lists.ok(
        lists.get(SUMMARY, "supervisor", grid_id=lists.unit("S1"), **{"from": "2026-12-01", "to": "2026-12-31"})
    )
    # residents: A's 5, B's 4 and the visit's 2; member organisations: the hospital's 5
    assert body["ratings"]["residents"]["count"] == 3
    assert body["ratings"]["residents"]["average"] == pytest.approx(11 / 3, abs=0.01)
    assert body["ratings"]["member_orgs"] == {"count": 1, "average": 5.0}
    assert body["points"] == {"awarded": 11, "deducted": 0, "net": 11, "members": 1}


def test_the_organisation_rule_is_capped_per_month(app, lists):
    with app.app_context():
        from party.points import service as points

        points.update_rule("project_org_rated_good", {"monthly_cap": 3})
        db.session.commit()
    worked_example(app, lists)
    ledger = lists.ok(lists.get(f"/api/v1/party/orgs/{lists.org('street')}/points", "admin"))
    assert [line["points"] for line in ledger["items"]] == [2, 1]


def test_an_organisations_own_entry_is_not_disputed(app, lists):
    worked_example(app, lists)
    ledger = lists.ok(lists.get(f"/api/v1/party/orgs/{lists.org('street')}/points", "admin"))
    entry = ledger["items"][0]["id"]
    response = lists.post(f"/api/v1/party/points/{entry}/disputes", "lead_staff", reason="组织积分有误")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("lead_staff", 200),  # party staff over the 大工委
        ("supervisor", 200),  # the street's supervisor: organisations built on S1 and below
        ("hospital_staff", 404),  # party staff of another organisation
        ("far_staff", 404),
        ("far_supervisor", 404),
        ("worker", 403),
        ("volunteer", 403),
    ],
)
def test_who_reads_an_organisations_ledger(lists, who, status):
    response = lists.get(f"/api/v1/party/orgs/{lists.org('street')}/points", who)
    assert response.status_code == status, response.get_data(as_text=True)
    if status != 200:
        assert_error(response, status, "not_found" if status == 404 else "forbidden")


def test_an_organisations_ledger_needs_a_token(lists):
    assert_error(lists.client.get(f"/api/v1/party/orgs/{lists.org('street')}/points"), 401, "unauthorized")


def test_an_organisations_ledger_refuses_to_before_from(lists):
    response = lists.get(
        f"/api/v1/party/orgs/{lists.org('street')}/points", "admin", **{"from": "2026-12-10", "to": "2026-12-01"}
    )
    assert_error(response, 422, "validation_error")


def test_an_organisations_ledger_brings_forward_what_came_before(app, lists):
    worked_example(app, lists)
    ledger = lists.ok(lists.get(f"/api/v1/party/orgs/{lists.org('street')}/points", "admin", **{"from": "2026-12-11"}))
    assert (ledger["brought_forward"], ledger["total"], ledger["items"], ledger["members_points"]) == (6, 6, [], 0)


@pytest.mark.parametrize("bounds", [{"to": "9999-12-31"}, {"from": "0001-01-01"}])
def test_ledgers_answer_days_past_the_calendar_with_422(lists, bounds):
    """A day whose Beijing midnight is past what a date can hold is bad input, not a server error."""
    org = lists.get(f"/api/v1/party/orgs/{lists.org('street')}/points", "admin", **bounds)
    assert_error(org, 422, "validation_error")
    worker = lists.members["worker"]
    member = lists.get(f"/api/v1/party/members/{worker}/points", "admin", **bounds)
    assert_error(member, 422, "validation_error")
