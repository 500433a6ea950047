"""Delivery: run-once sends what is due through the channel, retries with backoff, gives up into `dead`,
holds what is over a phone's hourly limit, waits out quiet hours, and survives a worker that dies mid-batch.

The channel is a recording fake put where the app keeps its channel; the clock moves with `kernel.clock`.
Unless a test says otherwise it is 10:00 in Beijing, outside quiet hours.
"""

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from kernel import clock
from kernel.extensions import db
from notifications import delivery
from notifications.channels import channel_slot
from notifications.channels.base import Outcome, SendResult
from notifications.outbox import service
from notifications.outbox.models import DeliveryStatus
from tests.support.http import assert_error
from tests.support.notify import (
    PHONE,
    RecordingChannel,
    beijing,
    in_app,
    later,
    one,
    owe_sms,
    run_once,
    stored,
    travel_to,
)

MAX_BACKOFF = timedelta(hours=1, seconds=1)  # past any retry's jittered delay (NOTIFY_BACKOFF_MAX_SECONDS)


@pytest.fixture
def channel(app: Flask, monkeypatch: pytest.MonkeyPatch) -> RecordingChannel:
    fake = RecordingChannel()
    with app.app_context():
        monkeypatch.setattr(channel_slot(), "channel", fake)
    return fake


@pytest.fixture(autouse=True)
def daytime() -> None:
    travel_to(beijing(10))


@pytest.fixture
def no_phone_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PER_PHONE_PER_HOUR", 0)


@pytest.fixture
def max_attempts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 3)
    return 3


# --- sending ----------------------------------------------------------------------------------------


def test_run_once_sends_what_is_due_and_records_it(app, channel):
    (notification_id,) = owe_sms(app)

    report = run_once(app)

    assert (report.claimed, report.sent) == (1, 1)
    (message,) = channel.accepted
    row = one(app, notification_id)
    assert message.message_id == row.message_id and message.phone == PHONE
    assert message.template == "sms_ticket_received"
    assert message.params == {"no": "20261123-000001", "status": "已受理"}
    assert message.text == "【网格通】您反映的问题已受理，工单号20261123-000001，当前状态：已受理。办理进展将短信告知。"
    assert (row.status, row.attempts, row.provider_id, row.last_error) == (DeliveryStatus.SENT, 1, "p-1", None)
    assert row.sent_at is not None and row.lease_token is None and row.lease_until is None


def test_a_sent_message_is_not_sent_again(app, channel):
    owe_sms(app)
    run_once(app)

    assert run_once(app).claimed == 0
    assert len(channel.calls) == 1


def test_run_once_drains_batch_after_batch(app, channel, no_phone_limit):
    owe_sms(app, 7)

    report = run_once(app, batch=3)

    assert (report.claimed, report.sent) == (7, 7)
    assert len({message.message_id for message in channel.accepted}) == 7


def test_messages_owed_by_the_api_reach_the_channel(app, world, channel):
    ticket = world.resolved()

    run_once(app)

    assert [message.template for message in channel.accepted] == [
        "sms_ticket_received",
        "sms_ticket_taken",
        "sms_ticket_resolved",
    ]
    assert all(ticket["no"] in message.text for message in channel.accepted)


def test_the_cli_runs_once_and_says_what_it_did(app, channel):
    owe_sms(app, 2, phone=PHONE)

    result = app.test_cli_runner().invoke(args=["notify", "run-once"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("claimed 2, sent 2, retrying 0, dead 0, held 0, postponed 0")


def test_the_cli_refuses_a_misconfigured_channel(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CHANNEL", "pigeon")
    with app.app_context():
        channel_slot().clear()

    result = app.test_cli_runner().invoke(args=["notify", "run-once"])

    assert result.exit_code != 0
    assert "SMS_CHANNEL='pigeon'" in result.output


def test_a_channel_that_raises_is_retried_like_a_failure(app, channel, monkeypatch):
    (notification_id,) = owe_sms(app)

    def explode(_message: Any) -> SendResult:
        raise RuntimeError("bug in an adapter")

    monkeypatch.setattr(channel, "send", explode)
    report = run_once(app)

    row = one(app, notification_id)
    assert report.retrying == 1
    assert (row.status, row.last_error) == (DeliveryStatus.PENDING, "the channel failed: RuntimeError")


# --- retries and dead letters -------------------------------------------------------------------------


def test_a_provider_down_for_a_while_gets_the_message_later_and_once(app, world, channel):
    world.ticket()
    channel.down = True

    assert run_once(app).retrying == 1
    assert run_once(app).claimed == 0  # not due again at once: backing off
    later(MAX_BACKOFF)
    assert run_once(app).retrying == 1
    channel.down = False
    later(MAX_BACKOFF)
    assert run_once(app).sent == 1
    later(MAX_BACKOFF)
    assert run_once(app).claimed == 0

    (row,) = stored(app)
    assert [message.message_id for message, _ in channel.calls] == [row.message_id] * 3
    assert len(channel.accepted) == 1
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 3)


def test_a_failed_attempt_is_retried_after_a_jittered_exponential_delay(app, channel):
    (notification_id,) = owe_sms(app)
    channel.down = True
    start = clock.utcnow()

    run_once(app)

    row = one(app, notification_id)
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error == "provider unavailable (503)"
    base = timedelta(seconds=app.config["NOTIFY_BACKOFF_BASE_SECONDS"])
    assert start + timedelta(seconds=1) <= row.next_attempt_at <= clock.utcnow() + base


def test_backoff_grows_exponentially_up_to_its_cap_with_full_jitter(app):
    with app.app_context():
        delays = {attempts: [delivery.backoff(attempts) for _ in range(200)] for attempts in (1, 3, 12)}
    assert max(delays[1]) <= timedelta(seconds=30) < max(delays[3]) <= timedelta(seconds=120)
    assert max(delays[12]) <= timedelta(hours=1)
    assert min(delays[12]) < timedelta(minutes=30)  # full jitter: anywhere from the floor up
    assert min(min(values) for values in delays.values()) >= timedelta(seconds=1)


def test_the_providers_retry_after_is_respected(app, channel):
    (notification_id,) = owe_sms(app)
    channel.answers.append(SendResult(Outcome.RETRY, error="throttled", retry_after_seconds=7200))

    run_once(app)

    assert one(app, notification_id).next_attempt_at >= clock.utcnow() + timedelta(hours=2) - timedelta(seconds=5)


def test_a_message_is_dead_after_the_last_attempt(app, channel, max_attempts):
    (notification_id,) = owe_sms(app)
    channel.down = True

    for _ in range(max_attempts):
        run_once(app)
        later(MAX_BACKOFF)

    row = one(app, notification_id)
    assert (row.status, row.attempts) == (DeliveryStatus.DEAD, 3)
    assert row.last_error == "gave up after 3 attempts: provider unavailable (503)"
    assert run_once(app).claimed == 0
    assert len(channel.calls) == 3


def test_a_permanent_refusal_is_dead_at_once(app, channel):
    (notification_id,) = owe_sms(app)
    channel.answers.append(SendResult(Outcome.REJECTED, error="isv.MOBILE_NUMBER_ILLEGAL"))

    assert run_once(app).dead == 1

    row = one(app, notification_id)
    assert (row.status, row.attempts, row.last_error) == (
        DeliveryStatus.DEAD,
        1,
        "refused: isv.MOBILE_NUMBER_ILLEGAL",
    )


def test_an_admin_sees_the_dead_and_sends_them_again(app, world, channel, max_attempts):
    world.ticket()
    channel.down = True
    for _ in range(max_attempts):
        run_once(app)
        later(MAX_BACKOFF)
    dead = world.client.get("/api/v1/notifications?status=dead", headers=world.headers["admin"]).get_json()["items"]
    assert [item["last_error"] for item in dead] == ["gave up after 3 attempts: provider unavailable (503)"]

    channel.down = False
    retried = world.client.post(f"/api/v1/notifications/{dead[0]['id']}/retry", headers=world.headers["admin"])
    assert retried.status_code == 200
    assert run_once(app).sent == 1

    (row,) = stored(app)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 1)
    assert len(channel.accepted) == 1


# --- the per-phone limit -------------------------------------------------------------------------------


def test_sms_over_the_hourly_limit_for_a_phone_are_held_with_the_reason(app, channel, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PER_PHONE_PER_HOUR", 3)
    ids = owe_sms(app, 3)
    other = owe_sms(app, 1, phone="13687654321")

    report = run_once(app)

    # The third place is kept for a "resolved" notice (see the next test): two of three are sent.
    assert (report.sent, report.held) == (3, 1)
    assert [one(app, i).status for i in ids] == [DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.HELD]
    held = one(app, ids[2])
    assert held.last_error == (
        "held: 2 SMS already sent to this number in the last hour (the last of 3 is kept for a rating prompt)"
    )
    assert held.attempts == 0
    assert one(app, other[0]).status is DeliveryStatus.SENT
    assert run_once(app).claimed == 0  # held stays held


def test_the_resolved_notice_with_its_rating_prompt_goes_ahead_of_the_rest_under_the_cap(app, channel, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PER_PHONE_PER_HOUR", 3)
    received = owe_sms(app, 4)
    with app.app_context():
        resolved = service.owe_sms(
            "ticket.resolved",
            "sms_ticket_resolved",
            PHONE,
            {"no": "20261123-000001", "status": "已办结", "note": "已清运"},
        )
        db.session.commit()
        resolved_id = resolved.id

    run_once(app)

    assert [one(app, i).status for i in received] == [DeliveryStatus.SENT] * 2 + [DeliveryStatus.HELD] * 2
    assert one(app, resolved_id).status is DeliveryStatus.SENT
    assert "请回复数字1-5评价" in channel.accepted[-1].text
    (last,) = owe_sms(app)  # the cap is reached now: nothing more this hour
    run_once(app)
    assert one(app, last).status is DeliveryStatus.HELD


def test_the_hourly_limit_counts_only_the_last_hour(app, channel, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PER_PHONE_PER_HOUR", 2)
    owe_sms(app, 2)
    run_once(app)
    later(timedelta(minutes=61))
    (notification_id,) = owe_sms(app)

    run_once(app)

    assert one(app, notification_id).status is DeliveryStatus.SENT


def test_a_held_message_retried_by_an_admin_after_the_hour_is_sent(app, world, channel, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PER_PHONE_PER_HOUR", 2)
    world.resolved()  # three SMS to one resident
    run_once(app)
    (held,) = stored(app, status=DeliveryStatus.HELD)
    later(timedelta(minutes=61))

    response = world.client.post(f"/api/v1/notifications/{held.id}/retry", headers=world.headers["admin"])
    assert response.status_code == 200
    run_once(app)

    assert one(app, held.id).status is DeliveryStatus.SENT
    assert len(channel.accepted) == 3


def test_inbox_messages_never_enter_the_queue(app, world, channel):
    world.act("supervisor", world.ticket(), "dispatch", assignee_id=world.id_of("worker"))

    report = run_once(app)

    assert report.claimed == 1  # the intake SMS only
    assert [message.template for message in channel.accepted] == ["sms_ticket_received"]


# --- quiet hours ---------------------------------------------------------------------------------------


def test_quiet_hours_postpone_a_non_urgent_resident_sms_to_their_end(app, channel):
    travel_to(beijing(23, 30))
    (notification_id,) = owe_sms(app)

    report = run_once(app)

    row = one(app, notification_id)
    assert (report.postponed, channel.calls) == (1, [])
    assert row.status is DeliveryStatus.PENDING
    assert row.next_attempt_at == beijing(7, days=1)
    assert row.last_error == "quiet hours 22:00-07:00 (Asia/Shanghai): postponed to 07:00"
    assert row.attempts == 0


def test_a_postponed_sms_goes_out_when_quiet_hours_end(app, channel):
    travel_to(beijing(23, 30))
    (notification_id,) = owe_sms(app)
    run_once(app)

    travel_to(beijing(6, 59, days=1))
    assert run_once(app).claimed == 0
    travel_to(beijing(7, 0, days=1))
    assert run_once(app).sent == 1
    assert one(app, notification_id).attempts == 1


def test_quiet_hours_do_not_hold_back_an_urgent_sms(app, channel):
    travel_to(beijing(2, 15))
    (notification_id,) = owe_sms(app, urgent=True)

    assert run_once(app).sent == 1
    assert one(app, notification_id).status is DeliveryStatus.SENT


def test_an_urgent_ticket_is_told_at_night_and_an_ordinary_one_in_the_morning(app, world, channel):
    travel_to(beijing(22, 30))
    urgent = world.ticket(category_code="FACILITY.ELEVATOR")
    ordinary = world.ticket()

    run_once(app)

    assert [message.params["no"] for message in channel.accepted] == [urgent["no"]]
    (waiting,) = stored(app, status=DeliveryStatus.PENDING)
    assert waiting.params["no"] == ordinary["no"] and waiting.next_attempt_at == beijing(7, days=1)


def test_quiet_hours_can_be_turned_off(app, channel, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "")
    travel_to(beijing(23, 30))
    owe_sms(app)

    assert run_once(app).sent == 1


@pytest.mark.parametrize(
    ("spec", "hour", "minute", "until"),
    [
        ("22:00-07:00", 21, 59, None),
        ("22:00-07:00", 22, 0, (7, 1)),
        ("22:00-07:00", 23, 59, (7, 1)),
        ("22:00-07:00", 0, 0, (7, 0)),
        ("22:00-07:00", 6, 59, (7, 0)),
        ("22:00-07:00", 7, 0, None),
        ("12:00-14:00", 13, 0, (14, 0)),
        ("12:00-14:00", 14, 0, None),
        ("", 23, 0, None),
        ("08:00-08:00", 8, 0, None),
    ],
)
def test_quiet_until_says_when_the_quiet_period_ends(spec, hour, minute, until):
    now = beijing(hour, minute)
    expected = None if until is None else beijing(until[0], days=until[1])
    assert delivery.quiet_until(now, spec, "Asia/Shanghai") == expected


def test_a_malformed_quiet_hours_setting_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "10pm-7am")
    result = app.test_cli_runner().invoke(args=["notify", "run-once"])
    assert result.exit_code != 0 and "HH:MM-HH:MM" in result.output


# --- leases: workers that die, stall or stop ------------------------------------------------------------


def test_a_batch_claimed_by_a_worker_that_died_is_delivered_after_its_lease(app, channel, no_phone_limit):
    ids = owe_sms(app, 4)
    claim = in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=10)  # ...and the worker dies here
    assert [message.id for message in claim.messages] == ids
    assert {row.status for row in stored(app)} == {DeliveryStatus.SENDING}
    assert run_once(app).claimed == 0  # leased: nobody else takes them yet

    later(timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 1))
    report = run_once(app)

    assert report.sent == 4
    assert sorted(message.message_id for message in channel.accepted) == sorted(row.message_id for row in stored(app))
    assert {(row.status, row.attempts) for row in stored(app)} == {(DeliveryStatus.SENT, 2)}


def test_a_worker_that_comes_back_after_its_lease_was_taken_over_records_nothing(app, channel):
    (notification_id,) = owe_sms(app)
    stale = in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=10)
    later(timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 1))
    run_once(app)  # another worker takes it over and sends it

    kept = in_app(
        app,
        delivery.record,
        stale,
        stale.messages[0],
        {"status": DeliveryStatus.DEAD, "last_error": "stale outcome"},
    )

    row = one(app, notification_id)
    assert kept is False
    assert (row.status, row.last_error) == (DeliveryStatus.SENT, None)


def test_a_message_whose_worker_died_on_its_last_attempt_is_dead(app, channel, max_attempts):
    (notification_id,) = owe_sms(app)
    channel.down = True
    for _ in range(max_attempts - 1):
        run_once(app)
        later(MAX_BACKOFF)
    in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=10)  # the last attempt's worker dies

    later(timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 1))
    run_once(app)

    row = one(app, notification_id)
    assert (row.status, row.last_error) == (DeliveryStatus.DEAD, "the worker sending the last attempt stopped")


def test_a_worker_sends_nothing_it_cannot_finish_within_its_lease(app, channel):
    ids = owe_sms(app, 2)
    claim = in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=10)
    margin = app.config["NOTIFY_SEND_MARGIN_SECONDS"]
    later(timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] - margin + 1))  # a stall before sending

    report = in_app(app, delivery.deliver, claim)

    assert (report.sent, report.given_back, channel.calls) == (0, 2, [])
    assert [(one(app, i).status, one(app, i).attempts) for i in ids] == [(DeliveryStatus.PENDING, 0)] * 2
    assert run_once(app).sent == 2


def test_a_stopping_worker_gives_the_rest_of_its_batch_back(app, channel):
    ids = owe_sms(app, 3)
    claim = in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=10)

    report = in_app(app, delivery.deliver, claim, should_stop=lambda: len(channel.calls) >= 1)

    assert (report.sent, report.given_back) == (1, 2)
    assert [one(app, i).status for i in ids] == [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.PENDING]


def test_one_claim_takes_no_more_than_its_batch(app, channel):
    owe_sms(app, 5)

    claim = in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=2)

    assert len(claim.messages) == 2
    assert len(stored(app, status=DeliveryStatus.SENDING)) == 2


def test_retrying_a_message_being_sent_is_refused(app, world, channel):
    world.ticket()
    (row,) = stored(app)
    in_app(app, delivery.claim_due, due_by=clock.utcnow(), batch=10)

    response = world.client.post(f"/api/v1/notifications/{row.id}/retry", headers=world.headers["admin"])

    assert_error(response, 409, "conflict")
