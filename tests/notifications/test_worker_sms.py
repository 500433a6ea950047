"""Workers hear of their work without polling: with NOTIFY_WORKER_SMS=1, what reaches an assignee's inbox (dispatch,
urge, warned, overdue, reopen) also goes to their phone by SMS through the outbox, with the ticket number, the place
and the deadline in Beijing time; quiet hours hold it unless the ticket is urgent."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from auth.models import Account
from kernel.extensions import db
from notifications.channels import channel_slot
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from tasks.sweep import sweep
from tests.support.notify import RecordingChannel, beijing, run_once, travel_to

WORKER_PHONE = "13600000001"


@pytest.fixture
def channel(app):
    recording = RecordingChannel()
    with app.app_context():
        channel_slot().channel = recording
    return recording


@pytest.fixture
def worker_sms(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_WORKER_SMS", True)
    with app.app_context():
        db.session.execute(update(Account).where(Account.id == world.accounts["worker"].id).values(phone=WORKER_PHONE))
        db.session.commit()


def _worker_sms(app: Any) -> list[Notification]:
    with app.app_context():
        stmt = select(Notification).where(Notification.recipient_phone == WORKER_PHONE).order_by(Notification.id)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_without_the_setting_a_dispatch_reaches_only_the_inbox(app, world):
    with app.app_context():
        db.session.execute(update(Account).where(Account.id == world.accounts["worker"].id).values(phone=WORKER_PHONE))
        db.session.commit()
    ticket = world.ticket("supervisor")
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    assert _worker_sms(app) == []
    inbox = world.client.get("/api/v1/notifications/me", headers=world.headers["worker"]).get_json()["items"]
    assert [item["event"] for item in inbox] == ["ticket.dispatched"]


def test_a_dispatch_reaches_the_workers_phone_with_number_place_and_beijing_deadline(app, world, worker_sms, channel):
    travel_to(beijing(10, 0))
    ticket = world.ticket("supervisor")
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    (row,) = _worker_sms(app)
    assert (row.medium, row.event, row.template) == (Medium.SMS, "ticket.dispatched", "sms_worker_assigned")
    assert row.recipient_account_id == world.accounts["worker"].id
    run_once(app)
    (sent,) = [message for message in channel.accepted if message.phone == WORKER_PHONE]
    due = beijing(10, 0) + timedelta(minutes=60)  # CITY.GARBAGE: an hour to accept
    deadline = due.astimezone(_bj())
    assert sent.text == (
        f"【网格通】新工单{ticket['no']}派给您：宛城区新华街 12 号，请于{deadline.month}月{deadline.day}日 "
        f"{deadline:%H:%M}前接单。"
    )
    inbox = world.client.get("/api/v1/notifications/me", headers=world.headers["worker"]).get_json()["items"]
    assert [item["event"] for item in inbox] == ["ticket.dispatched"]  # the SMS is not an inbox message


def _bj():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def test_urge_reopen_warned_and_overdue_reach_the_workers_phone(app, world, worker_sms):
    travel_to(beijing(9, 0))
    ticket = world.in_progress()
    world.act("supervisor", ticket, "urge", note="居民反映强烈")
    world.act("worker", ticket, "resolve", note="已清运")
    world.act("supervisor", ticket, "reopen", reason="没有清理干净")
    travel_to(beijing(9, 0, days=2))  # past the 24 h resolution deadline (and its 80 %)
    with app.app_context():
        sweep()
    templates = [row.template for row in _worker_sms(app)]
    assert templates == [
        "sms_worker_assigned",
        "sms_worker_urged",
        "sms_worker_reopened",
        "sms_worker_warned",
        "sms_worker_overdue",
    ]


def test_a_worker_without_a_mobile_number_gets_only_the_inbox(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_WORKER_SMS", True)
    world.in_progress()
    with app.app_context():
        assert (
            db.session.scalars(
                select(Notification).where(
                    Notification.recipient_account_id.is_not(None), Notification.medium == Medium.SMS
                )
            ).all()
            == []
        )


def test_quiet_hours_hold_a_workers_sms_unless_the_ticket_is_urgent(app, world, worker_sms, channel):
    travel_to(beijing(23, 0))
    normal = world.ticket("supervisor")
    urgent = world.ticket("supervisor", priority="urgent")
    world.act("supervisor", normal, "dispatch", assignee_id=world.id_of("worker"))
    world.act("supervisor", urgent, "dispatch", assignee_id=world.id_of("worker"))
    run_once(app)
    rows = {row.params["no"]: row for row in _worker_sms(app)}
    assert rows[urgent["no"]].status is DeliveryStatus.SENT
    assert rows[normal["no"]].status is DeliveryStatus.PENDING
    assert rows[normal["no"]].next_attempt_at == beijing(7, 0, days=1)
