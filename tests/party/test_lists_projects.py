"""Projects (项目清单), 评单 and 微心愿 over HTTP: a project's timeline, ratings by residents (the SMS reply flow),
visits and member organisations feeding the points ledger, and a wish from claim to confirmation."""

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kernel.clock import utcnow
from kernel.extensions import db
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from tests.support.http import assert_error
from tests.support.lists import NEEDS, PROJECTS, RESOURCES, Lists, build_lists
from tests.support.tasks import RESIDENT_PHONE

TOKEN = "aliyun-callback-token-0123456789"
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def lists(app, world, make_account, auth, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CALLBACK_TOKENS", {"aliyun": TOKEN})
    yield from build_lists(app, world, make_account, auth)


def taken_by_the_street(lists: Lists, **need_fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A published need of the alliance taken by the 大工委 (lead_staff), the worker's member working on it."""
    need = lists.need(**need_fields)
    lists.act(need, "publish", "supervisor")
    project = lists.act(
        need,
        "take",
        "lead_staff",
        201,
        org_id=lists.org("street"),
        worker_ids=[lists.members["worker"]],
        milestones=[{"title": "采购扶手", "due_on": "2026-12-15"}],
    )
    return need, project


def my_points(lists: Lists, who: str = "worker") -> list[tuple[str, int]]:
    ledger = lists.ok(lists.get("/api/v1/party/me/points", who))
    return [(line["rule_code"], line["points"]) for line in ledger["items"]]


def deliver_sms(app) -> None:
    """What the delivery worker would do: every pending SMS handed to the provider."""
    with app.app_context():
        rows = db.session.scalars(
            select(Notification).where(Notification.medium == Medium.SMS, Notification.status == DeliveryStatus.PENDING)
        ).all()
        for row in rows:
            row.status, row.sent_at, row.provider_id = DeliveryStatus.SENT, utcnow(), f"prov-{row.id}"
        db.session.commit()


def sms_reply(lists: Lists, text: str) -> None:
    item = {
        "phone_number": RESIDENT_PHONE,
        "send_time": utcnow().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        "content": text,
        "sign_name": "网格治理",
        "dest_code": "1234",
        "sequence_id": 1,
    }
    response = lists.client.post(f"/api/v1/hooks/sms/aliyun?token={TOKEN}", json=[item])
    assert response.status_code == 200, response.get_data(as_text=True)


# --- a project's life -------------------------------------------------------------------------------------


def test_a_project_runs_from_opening_to_done_on_its_timeline(lists):
    need, project = taken_by_the_street(lists)
    assert (project["status"], project["owner_org_id"]) == ("planned", lists.org("street"))
    photo = lists.upload("lead_staff")
    milestone = project["milestones"][0]["id"]
    progressed = lists.ok(
        lists.post(
            f"{PROJECTS}/{project['id']}/progress",
            "lead_staff",
            note="扶手已采购",
            photo_ids=[photo],
            milestone_id=milestone,
        )
    )
    assert progressed["status"] == "under_way"
    assert progressed["photo_ids"] == [photo] and progressed["milestones"][0]["done_at"] is not None
    done = lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="三栋楼扶手装好"))
    assert done["status"] == "done"
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "supervisor"))["status"] == "met"
    timeline = lists.ok(lists.get(f"{PROJECTS}/{project['id']}/timeline", "supervisor"))["items"]
    assert [event["action"] for event in timeline] == ["open", "progress", "complete"]
    actions = [e["action"] for e in lists.ok(lists.get(f"{NEEDS}/{need['id']}/events", "admin"))["items"]]
    assert actions == ["raise", "publish", "take", "meet"]


@pytest.mark.parametrize(("who", "status"), [("school_staff", 403), ("worker", 403), ("far_staff", 404)])
def test_only_the_owner_or_a_dispatcher_records_progress(lists, who, status):
    _, project = taken_by_the_street(lists)
    response = lists.post(f"{PROJECTS}/{project['id']}/progress", who, note="我来记录一下")
    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("supervisor", 200),
        ("lead_staff", 200),
        ("school_staff", 200),
        ("far_supervisor", 404),
        ("far_staff", 404),
    ],
)
def test_who_reads_a_project(lists, who, status):
    _, project = taken_by_the_street(lists)
    assert lists.get(f"{PROJECTS}/{project['id']}", who).status_code == status


def test_abandoning_releases_the_reservations_and_opens_the_need_again(lists):
    resource = lists.resource()
    need = lists.need()
    lists.act(need, "publish", "supervisor")
    project = lists.act(
        need,
        "take",
        "hospital_staff",
        201,
        org_id=lists.org("hospital"),
        resources=[{"resource_id": resource["id"], "amount": 6000}],
    )
    assert lists.ok(lists.get(f"{RESOURCES}/{resource['id']}", "hospital_staff"))["remaining"] == 4000
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/abandon", "hospital_staff", reason="资金另有安排"))
    assert lists.ok(lists.get(f"{RESOURCES}/{resource['id']}", "hospital_staff"))["remaining"] == 10000
    again = lists.ok(lists.get(f"{NEEDS}/{need['id']}", "supervisor"))
    assert (again["status"], again["owner_org_id"]) == ("open", None)
    refused = lists.post(f"{PROJECTS}/{project['id']}/complete", "hospital_staff", note="其实做完了")
    assert_error(refused, 409, "invalid_transition")


def test_a_reservation_past_the_capacity_is_409_and_keeps_nothing(lists):
    resource = lists.resource(capacity=100)
    need = lists.need()
    lists.act(need, "publish", "supervisor")
    response = lists.post(
        f"{NEEDS}/{need['id']}/take",
        "hospital_staff",
        org_id=lists.org("hospital"),
        resources=[{"resource_id": resource["id"], "amount": 101}],
    )
    assert assert_error(response, 409, "conflict")["details"]["resources"] == [f"{resource['id']}: 100 left, 101 asked"]
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}", "supervisor"))["status"] == "published"
    assert lists.ok(lists.get(f"{RESOURCES}/{resource['id']}", "hospital_staff"))["reserved"] == 0


# --- resources --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("hospital_staff", 201), ("admin", 201), ("school_staff", 403), ("supervisor", 403), ("worker", 403)],
)
def test_a_resource_is_offered_by_whoever_acts_for_its_organisation(lists, who, status):
    response = lists.post(
        RESOURCES,
        who,
        kind="venue",
        description="医院会议室",
        capacity=40,
        unit="hours/month",
        grid_id=lists.unit("S1"),
        owner_org_id=lists.org("hospital"),
    )
    assert response.status_code == status, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("hospital_staff", 200),
        ("lead_staff", 200),
        ("supervisor", 200),
        ("community_supervisor", 200),
        ("far_supervisor", 404),
        ("far_staff", 404),
    ],
)
def test_who_reads_a_resource(lists, who, status):
    resource = lists.resource(alliance_id=str(lists.alliance_id))
    assert lists.get(f"{RESOURCES}/{resource['id']}", who).status_code == status


# --- 评单 ---------------------------------------------------------------------------------------------------


def test_a_residents_sms_rating_of_a_promoted_ticket_rates_the_project_and_earns_points(app, lists):
    ticket = lists.world.in_progress()
    need, project = taken_by_the_street(lists, ticket_ids=[ticket["id"]])
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="扶手装好了"))
    lists.world.act("worker", ticket, "resolve", note="已通过联合体项目解决")
    deliver_sms(app)
    sms_reply(lists, "5")
    (rating,) = lists.ok(lists.get(f"{NEEDS}/{need['id']}/ratings", "supervisor"))["items"]
    assert (rating["source"], rating["rating"], rating["ticket_id"]) == ("resident", 5, ticket["id"])
    assert ("project_rated_good", 5) in my_points(lists)
    assert lists.ok(lists.get(f"{NEEDS}/{need['id']}/events", "admin"))["items"][-1]["action"] == "rate"


def test_a_supervisors_visit_rating_of_4_earns_the_workers_points_once(lists):
    need, project = taken_by_the_street(lists)
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="扶手装好了"))
    assert lists.act(need, "ratings", "supervisor", 201, rating=4, comment="回访满意")["source"] == "visit"
    lists.act(need, "ratings", "community_supervisor", 201, rating=5)
    assert my_points(lists).count(("project_rated_good", 5)) == 1


def test_a_poor_rating_earns_nothing(lists):
    need, project = taken_by_the_street(lists)
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="扶手装好了"))
    lists.act(need, "ratings", "supervisor", 201, rating=2)
    assert my_points(lists) == []


def test_member_organisations_rate_the_owner_once_each(lists):
    need, project = taken_by_the_street(lists)
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="扶手装好了"))
    rated = lists.act(need, "ratings", "hospital_staff", 201, rating=5, org_id=lists.org("hospital"))
    assert (rated["source"], rated["rater_org_id"]) == ("member_org", lists.org("hospital"))
    again = lists.post(f"{NEEDS}/{need['id']}/ratings", "hospital_staff", rating=4, org_id=lists.org("hospital"))
    assert_error(again, 409, "conflict")


def test_the_owner_does_not_rate_itself(lists):
    need, project = taken_by_the_street(lists)
    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "lead_staff", note="扶手装好了"))
    response = lists.post(f"{NEEDS}/{need['id']}/ratings", "lead_staff", rating=5, org_id=lists.org("street"))
    assert_error(response, 403, "forbidden")


def test_a_need_is_rated_only_once_met(lists):
    need, _ = taken_by_the_street(lists)
    response = lists.post(f"{NEEDS}/{need['id']}/ratings", "supervisor", rating=5)
    assert_error(response, 409, "invalid_transition")


# --- 微心愿 -------------------------------------------------------------------------------------------------


def test_a_wishs_resident_is_shown_only_to_its_dispatchers(lists):
    wish = lists.wish()
    assert lists.ok(lists.get(f"{NEEDS}/{wish['id']}", "community_supervisor"))["resident"] == {
        "name": "王小明",
        "phone": "139****2222",
    }
    seen_by_member = lists.ok(lists.get(f"{NEEDS}/{wish['id']}", "worker"))
    assert seen_by_member["resident"] is None
    assert "王小明" not in str(seen_by_member) and "13900002222" not in str(seen_by_member)


@pytest.mark.parametrize(
    "fields",
    [{"title": "王小明想要一个新书包"}, {"description": "请联系 13900002222"}, {"description": "联系 13811112222"}],
)
def test_a_wishs_public_text_never_shows_a_name_or_a_phone(lists, fields):
    response = lists.post(
        NEEDS,
        "community_supervisor",
        kind="wish",
        category="education",
        grid_id=lists.unit("G1a"),
        resident={"name": "王小明", "phone": "13900002222"},
        **{"title": "想要一个新书包", "description": "书包坏了", **fields},
    )
    assert assert_error(response, 422, "validation_error")["details"].keys() == {next(iter(fields))}


def test_a_wish_is_claimed_fulfilled_and_confirmed_with_points(lists):
    wish = lists.wish()
    assert lists.ok(lists.get(f"{NEEDS}/{wish['id']}", "worker"))["allowed_actions"] == ["claim"]
    claimed = lists.act(wish, "claim", "worker")
    assert (claimed["status"], claimed["claimed_by_member_id"]) == ("claimed", lists.members["worker"])
    assert_error(lists.post(f"{NEEDS}/{wish['id']}/claim", "volunteer"), 409, "invalid_transition")
    assert_error(
        lists.post(f"{NEEDS}/{wish['id']}/fulfil", "worker", note="送去了新书包", photo_ids=[]), 422, "validation_error"
    )
    photo = lists.upload("worker")
    fulfilled = lists.act(wish, "fulfil", "worker", note="送去了新书包", photo_ids=[photo])
    assert (fulfilled["status"], fulfilled["photo_ids"]) == ("fulfilled", [photo])
    assert lists.get(f"/api/v1/attachments/{photo}", "community_supervisor").status_code == 200
    confirmed = lists.act(wish, "confirm", "community_supervisor", note="社区已回访确认")
    assert (confirmed["status"], confirmed["met_at"] is not None) == ("met", True)
    assert my_points(lists) == [("wish_fulfilled", 3)]


@pytest.mark.parametrize(("who", "status"), [("other_worker", 403), ("far_worker", 404), ("supervisor", 403)])
def test_a_wish_is_claimed_only_by_a_party_member_over_it(lists, who, status):
    wish = lists.wish()
    response = lists.post(f"{NEEDS}/{wish['id']}/claim", who)
    assert response.status_code == status, response.get_data(as_text=True)


@pytest.mark.parametrize(("who", "status"), [("volunteer", 403), ("far_supervisor", 404), ("worker", 403)])
def test_only_the_claimer_fulfils_and_the_community_confirms(lists, who, status):
    wish = lists.wish()
    lists.act(wish, "claim", "worker")
    if who == "worker":  # the claimer cannot confirm their own wish
        lists.act(wish, "fulfil", "worker", note="送去了新书包", photo_ids=[lists.upload("worker")])
        response = lists.post(f"{NEEDS}/{wish['id']}/confirm", who)
    else:
        response = lists.post(
            f"{NEEDS}/{wish['id']}/fulfil",
            who,
            note="我也送了",
            photo_ids=[lists.upload(who)] if who != "far_supervisor" else ["1"],
        )
    assert response.status_code == status, response.get_data(as_text=True)
