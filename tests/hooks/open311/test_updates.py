"""FixMyStreet's servicerequestupdates: a request's status changes as extended statuses and residents' comments,
read and posted in both formats; and the status mapping of GeoReport v2 records."""

from typing import Any

import pytest
from sqlalchemy import func, select

from hooks.open311 import statuses
from kernel.extensions import db
from tasks.lifecycle import Status
from tasks.tickets.models import TicketEvent
from tests.support.open311 import BASE, JSON_TYPE, XML_TYPE, Open311, as_text, integration_key, read

FORMATS = ["xml", "json"]
UPDATE_FIELDS = {"update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"}


def updates(o311: Open311, fmt: str = "json", **query: Any) -> list[dict[str, Any]]:
    response = o311.get("servicerequestupdates", fmt, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == (XML_TYPE if fmt == "xml" else JSON_TYPE)
    return read(response)


def comment(o311: Open311, request_id: str, fmt: str = "json", **form: Any) -> Any:
    fields = {
        "service_request_id": request_id,
        "update_id": "fms-501",
        "status": "OPEN",
        "updated_datetime": "2026-12-06T10:00:00+08:00",
        "description": "还是没有清理",
        **form,
    }
    return o311.post("servicerequestupdates", fmt, **fields)


def request_of(o311: Open311, world, ticket: dict[str, Any]) -> str:
    listed = world.client.get(f"/api/v1/requests?ticket_id={ticket['id']}", headers=world.headers["admin"])
    return listed.get_json()["items"][0]["id"]


def test_status_changes_are_updates_with_extended_statuses(o311, world):
    ticket = world.resolved()
    request_id = request_of(o311, world, ticket)
    found = updates(o311)
    assert [update["status"] for update in found] == ["OPEN", "ACTION_SCHEDULED", "IN_PROGRESS", "FIXED"]
    assert all(set(update) == UPDATE_FIELDS and update["service_request_id"] == request_id for update in found)
    assert found[-1]["description"] == "已清运完毕"  # the resolution note is written for the resident
    assert found[0]["description"] == "Request received."
    assert len({update["update_id"] for update in found}) == 4


def test_the_updates_xml_says_the_same_as_the_json(o311, world):
    world.resolved()
    body = o311.get("servicerequestupdates", "xml").get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<service_request_updates><request_update>')
    assert updates(o311, "xml") == as_text(updates(o311))


@pytest.mark.parametrize(
    ("steps", "last"),
    [
        ([("supervisor", "escalate", {"reason": "需要社区处理"})], "INVESTIGATING"),
        ([("supervisor", "cancel", {"reason": "重复"})], "NO_FURTHER_ACTION"),
        ([("supervisor", "close", {})], "CLOSED"),
        ([("supervisor", "reopen", {"reason": "没有清理干净"})], "IN_PROGRESS"),
        ([("worker", "suspend", {"reason": "waiting_for_resident"})], "ACTION_SCHEDULED"),
        ([("worker", "return", {"reason": "不属于本网格"})], "IN_PROGRESS"),
    ],
)
def test_each_kind_of_change_has_its_extended_status(o311, world, steps, last):
    if steps[0][1] in ("close", "reopen"):
        ticket = world.resolved()
    elif steps[0][1] in ("suspend", "return"):
        ticket = world.in_progress()
    else:
        ticket = world.ticket()
    for who, action, body in steps:
        world.act(who, ticket, action, **body)
    assert updates(o311)[-1]["status"] == last


def test_a_merged_duplicate_is_duplicate_and_staff_reasons_are_not_shown(o311, world):
    kept, duplicate = world.ticket(), world.ticket()
    world.act("supervisor", duplicate, "cancel", reason="与张三家的重复 13912345678", merged_into=kept["id"])
    found = updates(o311)
    assert "DUPLICATE" in [update["status"] for update in found]
    assert not any("张三" in (update["description"] or "") for update in found)


def test_the_date_window_applies_to_updates(o311, world):
    world.resolved()
    assert updates(o311, start_date="2020-01-01T00:00:00Z", end_date="2020-02-01T00:00:00Z") == []
    assert len(updates(o311, start_date="", end_date="")) == 4
    response = o311.get("servicerequestupdates", start_date="2020-01-01T00:00:00Z", end_date="2021-01-01T00:00:00Z")
    assert response.status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_residents_comment_goes_onto_the_tickets_record(app, o311, world, fmt):
    filed = o311.file()
    response = comment(o311, filed["service_request_id"], fmt, media_url="https://fms.example/p/2.jpg")
    assert response.status_code == 200, response.get_data(as_text=True)
    (answer,) = read(response)
    assert set(answer) == {"update_id"} and answer["update_id"].startswith("c")
    if fmt == "xml":
        assert "<service_request_updates><request_update><update_id>" in response.get_data(as_text=True)
    ticket_id = world.client.get(
        f"/api/v1/requests/{filed['service_request_id']}", headers=world.headers["admin"]
    ).get_json()["ticket_id"]
    events = world.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=world.headers["admin"]).get_json()
    (posted,) = [event for event in events["items"] if event["action"] == "open311_comment"]
    assert posted["note"] == "还是没有清理" and posted["details"]["status"] == "OPEN"
    shown = [update for update in updates(o311) if update["update_id"] == answer["update_id"]]
    assert shown == [
        {
            "update_id": answer["update_id"],
            "service_request_id": filed["service_request_id"],
            "status": "OPEN",
            "updated_datetime": shown[0]["updated_datetime"],
            "description": "还是没有清理",
            "media_url": "https://fms.example/p/2.jpg",
        }
    ]


def test_a_repeated_update_id_files_the_comment_once(app, o311):
    filed = o311.file()
    first = read(comment(o311, filed["service_request_id"]))
    again = read(comment(o311, filed["service_request_id"], "xml"))
    assert as_text(first) == again
    with app.app_context():
        count = select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "open311_comment")
        assert db.session.scalar(count) == 1


def test_a_comment_does_not_change_the_status(o311):
    filed = o311.file()
    assert comment(o311, filed["service_request_id"], status="FIXED").status_code == 200
    (record,) = read(o311.get(f"requests/{filed['service_request_id']}"))
    assert record["status"] == "open"


@pytest.mark.parametrize("fmt", FORMATS)
def test_commenting_needs_a_key(o311, fmt):
    filed = o311.file()
    response = o311.post(
        "servicerequestupdates",
        fmt,
        key=False,
        service_request_id=filed["service_request_id"],
        update_id="x",
        status="OPEN",
        description="评论",
    )
    assert response.status_code == 403
    (error,) = read(response)
    assert as_text(error["code"]) == "403"


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"service_request_id": "999999"}, 404),
        ({"service_request_id": ""}, 400),
        ({"update_id": ""}, 400),
        ({"status": "SOLVED"}, 400),
        ({"description": ""}, 400),
        ({"updated_datetime": "yesterday"}, 400),
    ],
)
def test_a_malformed_comment_is_refused(o311, form, status):
    filed = o311.file()
    response = comment(o311, filed["service_request_id"], **form)
    assert response.status_code == status, response.get_data(as_text=True)
    assert as_text(read(response)[0]["code"]) == str(status)


def test_a_key_may_comment_only_on_requests_in_its_area(world, cell):
    theirs = Open311(world.client, integration_key(world))
    filed = theirs.file()
    elsewhere = Open311(world.client, integration_key(world, grid_id=str(world.tree["S2"].id)))
    assert comment(elsewhere, filed["service_request_id"]).status_code == 404


def test_the_updates_get_of_an_unknown_format_is_404(o311):
    response = o311.client.get(f"{BASE}/servicerequestupdates.csv")
    assert response.status_code == 404 and response.headers["Content-Type"] == XML_TYPE


# --- the status mapping (the tables) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "georeport", "extended"),
    [
        (Status.PENDING, "open", "OPEN"),
        (Status.ASSIGNED, "open", "ACTION_SCHEDULED"),
        (Status.IN_PROGRESS, "open", "IN_PROGRESS"),
        (Status.RESOLVED, "closed", "FIXED"),
        (Status.CLOSED, "closed", "CLOSED"),
        (Status.CANCELLED, "closed", "NO_FURTHER_ACTION"),
        (Status.RETURN_REQUESTED, "open", "IN_PROGRESS"),
        (Status.SUSPEND_REQUESTED, "open", "IN_PROGRESS"),
        (Status.SUSPENDED, "open", "ACTION_SCHEDULED"),
    ],
)
def test_every_status_maps_to_open_or_closed_and_an_extended_status(status, georeport, extended):
    assert statuses.georeport(status) == georeport
    assert statuses.extended("any", status, {}) == extended
    assert extended in statuses.ALL_EXTENDED


def test_the_table_covers_every_status():
    assert {status for status in Status} == set(statuses.EXTENDED)


def test_an_escalation_is_investigating_and_a_merge_a_duplicate():
    assert statuses.extended("escalate", Status.PENDING, {}) == "INVESTIGATING"
    assert statuses.extended("cancel", Status.CANCELLED, {"merged_into": "7"}) == "DUPLICATE"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda world: world.ticket(), "open"),
        (lambda world: world.in_progress(), "open"),
        (lambda world: world.resolved(), "closed"),
    ],
)
def test_records_carry_the_mapped_status(o311, world, make, expected):
    make(world)
    (record,) = read(o311.get("requests"))
    assert record["status"] == expected


def test_a_cancelled_request_is_closed_with_a_note(o311, world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "cancel", reason="居民撤回")
    (record,) = read(o311.get("requests"))
    assert (record["status"], record["status_notes"]) == ("closed", "Cancelled.")
