"""Hooks in, SMS: providers call back with residents' replies (a digit rates the resolved ticket, text is a
comment, anything unmatched is kept and answered) and with delivery reports (sent SMS become delivered or
failed). Each provider in its own format; wrong tokens, replays and stale callbacks change nothing."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from hooks.sms.models import SmsReply, SmsReport
from kernel.clock import utcnow
from kernel.extensions import db
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from tasks.tickets.models import Feedback
from tests.support.http import assert_error
from tests.support.tasks import RESIDENT_PHONE, build_world

TOKENS = {"aliyun": "aliyun-callback-token-0123456789", "tencent": "tencent-callback-token-987654", "http": "gw-tok-42"}
ALIYUN_ACK = {"code": 0, "msg": "接收成功"}
TENCENT_ACK = {"result": 0, "errmsg": "OK"}
BEIJING = ZoneInfo("Asia/Shanghai")
OTHER_PHONE = "13700001111"


@pytest.fixture
def world(app, client, tree, make_account, auth, categories, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CALLBACK_TOKENS", dict(TOKENS))
    return build_world(client, tree, make_account, auth)


def deliver(app) -> None:
    """What the delivery worker would do: every pending SMS handed to the provider (sent), with its id."""
    with app.app_context():
        rows = db.session.scalars(
            select(Notification).where(Notification.medium == Medium.SMS, Notification.status == DeliveryStatus.PENDING)
        ).all()
        for row in rows:
            row.status, row.sent_at, row.provider_id = DeliveryStatus.SENT, utcnow(), f"prov-{row.id}"
        db.session.commit()


def resolved(app, world, **fields: Any) -> dict[str, Any]:
    """A resolved ticket whose SMS (received, taken, resolved) all reached the reporter."""
    ticket = world.resolved(**fields)
    deliver(app)
    return ticket


def beijing_now(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(BEIJING) + delta).strftime("%Y-%m-%d %H:%M:%S")


def aliyun_reply(text: str, *, phone: str = RESIDENT_PHONE, sequence: int = 1, sent: str | None = None) -> dict:
    return {
        "phone_number": phone,
        "send_time": sent or beijing_now(),
        "content": text,
        "sign_name": "网格治理",
        "dest_code": "1234",
        "sequence_id": sequence,
    }


def post(world, path: str, body: Any, token: str | None = None, provider: str = "aliyun") -> Any:
    query = "" if token == "" else f"?token={token or TOKENS[provider]}"
    return world.client.post(f"/api/v1/hooks/sms/{provider}{path}{query}", json=body)


def reply(world, *items: dict, provider: str = "aliyun") -> Any:
    body: Any = items[0] if provider == "tencent" else list(items)
    response = post(world, "", body, provider=provider)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ticket_now(world, ticket: dict[str, Any]) -> dict[str, Any]:
    return world.get("admin", ticket).get_json()


def events(world, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    return world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["admin"]).get_json()[
        "items"
    ]


def inbound(world, **query: str) -> list[dict[str, Any]]:
    response = world.client.get("/api/v1/hooks/sms/inbound", query_string=query, headers=world.headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def outbox(app, **where: Any) -> list[Notification]:
    with app.app_context():
        rows = list(db.session.scalars(select(Notification).filter_by(**where).order_by(Notification.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- ratings -----------------------------------------------------------------------------------------------------


def test_a_digit_reply_of_5_closes_the_resolved_ticket_as_a_rating(app, world):
    ticket = resolved(app, world)
    assert reply(world, aliyun_reply("5")) == ALIYUN_ACK
    assert ticket_now(world, ticket)["status"] == "closed"
    closing = events(world, ticket)[-1]
    assert (closing["action"], closing["actor"], closing["details"]["rating"]) == ("close", None, 5)
    assert closing["details"]["feedback_channel"] == "sms"
    (kept,) = inbound(world)
    assert (kept["status"], kept["outcome"], kept["rating"], kept["ticket_id"]) == ("matched", "rated", 5, ticket["id"])
    assert kept["phone"] == "139****5678"


def test_a_digit_reply_of_1_reopens_the_ticket_through_tencent(app, world):
    ticket = resolved(app, world)
    body = {"extend": "", "mobile": RESIDENT_PHONE, "nationcode": "86", "sign": "网格治理", "text": "1"}
    assert reply(world, {**body, "time": int(datetime.now(UTC).timestamp())}, provider="tencent") == TENCENT_ACK
    now = ticket_now(world, ticket)
    assert (now["status"], now["reopen_count"]) == ("in_progress", 1)
    assert events(world, ticket)[-1]["action"] == "reopen"


@pytest.mark.parametrize("text", ["５", " 4。", "评分3", "3分"])
def test_a_digit_among_spaces_punctuation_or_full_width_still_rates(app, world, text):
    ticket = resolved(app, world)
    reply(world, aliyun_reply(text))
    assert ticket_now(world, ticket)["status"] == "closed"


def test_a_second_rating_is_kept_as_ignored_and_changes_nothing(app, world):
    ticket = resolved(app, world)
    reply(world, aliyun_reply("5", sequence=1))
    reply(world, aliyun_reply("1", sequence=2))
    assert ticket_now(world, ticket)["status"] == "closed"
    assert count(app, Feedback) == 1
    second, first = inbound(world)
    assert (second["status"], second["rating"], second["ticket_id"]) == ("ignored", 1, ticket["id"])
    assert "not awaiting a rating" in second["reason"]
    assert first["status"] == "matched"


def test_a_rating_already_recorded_by_a_supervisor_is_not_overwritten(app, world):
    ticket = resolved(app, world)
    world.act("supervisor", ticket, "feedback", rating=4, channel="visit")
    reply(world, aliyun_reply("1"))
    assert ticket_now(world, ticket)["status"] == "closed"
    assert inbound(world)[0]["status"] == "ignored"


def test_a_replayed_callback_changes_nothing(app, world):
    ticket = resolved(app, world)
    reply(world, aliyun_reply("1", sequence=77))
    reply(world, aliyun_reply("1", sequence=77))
    assert ticket_now(world, ticket)["reopen_count"] == 1
    assert count(app, SmsReply) == 1


def test_a_replayed_tencent_reply_without_an_id_changes_nothing(app, world):
    ticket = resolved(app, world)
    body = {
        "mobile": RESIDENT_PHONE,
        "nationcode": "86",
        "sign": "x",
        "text": "2",
        "time": int(datetime.now(UTC).timestamp()),
    }
    reply(world, body, provider="tencent")
    reply(world, body, provider="tencent")
    assert ticket_now(world, ticket)["reopen_count"] == 1 and count(app, SmsReply) == 1


def test_a_stale_callback_is_kept_as_ignored_and_changes_nothing(app, world):
    ticket = resolved(app, world)
    reply(world, aliyun_reply("5", sent=beijing_now(-timedelta(hours=25))))
    assert ticket_now(world, ticket)["status"] == "resolved"
    (kept,) = inbound(world)
    assert kept["status"] == "ignored" and kept["reason"].startswith("stale")


def test_a_reply_from_abroad_is_ignored(app, world):
    ticket = resolved(app, world)
    body = {"mobile": RESIDENT_PHONE, "nationcode": "852", "text": "5", "time": int(datetime.now(UTC).timestamp())}
    reply(world, body, provider="tencent")
    assert ticket_now(world, ticket)["status"] == "resolved"
    assert inbound(world)[0]["status"] == "ignored"


def test_a_rating_waits_for_the_resolved_sms_to_have_been_sent(app, world):
    ticket = world.resolved()  # the resolved SMS is still pending in the outbox
    reply(world, aliyun_reply("5"))
    assert ticket_now(world, ticket)["status"] == "resolved"
    assert inbound(world)[0]["status"] == "unmatched"


# --- the ticket number -------------------------------------------------------------------------------------------


def test_a_reply_naming_the_ticket_rates_it_when_two_await_a_rating(app, world):
    first, second = resolved(app, world), resolved(app, world)
    reply(world, aliyun_reply(f"{second['no']} 2"))
    assert ticket_now(world, second)["status"] == "in_progress"
    assert ticket_now(world, first)["status"] == "resolved"


def test_a_reply_naming_someone_elses_ticket_is_unmatched(app, world):
    ticket = resolved(app, world, reporter={"name": "李", "phone": OTHER_PHONE})
    resolved(app, world)
    reply(world, aliyun_reply(f"{ticket['no']} 5"))
    assert ticket_now(world, ticket)["status"] == "resolved"
    assert inbound(world)[0]["status"] == "unmatched"


# --- comments ----------------------------------------------------------------------------------------------------


def test_a_text_reply_is_a_comment_on_the_ticket_record(app, world):
    ticket = resolved(app, world)
    reply(world, aliyun_reply("垃圾还是没清走，请再来看看"))
    assert ticket_now(world, ticket)["status"] == "resolved"
    comment = events(world, ticket)[-1]
    assert (comment["action"], comment["actor"], comment["note"]) == ("sms_reply", None, "垃圾还是没清走，请再来看看")
    assert (comment["from_status"], comment["to_status"]) == ("resolved", "resolved")
    assert inbound(world)[0]["outcome"] == "commented"


def test_a_residents_comment_reaches_the_assignees_inbox(app, world):
    ticket = resolved(app, world)
    reply(world, aliyun_reply("垃圾还是没清走，请再来看看"))
    inbox = world.client.get("/api/v1/notifications/me", headers=world.headers["worker"]).get_json()["items"]
    comment = inbox[0]
    assert (comment["event"], comment["ticket_id"]) == ("ticket.commented", ticket["id"])
    assert comment["text"] == f"工单{ticket['no']}（垃圾清运）居民短信回复：垃圾还是没清走，请再来看看"
    others = world.client.get("/api/v1/notifications/me", headers=world.headers["other_worker"]).get_json()["items"]
    assert others == []


def test_text_with_a_ticket_number_is_a_comment_on_that_ticket(app, world):
    first, second = resolved(app, world), resolved(app, world)
    reply(world, aliyun_reply(f"工单{first['no']}：感谢，很及时"))
    assert events(world, first)[-1]["action"] == "sms_reply"
    assert events(world, second)[-1]["action"] == "resolve"


# --- unmatched ---------------------------------------------------------------------------------------------------


def test_a_rating_that_fits_two_tickets_is_kept_unmatched_and_answered_with_a_request_for_the_number(app, world):
    first, second = resolved(app, world), resolved(app, world)
    reply(world, aliyun_reply("5"))
    assert ticket_now(world, first)["status"] == ticket_now(world, second)["status"] == "resolved"
    (kept,) = inbound(world, status="unmatched")
    (answer,) = outbox(app, template="sms_reply_unmatched")
    assert kept["answer_id"] == str(answer.id)
    assert (answer.recipient_phone, answer.status, answer.params["no"]) == (RESIDENT_PHONE, "pending", second["no"])


def test_unmatched_replies_are_answered_at_most_once_an_hour(app, world):
    resolved(app, world), resolved(app, world)
    reply(world, aliyun_reply("5", sequence=1))
    reply(world, aliyun_reply("好的", sequence=2))
    assert len(outbox(app, template="sms_reply_unmatched")) == 1
    assert "within the hour" in inbound(world, status="unmatched")[0]["reason"]


def test_a_stranger_is_recorded_but_not_answered(app, world):
    reply(world, aliyun_reply("5", phone="13600002222"))
    (kept,) = inbound(world, status="unmatched")
    assert kept["answer_id"] is None and "reported nothing" in kept["reason"]
    assert outbox(app, template="sms_reply_unmatched") == []


# --- authentication and malformed callbacks ------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_a_callback_without_the_right_token_is_401_and_changes_nothing(app, world, token):
    ticket = resolved(app, world)
    assert_error(post(world, "", [aliyun_reply("5")], token=token), 401, "unauthorized")
    assert ticket_now(world, ticket)["status"] == "resolved" and count(app, SmsReply) == 0


def test_a_provider_without_a_token_configured_is_404(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CALLBACK_TOKENS", {**TOKENS, "tencent": ""})
    assert_error(post(world, "", {"text": "5"}, provider="tencent"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/hooks/sms/twilio", "/api/v1/hooks/sms/twilio/reports"])
def test_an_unknown_provider_is_404(world, path):
    assert_error(world.client.post(f"{path}?token=x", json=[]), 404, "not_found")


def test_a_body_that_is_not_json_is_400(world):
    response = world.client.post(
        f"/api/v1/hooks/sms/aliyun?token={TOKENS['aliyun']}", data=b"{nope", content_type="application/json"
    )
    assert_error(response, 400, "bad_request")


def test_a_body_of_the_wrong_shape_is_422(world):
    assert_error(post(world, "", {"phone_number": RESIDENT_PHONE}), 422, "validation_error")
    assert_error(post(world, "", "5"), 422, "validation_error")


def test_malformed_items_are_kept_as_ignored_and_the_rest_handled(app, world):
    ticket = resolved(app, world)
    body = [{"content": "5"}, "junk", {"phone_number": ["x"], "sequence_id": 3}, aliyun_reply("5")]
    assert post(world, "", body).get_json() == ALIYUN_ACK
    assert ticket_now(world, ticket)["status"] == "closed"
    statuses = sorted(item["status"] for item in inbound(world))
    assert statuses == ["ignored", "ignored", "ignored", "matched"]
    assert all(item["reason"].startswith("malformed") for item in inbound(world, status="ignored"))


def test_unstorable_text_is_stripped_not_a_500(app, world):
    resolved(app, world)
    raw = '[{"phone_number": "13912345678", "content": "a\\u0000b\\ud800c", "sequence_id": 9}]'
    response = world.client.post(
        f"/api/v1/hooks/sms/aliyun?token={TOKENS['aliyun']}", data=raw.encode(), content_type="application/json"
    )
    assert response.status_code == 200
    assert inbound(world)[0]["text"] == "abc"


def test_the_http_gateway_format_is_read_too(app, world):
    ticket = resolved(app, world)
    body = {"id": "gw-1", "phone": "+8613912345678", "text": "4", "sent_at": datetime.now(UTC).isoformat()}
    assert post(world, "", body, provider="http").get_json() == {"code": 0, "msg": "OK"}
    assert ticket_now(world, ticket)["status"] == "closed"


# --- delivery reports ----------------------------------------------------------------------------------------------


def resolved_sms(app, world) -> Notification:
    resolved(app, world)
    return outbox(app, template="sms_ticket_resolved")[-1]


def test_an_aliyun_report_marks_the_sms_delivered(app, world):
    sms = resolved_sms(app, world)
    report = {
        "phone_number": RESIDENT_PHONE,
        "send_time": beijing_now(),
        "report_time": beijing_now(),
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": sms.provider_id,
        "out_id": sms.message_id,
    }
    assert post(world, "/reports", [report]).get_json() == ALIYUN_ACK
    (after,) = outbox(app, id=sms.id)
    assert after.status == "delivered" and after.delivered_at is not None


def test_a_tencent_report_of_failure_marks_the_sms_failed_and_retryable(app, world):
    sms = resolved_sms(app, world)
    report = {
        "user_receive_time": beijing_now(),
        "nationcode": "86",
        "mobile": RESIDENT_PHONE,
        "report_status": "FAIL",
        "errmsg": "MK:0001",
        "description": "用户关机",
        "sid": sms.provider_id,
    }
    assert post(world, "/reports", [report], provider="tencent").get_json() == TENCENT_ACK
    (after,) = outbox(app, id=sms.id)
    assert after.status == "failed" and "MK:0001" in after.last_error
    retried = world.client.post(f"/api/v1/notifications/{sms.id}/retry", headers=world.headers["admin"])
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"


def test_a_report_for_an_unknown_message_is_kept_as_ignored(app, world):
    report = {"message_id": "no-such-id", "status": "delivered"}
    assert post(world, "/reports", report, provider="http").status_code == 200
    with app.app_context():
        (row,) = db.session.scalars(select(SmsReport)).all()
        assert (row.outcome, row.reason) == ("ignored", "no SMS with this id")


def test_a_report_for_a_message_not_yet_sent_changes_nothing(app, world):
    world.resolved()
    pending = outbox(app, template="sms_ticket_resolved")[-1]
    post(world, "/reports", {"message_id": pending.message_id, "status": "delivered"}, provider="http")
    assert outbox(app, id=pending.id)[0].status == "pending"
    listed = world.client.get("/api/v1/hooks/sms/reports?outcome=ignored", headers=world.headers["admin"])
    assert "pending, not sent" in listed.get_json()["items"][0]["reason"]


def test_a_replayed_or_later_report_does_not_move_a_delivered_sms(app, world):
    sms = resolved_sms(app, world)
    post(world, "/reports", {"message_id": sms.message_id, "status": "delivered"}, provider="http")
    post(world, "/reports", {"message_id": sms.message_id, "status": "delivered"}, provider="http")
    post(world, "/reports", {"provider_id": sms.provider_id, "status": "failed"}, provider="http")
    assert outbox(app, id=sms.id)[0].status == "delivered"
    assert count(app, SmsReport) == 2


def test_a_report_without_the_token_is_401(app, world):
    sms = resolved_sms(app, world)
    response = post(world, "/reports", {"message_id": sms.message_id, "status": "failed"}, token="bad", provider="http")
    assert_error(response, 401, "unauthorized")
    assert outbox(app, id=sms.id)[0].status == "sent"


# --- admins' view ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "worker", "volunteer"])
def test_only_admins_read_the_replies_and_reports(world, role):
    for path in ("/api/v1/hooks/sms/inbound", "/api/v1/hooks/sms/reports"):
        assert_error(world.client.get(path, headers=world.headers[role]), 403, "forbidden")
    assert_error(world.client.get("/api/v1/hooks/sms/inbound"), 401, "unauthorized")


def test_the_replies_list_pages_newest_first_and_filters_by_status(app, world):
    resolved(app, world)
    for sequence in range(1, 4):
        reply(world, aliyun_reply(f"第{sequence}条", phone="13600002222", sequence=sequence))
    page = world.client.get("/api/v1/hooks/sms/inbound?limit=2", headers=world.headers["admin"]).get_json()
    assert [item["text"] for item in page["items"]] == ["第3条", "第2条"] and page["next_cursor"]
    rest = world.client.get(
        f"/api/v1/hooks/sms/inbound?limit=2&cursor={page['next_cursor']}", headers=world.headers["admin"]
    ).get_json()
    assert [item["text"] for item in rest["items"]] == ["第1条"] and rest["next_cursor"] is None
    assert inbound(world, status="matched") == []
    assert_error(
        world.client.get("/api/v1/hooks/sms/inbound?status=lost", headers=world.headers["admin"]),
        422,
        "validation_error",
    )


def test_the_sms_bodies_and_acks_are_json(world):
    assert json.loads(post(world, "", []).get_data()) == ALIYUN_ACK


def test_a_sent_sms_is_matched_only_within_the_reply_window(app, world, monkeypatch):
    ticket = resolved(app, world)
    with app.app_context():
        db.session.execute(update(Notification).values(sent_at=utcnow() - timedelta(hours=200)))
        db.session.commit()
    reply(world, aliyun_reply("5"))
    assert ticket_now(world, ticket)["status"] == "resolved"
