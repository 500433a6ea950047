"""What ticket changes owe (the outbox rows, written with the change or not at all), what admins see of the
outbox, and each account's inbox. Tickets are moved through the API; the outbox is read through the API."""

from datetime import timedelta
from typing import Any

import pytest

import tasks.tickets.actions
import tasks.tickets.intake
from auth.models import Account
from kernel import clock
from kernel.errors import ConflictError
from kernel.extensions import db
from notifications.outbox import service, templates
from notifications.outbox.models import DeliveryStatus, Medium, Notification
from tasks.lifecycle import Action
from tasks.sweep import sweep
from tests.support.http import assert_error
from tests.support.notify import PHONE, stored
from tests.support.tasks import RESIDENT_PHONE, World

MASKED = "139****5678"
OTHER_PHONE = "13687654321"


def outbox(world: World, *, who: str = "admin", **query: Any) -> list[dict[str, Any]]:
    """The admin list, oldest first."""
    response = world.client.get(
        "/api/v1/notifications", query_string={"limit": 100, **query}, headers=world.headers[who]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(reversed(response.get_json()["items"]))


def owed(world: World, ticket: dict[str, Any], **query: Any) -> list[tuple[str, str, str]]:
    """(event, template, recipient) of a ticket's notifications, oldest first; recipient: masked phone or account."""
    return [
        (item["event"], item["template"], item["recipient_phone"] or _account_name(world, item["recipient_account_id"]))
        for item in outbox(world, ticket_id=ticket["id"], **query)
    ]


def _account_name(world: World, account_id: str) -> str:
    return next(name for name, account in world.accounts.items() if str(account.id) == account_id)


def inbox(world: World, who: str, **query: Any) -> dict[str, Any]:
    response = world.client.get("/api/v1/notifications/me", query_string=query, headers=world.headers[who])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def dispatched(world: World, **fields: Any) -> dict[str, Any]:
    return world.act("supervisor", world.ticket(**fields), "dispatch", assignee_id=world.id_of("worker"))


# --- what each change owes ---------------------------------------------------------------------------


def test_intake_owes_the_reporter_an_sms_with_the_ticket_number_and_status(world):
    ticket = world.ticket()

    (item,) = outbox(world, ticket_id=ticket["id"])
    assert (item["event"], item["medium"], item["template"]) == ("ticket.created", "sms", "sms_ticket_received")
    assert item["recipient_phone"] == MASKED
    assert item["status"] == "pending"
    assert item["urgent"] is False
    assert ticket["no"] in item["text"] and "已受理" in item["text"]


def test_intake_without_a_mobile_number_owes_no_sms(world):
    silent = world.ticket(reporter={"name": "王先生"})
    landline = world.ticket(reporter={"name": "李女士", "phone": "037762345678"})

    assert owed(world, silent) == []
    assert owed(world, landline) == []


def test_dispatch_owes_the_assignee_an_inbox_message_and_the_resident_nothing(world):
    ticket = dispatched(world)

    assert owed(world, ticket) == [
        ("ticket.created", "sms_ticket_received", MASKED),
        ("ticket.dispatched", "inbox_assigned", "worker"),
    ]
    item = outbox(world, ticket_id=ticket["id"], medium="inbox")[0]
    assert item["status"] == "sent" and item["sent_at"] is not None


def test_auto_dispatch_at_intake_owes_the_assignee_an_inbox_message(app, world, monkeypatch):
    from workforce.models import WorkerProfile

    monkeypatch.setitem(app.config, "TICKETS_AUTO_DISPATCH", True)
    with app.app_context():
        db.session.add(WorkerProfile(account_id=world.accounts["worker"].id, employment="full_time", on_duty=True))
        db.session.commit()

    ticket = world.ticket()

    assert ticket["status"] == "assigned"
    assert owed(world, ticket) == [
        ("ticket.created", "sms_ticket_received", MASKED),
        ("ticket.dispatched", "inbox_assigned", "worker"),
    ]


def test_accepting_owes_the_resident_a_taken_sms(world):
    ticket = world.in_progress()

    assert owed(world, ticket, medium="sms")[-1] == ("ticket.accepted", "sms_ticket_taken", MASKED)
    assert "处理中" in outbox(world, ticket_id=ticket["id"], medium="sms")[-1]["text"]


def test_a_volunteer_claim_owes_the_resident_a_taken_sms(world):
    ticket = world.act("volunteer", world.ticket(), "claim")

    assert owed(world, ticket) == [
        ("ticket.created", "sms_ticket_received", MASKED),
        ("ticket.claimed", "sms_ticket_taken", MASKED),
    ]


def test_resolving_owes_the_resident_an_sms_asking_for_a_rating(world):
    ticket = world.resolved()

    item = outbox(world, ticket_id=ticket["id"], medium="sms")[-1]
    assert (item["event"], item["template"]) == ("ticket.resolved", "sms_ticket_resolved")
    assert "回复数字1-5" in item["text"] and ticket["no"] in item["text"] and "已办结" in item["text"]


def test_closing_owes_the_resident_an_sms(world):
    ticket = world.act("supervisor", world.resolved(), "close")

    assert owed(world, ticket)[-1] == ("ticket.closed", "sms_ticket_closed", MASKED)


def test_a_rating_that_closes_owes_the_resident_an_sms(world):
    ticket = world.act("supervisor", world.resolved(), "feedback", rating=5, channel="sms")

    assert owed(world, ticket)[-1] == ("ticket.closed", "sms_ticket_closed", MASKED)


def test_reopening_owes_the_resident_an_sms_and_the_handler_an_inbox_message(world):
    ticket = world.act("supervisor", world.resolved(), "reopen", reason="居民反映仍未清运")

    assert owed(world, ticket)[-2:] == [
        ("ticket.reopened", "sms_ticket_reopened", MASKED),
        ("ticket.reopened", "inbox_reopened", "worker"),
    ]
    assert "居民反映仍未清运" in inbox(world, "worker")["items"][0]["text"]


def test_a_low_rating_reopens_and_owes_the_same_as_a_reopen(world):
    ticket = world.act("supervisor", world.resolved(), "feedback", rating=1, channel="sms", comment="没人来")

    assert [template for _, template, _ in owed(world, ticket)[-2:]] == ["sms_ticket_reopened", "inbox_reopened"]


def test_urging_owes_the_assignee_an_inbox_message_with_the_note(world):
    ticket = world.act("supervisor", world.in_progress(), "urge", note="群众反映强烈，今天必须办结")

    assert owed(world, ticket, medium="inbox")[-1] == ("ticket.urged", "inbox_urged", "worker")
    assert "群众反映强烈" in inbox(world, "worker")["items"][0]["text"]


def test_urging_an_unassigned_ticket_owes_nothing(world):
    ticket = world.act("supervisor", world.ticket(), "urge", note="请尽快派单")

    assert owed(world, ticket) == [("ticket.created", "sms_ticket_received", MASKED)]


def test_a_merged_duplicates_reporter_is_told_the_surviving_ticket_number(world):
    survivor = world.ticket()
    duplicate = world.ticket(reporter={"name": "王先生", "phone": OTHER_PHONE})

    world.act("supervisor", duplicate, "cancel", reason="重复上报", merged_into=survivor["id"])

    item = outbox(world, event="ticket.merged")[0]
    assert item["ticket_id"] == survivor["id"]
    assert item["recipient_phone"] == "136****4321"
    assert survivor["no"] in item["text"] and duplicate["no"] in item["text"]


def test_after_a_merge_both_reporters_hear_how_the_surviving_ticket_ends(world):
    survivor = world.ticket()
    duplicate = world.ticket(reporter={"name": "王先生", "phone": OTHER_PHONE})
    world.act("supervisor", duplicate, "cancel", reason="重复上报", merged_into=survivor["id"])
    world.act("supervisor", survivor, "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", survivor, "accept")

    world.act("worker", survivor, "resolve", note="已清运完毕")

    recipients = {item["recipient_phone"] for item in outbox(world, event="ticket.resolved")}
    assert recipients == {MASKED, "136****4321"}


def test_a_plain_cancel_owes_nothing(world):
    ticket = world.act("supervisor", world.ticket(), "cancel", reason="无效诉求")

    assert owed(world, ticket) == [("ticket.created", "sms_ticket_received", MASKED)]


def test_an_urgent_tickets_notifications_are_urgent(world):
    ticket = world.ticket(priority="urgent")

    assert [item["urgent"] for item in outbox(world, ticket_id=ticket["id"])] == [True]


def test_the_sweep_owes_the_assignee_warned_and_overdue_and_the_nearest_supervisors_overdue(app, world):
    ticket = dispatched(world)
    clock.travel(timedelta(hours=2))  # past the 60-minute acceptance deadline
    with app.app_context():
        sweep()

    assert owed(world, ticket, medium="inbox")[1:] == [
        ("ticket.warned", "inbox_warned", "worker"),
        ("ticket.overdue", "inbox_overdue", "worker"),
        ("ticket.overdue", "inbox_unit_overdue", "community_supervisor"),
    ]
    assert "即将超期" in inbox(world, "worker")["items"][1]["text"]


def test_the_sweeps_auto_close_owes_the_resident_an_sms(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "TICKET_AUTO_CLOSE_DAYS", 1)
    ticket = world.resolved()
    clock.travel(timedelta(days=2))
    with app.app_context():
        sweep()

    assert owed(world, ticket)[-1] == ("ticket.closed", "sms_ticket_closed", MASKED)


def test_resident_sms_never_carry_the_address_or_a_phone_number(world):
    ticket = world.resolved()
    world.act("supervisor", ticket, "reopen", reason="居民 13700001111 反映没修好")
    world.act("worker", ticket, "resolve", note="已修复")
    world.act("supervisor", ticket, "close")

    texts = [item["text"] for item in outbox(world, ticket_id=ticket["id"], medium="sms")]
    assert len(texts) == 6
    for text in texts:
        assert ticket["no"] in text and "当前状态" in text
        assert "新华街" not in text and RESIDENT_PHONE not in text and "13700001111" not in text


# --- written with the change, or not at all ----------------------------------------------------------


def test_a_change_that_fails_after_owing_leaves_no_notification(world, monkeypatch):
    ticket = world.in_progress()
    before = outbox(world)

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise ConflictError("changed meanwhile")

    monkeypatch.setattr(tasks.tickets.actions, "view_of", fail)  # runs after the urge owed its message
    world.act("supervisor", ticket, "urge", status=409, note="请尽快处理")

    assert outbox(world) == before


def test_an_intake_that_fails_after_owing_leaves_no_notification(app, world, monkeypatch):
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise ConflictError("changed meanwhile")

    monkeypatch.setattr(tasks.tickets.intake, "_possible_duplicates", fail)
    world.file(expect=409)

    assert stored(app) == []


def test_a_rolled_back_transaction_owes_nothing_and_the_same_action_committed_owes(app, world):
    ticket = world.in_progress()
    for end in ("rollback", "commit"):
        with app.app_context():
            supervisor = db.session.get(Account, world.accounts["supervisor"].id)
            tasks.tickets.actions.perform(supervisor, int(ticket["id"]), Action.URGE, {"note": "请尽快处理"})
            getattr(db.session, end)()

        assert len(stored(app, event="ticket.urged")) == (end == "commit")


# --- the outbox, for admins --------------------------------------------------------------------------


def test_admins_filter_the_outbox_by_status_medium_ticket_and_event(world):
    first = dispatched(world)
    second = world.ticket()

    assert {item["ticket_id"] for item in outbox(world, medium="inbox")} == {first["id"]}
    assert [item["ticket_id"] for item in outbox(world, status="pending")] == [first["id"], second["id"]]
    assert [item["event"] for item in outbox(world, ticket_id=second["id"])] == ["ticket.created"]
    assert [item["ticket_id"] for item in outbox(world, event="ticket.dispatched")] == [first["id"]]
    assert outbox(world, status="dead") == []


def test_the_outbox_lists_newest_first_in_pages(world):
    tickets = [world.ticket() for _ in range(3)]

    response = world.client.get("/api/v1/notifications?limit=2", headers=world.headers["admin"])
    page = response.get_json()
    rest = world.client.get(
        "/api/v1/notifications",
        query_string={"limit": 2, "cursor": page["next_cursor"]},
        headers=world.headers["admin"],
    ).get_json()

    listed = [item["ticket_id"] for item in page["items"] + rest["items"]]
    assert listed == [ticket["id"] for ticket in reversed(tickets)]
    assert rest["next_cursor"] is None


def test_the_outbox_masks_phone_numbers(world):
    world.ticket()

    body = world.client.get("/api/v1/notifications", headers=world.headers["admin"]).get_data(as_text=True)
    assert PHONE == RESIDENT_PHONE
    assert RESIDENT_PHONE not in body and MASKED in body


@pytest.mark.parametrize("who", ["supervisor", "worker", "volunteer"])
def test_only_admins_read_the_outbox(world, who):
    response = world.client.get("/api/v1/notifications", headers=world.headers[who])
    assert_error(response, 403, "forbidden")


def test_the_outbox_needs_a_token(client):
    assert_error(client.get("/api/v1/notifications"), 401, "unauthorized")


def test_an_unknown_filter_is_refused(world):
    response = world.client.get("/api/v1/notifications?state=dead", headers=world.headers["admin"])
    assert_error(response, 422, "validation_error")


# --- admin retry --------------------------------------------------------------------------------------


def _kill(app, notification_id: str, status: DeliveryStatus = DeliveryStatus.DEAD) -> None:
    with app.app_context():
        row = db.session.get(Notification, int(notification_id))
        row.status, row.attempts, row.last_error = status, 8, "gave up after 8 attempts: provider down"
        db.session.commit()


@pytest.mark.parametrize("status", [DeliveryStatus.DEAD, DeliveryStatus.HELD, DeliveryStatus.FAILED])
def test_an_admin_puts_a_dead_held_or_failed_message_back_in_the_queue(app, world, status):
    world.ticket()
    (item,) = outbox(world)
    _kill(app, item["id"], status)

    response = world.client.post(f"/api/v1/notifications/{item['id']}/retry", headers=world.headers["admin"])

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "pending"
    assert response.get_json()["attempts"] == 0
    assert response.get_json()["message_id"] == item["message_id"]


def test_a_message_still_in_the_queue_cannot_be_retried(world):
    world.ticket()
    (item,) = outbox(world)

    response = world.client.post(f"/api/v1/notifications/{item['id']}/retry", headers=world.headers["admin"])

    error = assert_error(response, 409, "conflict")
    assert error["details"]["status"] == ["pending"]


def test_retrying_an_unknown_message_is_404(world):
    response = world.client.post("/api/v1/notifications/999999/retry", headers=world.headers["admin"])
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("who", ["supervisor", "worker"])
def test_only_admins_retry(app, world, who):
    world.ticket()
    (item,) = outbox(world)
    _kill(app, item["id"])

    response = world.client.post(f"/api/v1/notifications/{item['id']}/retry", headers=world.headers[who])

    assert_error(response, 403, "forbidden")
    assert outbox(world)[0]["status"] == "dead"


# --- one's own inbox ----------------------------------------------------------------------------------


def test_the_inbox_holds_ones_own_messages_newest_first(world):
    first = dispatched(world)
    world.act("supervisor", first, "urge", note="请尽快处理")

    items = inbox(world, "worker")["items"]

    assert [item["event"] for item in items] == ["ticket.urged", "ticket.dispatched"]
    assert items[0]["ticket_no"] == first["no"] and items[0]["ticket_id"] == first["id"]
    assert items[0]["read_at"] is None
    assert set(items[0]) == {"id", "event", "ticket_id", "ticket_no", "text", "urgent", "created_at", "read_at"}
    assert inbox(world, "other_worker")["items"] == []


def test_the_inbox_never_lists_sms(world):
    world.resolved()

    assert all(item["event"] != "ticket.resolved" for item in inbox(world, "worker")["items"])


def test_marking_messages_read_by_id(world):
    dispatched(world)
    dispatched(world)
    newest, oldest = inbox(world, "worker")["items"]

    response = world.client.post(
        "/api/v1/notifications/me/read", json={"ids": [oldest["id"]]}, headers=world.headers["worker"]
    )

    assert response.status_code == 200
    assert response.get_json() == {"count": 1}
    assert [item["id"] for item in inbox(world, "worker", unread="true")["items"]] == [newest["id"]]
    assert [item["id"] for item in inbox(world, "worker", unread="false")["items"]] == [oldest["id"]]


def test_marking_everything_read(world):
    dispatched(world)
    dispatched(world)

    response = world.client.post("/api/v1/notifications/me/read", json={"all": True}, headers=world.headers["worker"])
    again = world.client.post("/api/v1/notifications/me/read", json={"all": True}, headers=world.headers["worker"])

    assert response.get_json() == {"count": 2}
    assert again.get_json() == {"count": 0}
    assert inbox(world, "worker", unread="true")["items"] == []


def test_marking_someone_elses_message_read_changes_nothing(world):
    dispatched(world)
    (theirs,) = inbox(world, "worker")["items"]

    response = world.client.post(
        "/api/v1/notifications/me/read", json={"ids": [theirs["id"]]}, headers=world.headers["other_worker"]
    )

    assert response.get_json() == {"count": 0}
    assert inbox(world, "worker", unread="true")["items"][0]["id"] == theirs["id"]


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": ["1"], "all": True}, {"all": False}, {"ids": []}, {"ids": [1]}, {"all": "true"}, {"ids": "1"}],
    ids=["nothing", "both", "all-false", "no-ids", "number-id", "string-all", "string-ids"],
)
def test_marking_read_takes_ids_or_all_true(world, body):
    response = world.client.post("/api/v1/notifications/me/read", json=body, headers=world.headers["worker"])
    assert_error(response, 422, "validation_error")


def test_the_inbox_pages_with_a_cursor(world):
    for _ in range(3):
        dispatched(world)

    first = inbox(world, "worker", limit=2)
    second = inbox(world, "worker", limit=2, cursor=first["next_cursor"])

    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_a_cursor_from_someone_elses_inbox_is_refused(world):
    for _ in range(3):
        dispatched(world)
    cursor = inbox(world, "worker", limit=2)["next_cursor"]

    response = world.client.get(
        "/api/v1/notifications/me", query_string={"cursor": cursor}, headers=world.headers["other_worker"]
    )

    assert_error(response, 400, "bad_request")


def test_the_inbox_needs_a_token(client):
    assert_error(client.get("/api/v1/notifications/me"), 401, "unauthorized")
    assert_error(client.post("/api/v1/notifications/me/read", json={"all": True}), 401, "unauthorized")


# --- templates ----------------------------------------------------------------------------------------


def test_every_resident_template_carries_the_number_and_a_status():
    for template in templates.TEMPLATES.values():
        if template.medium is Medium.SMS and not template.name.startswith("sms_worker_"):
            assert "place" not in template.params, template.name  # a resident's SMS never names a place
            if template.name in templates.RESIDENT_ANSWERS:  # answers to their own text (查询, a new request)
                continue
            assert {"no", "status"} <= set(template.params), template.name
            assert "{no}" in template.text and "{status}" in template.text
            assert "place" not in template.params  # a resident's SMS never names a place


def test_every_assignee_sms_carries_the_number_the_place_and_the_deadline():
    for template in templates.TEMPLATES.values():
        if template.name.startswith("sms_worker_"):
            assert {"no", "place", "due"} <= set(template.params), template.name


def test_every_owed_template_exists():
    for owed_now in service.OWED.values():
        for name in (owed_now.resident, owed_now.assignee, owed_now.supervisors, owed_now.assignee_sms):
            assert name is None or name in templates.TEMPLATES


def test_a_template_renders_only_its_own_parameters():
    text = templates.render("sms_ticket_taken", {"no": "20261123-000017", "status": "处理中", "note": "门牌12号"})
    assert text == "您的工单20261123-000017已有工作人员接单，当前状态：处理中。"


def test_mobile_numbers_are_told_from_landlines():
    assert service.is_mobile("13912345678")
    assert not service.is_mobile("037762345678")
    assert not service.is_mobile("12345678901")
    assert not service.is_mobile(None)
