"""Open311 service requests: filing with an integration's key through the normal intake, reading them back in both
formats, every error the issue lists, the date window, retries, jurisdiction_id and empty parameters."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from grid.coords import from_wgs84
from kernel import clock
from kernel.extensions import db
from tasks.tickets.models import ResidentRequest, TicketEvent
from tests.support.open311 import (
    BASE,
    JSON_TYPE,
    LAT,
    LNG,
    XML_TYPE,
    Open311,
    as_text,
    assert_valid,
    integration_key,
    read,
)
from tests.support.tasks import RESIDENT_PHONE

FORMATS = ["xml", "json"]
RECORD_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def stored_requests(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ResidentRequest))


def records(o311: Open311, fmt: str = "json", **query: Any) -> list[dict[str, Any]]:
    response = o311.get("requests", fmt, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    found = read(response)
    if fmt == "json":
        assert_valid(found, "requests.json")
    return found


def the_error(response: Any, status: int, fmt: str = "json") -> str:
    """The one Open311 error of this status, in the format asked for; its description."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == (XML_TYPE if fmt == "xml" else JSON_TYPE)
    (error,) = read(response)
    assert set(error) == {"code", "description"}
    assert as_text(error["code"]) == str(status) and error["description"]
    if fmt == "xml":
        assert "<errors><error><code>" in response.get_data(as_text=True)
    return error["description"]


# --- filing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_is_filed_with_a_key_and_answered_with_its_id(o311, world, cell, fmt):
    response = o311.post(
        "requests", fmt, service_code="CITY.GARBAGE", lat=LAT + 0.001, long=LNG + 0.001, description="小区门口垃圾堆积"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == (XML_TYPE if fmt == "xml" else JSON_TYPE)
    (answer,) = read(response)
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] is None and "24 hours" in answer["service_notice"]
    if fmt == "xml":
        body = response.get_data(as_text=True)
        assert "<service_requests><request><service_request_id>" in body and "<account_id />" in body
    request = world.client.get(f"/api/v1/requests/{answer['service_request_id']}", headers=world.headers["admin"])
    assert request.status_code == 200
    assert request.get_json()["channel"] == "web" and request.get_json()["grid_id"] == cell["id"]


def test_the_intake_records_which_integration_filed_it_over_open311(app, o311):
    answer = o311.file()
    with app.app_context():
        request = db.session.get(ResidentRequest, int(answer["service_request_id"]))
        event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == request.ticket_id)).one()
        assert event.action == "create" and event.details["via"] == "open311"
        assert event.details["integration"] == "FixMyStreet 城市版"


def test_the_intake_points_out_a_nearby_open_request_of_the_same_service(o311, world):
    first = o311.file(description="垃圾堆积")
    ticket_id = world.client.get(
        f"/api/v1/requests/{first['service_request_id']}", headers=world.headers["admin"]
    ).get_json()["ticket_id"]
    # the normal intake's duplicate finder sees the Open311 request: both went through the same intake
    filed = world.client.post(
        "/api/v1/requests",
        json={
            "channel": "app",
            "category_code": "CITY.GARBAGE",
            "description": "又有垃圾",
            "location": {"lat": LAT + 0.001, "lng": LNG + 0.001},
        },
        headers=world.headers["supervisor"],
    ).get_json()
    assert ticket_id in [ticket["id"] for ticket in filed["possible_duplicates"]]


def test_the_reporters_name_and_phone_reach_the_handlers_only(o311, world):
    answer = o311.file(first_name="三", last_name="张", phone="+86 139-1234-5678", email="zhang@example.com")
    seen = world.client.get(f"/api/v1/requests/{answer['service_request_id']}", headers=world.headers["admin"])
    assert seen.get_json()["reporter"] == {"name": "张三", "phone": "139****5678"}


def test_a_phone_the_intake_cannot_text_is_dropped_not_refused(o311, world):
    answer = o311.file(first_name="John", last_name="Smith", phone="111111111")
    seen = world.client.get(f"/api/v1/requests/{answer['service_request_id']}", headers=world.headers["admin"])
    assert seen.get_json()["reporter"] == {"name": "John Smith", "phone": None}


def test_answers_to_the_services_questions_are_kept_on_the_request(o311, world, questions):
    response = o311.post(
        "requests",
        service_code="CITY.GARBAGE",
        lat=LAT + 0.001,
        long=LNG + 0.001,
        **{"attribute[KIND]": "bulky", "attribute[BAGS]": "3", "attribute[WHEN][]": ["am", "pm"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (answer,) = read(response)
    seen = world.client.get(f"/api/v1/requests/{answer['service_request_id']}", headers=world.headers["admin"])
    assert seen.get_json()["attributes"] == {"KIND": "bulky", "BAGS": 3, "WHEN": ["am", "pm"]}


def test_an_address_alone_goes_to_the_keys_area(world, cell):
    o311 = Open311(world.client, integration_key(world, grid_id=str(world.tree["C1"].id)))
    answer = o311.file(lat="", long="", address_string="新华街 12 号")
    seen = world.client.get(f"/api/v1/requests/{answer['service_request_id']}", headers=world.headers["admin"])
    assert seen.get_json()["grid_id"] == str(world.tree["C1"].id) and seen.get_json()["address"] == "新华街 12 号"


def test_an_address_id_is_a_grid_units_code(o311, world):
    answer = o311.file(lat="", long="", address_id="G1b")
    record = records(o311, service_request_id=answer["service_request_id"])[0]
    assert record["address_id"] == "G1b" and record["agency_responsible"] == world.tree["G1b"].name


def test_a_request_without_a_description_is_described_by_its_service(o311):
    answer = o311.file()
    assert records(o311, service_request_id=answer["service_request_id"])[0]["description"] == "垃圾清运"


# --- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missing_api_key_is_403(o311, fmt):
    response = o311.post("requests", fmt, key=False, service_code="CITY.GARBAGE", lat=LAT, long=LNG)
    assert "api_key" in the_error(response, 403, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("key", ["nonsense", "ik000000000000.wrong", ""])
def test_a_wrong_api_key_is_403(o311, fmt, key):
    response = o311.post("requests", fmt, key=False, api_key=key, service_code="CITY.GARBAGE", lat=LAT, long=LNG)
    the_error(response, 403, fmt)


def test_a_paused_integrations_key_is_403(o311, world):
    integrations = world.client.get("/api/v1/integrations", headers=world.headers["admin"]).get_json()["items"]
    world.client.patch(
        f"/api/v1/integrations/{integrations[0]['id']}", json={"active": False}, headers=world.headers["admin"]
    )
    the_error(o311.post("requests", service_code="CITY.GARBAGE", lat=LAT, long=LNG), 403)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missing_service_code_is_400(app, o311, fmt):
    assert "service_code" in the_error(o311.post("requests", fmt, lat=LAT, long=LNG), 400, fmt)
    assert stored_requests(app) == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_service_code_is_404(o311, fmt):
    the_error(o311.post("requests", fmt, service_code="NO.SUCH", lat=LAT, long=LNG), 404, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_location_is_400(app, o311, fmt):
    assert "location" in the_error(o311.post("requests", fmt, service_code="CITY.GARBAGE"), 400, fmt)
    assert stored_requests(app) == 0


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"lat": LAT}, "location"),  # lat without long
        ({"lat": "north", "long": LNG}, "lat"),
        ({"lat": 91, "long": LNG}, "lat"),
        ({"lat": LAT + 5, "long": LNG}, "location"),  # no cell holds it
        ({"address_id": "NOWHERE"}, "address_id"),
        ({"description": "长" * 4001}, "description"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
def test_malformed_parameters_are_400_naming_them(app, o311, form, named):
    fields = {"service_code": "CITY.GARBAGE", "long": LNG + 0.001, "lat": LAT + 0.001, **form}
    if "address_id" in form:
        fields.update(lat="", long="")
    if "lat" in form and "long" not in form:
        fields.pop("long")
    assert named in the_error(o311.post("requests", **fields), 400)
    assert stored_requests(app) == 0


def test_an_address_alone_with_a_whole_territory_key_is_400(o311):
    assert "address_string" in the_error(o311.post("requests", service_code="CITY.GARBAGE", address_string="某处"), 400)


def test_a_place_outside_the_keys_area_is_400(app, world, cell):
    o311 = Open311(world.client, integration_key(world, grid_id=str(world.tree["S2"].id)))
    the_error(o311.post("requests", service_code="CITY.GARBAGE", lat=LAT + 0.001, long=LNG + 0.001), 400)
    assert stored_requests(app) == 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({}, "KIND"),  # required
        ({"attribute[KIND]": "glass"}, "KIND"),
        ({"attribute[KIND]": "bag", "attribute[BAGS]": "many"}, "BAGS"),
        ({"attribute[KIND]": "bag", "attribute[COLOUR]": "red"}, "COLOUR"),
    ],
)
def test_a_bad_attribute_is_400_naming_it(app, o311, questions, fmt, answers, code):
    response = o311.post("requests", fmt, service_code="CITY.GARBAGE", lat=LAT + 0.001, long=LNG + 0.001, **answers)
    assert f"attribute[{code}]" in the_error(response, 400, fmt)
    assert stored_requests(app) == 0


def test_a_json_body_is_400(o311):
    response = o311.client.post(f"{BASE}/requests.json", json={"api_key": o311.api_key, "service_code": "OTHER"})
    the_error(response, 400)


# --- reading -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_filed_request_is_read_back_in_both_formats(o311, world, cell, fmt):
    answer = o311.file(description="门口垃圾", address_string="新华街 12 号", media_url="https://fms.example/p/1.jpg")
    listed = records(o311, fmt)
    one = o311.get(f"requests/{answer['service_request_id']}", fmt)
    assert one.status_code == 200
    assert read(one) == listed
    if fmt == "json":
        assert_valid(read(one), "requests.json")
        assert_valid(read(one)[0], "request.json")
    (record,) = listed
    assert set(record) == RECORD_FIELDS
    if fmt == "xml":
        assert read(one) == as_text(records(o311))
        assert "<service_requests><request><service_request_id>" in one.get_data(as_text=True)
        return
    assert record["service_request_id"] == answer["service_request_id"]
    assert (record["status"], record["service_code"], record["service_name"]) == ("open", "CITY.GARBAGE", "垃圾清运")
    assert record["description"] == "门口垃圾" and record["address"] == "新华街 12 号"
    assert record["agency_responsible"] == "第三网格" and record["address_id"] == "G1c"
    assert record["media_url"] == "https://fms.example/p/1.jpg"
    assert record["lat"] == pytest.approx(LAT + 0.001) and record["long"] == pytest.approx(LNG + 0.001)
    requested = datetime.fromisoformat(record["requested_datetime"])
    expected = datetime.fromisoformat(record["expected_datetime"])
    assert requested.utcoffset() == timedelta(hours=8) and expected - requested == pytest.approx(
        timedelta(hours=24), abs=timedelta(seconds=2)
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("request_id", ["999999", "abc"])
def test_an_unknown_request_is_404(o311, fmt, request_id):
    the_error(o311.get(f"requests/{request_id}", fmt), 404, fmt)


def test_a_request_filed_in_gcj02_is_given_in_wgs84(o311, world, cell):
    gcj_lat, gcj_lng = from_wgs84(LAT + 0.001, LNG + 0.001, "gcj02")
    assert abs(gcj_lng - (LNG + 0.001)) > 0.003  # the shift is hundreds of metres here
    world.file("supervisor", grid_id=None, location={"lat": gcj_lat, "lng": gcj_lng, "coord_system": "gcj02"})
    (record,) = records(o311)
    assert record["lat"] == pytest.approx(LAT + 0.001, abs=1e-6)
    assert record["long"] == pytest.approx(LNG + 0.001, abs=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_record_carries_a_residents_name_phone_or_email(o311, world, fmt):
    o311.file(
        first_name="三",
        last_name="张",
        phone="13912345678",
        email="zhang@example.com",
        description="张三 电话 139 1234 5678，座机 0377-63123456",
    )
    world.file(reporter={"name": "王秀英", "phone": RESIDENT_PHONE})
    for path in ("requests", f"requests/{records(o311)[0]['service_request_id']}"):
        body = o311.get(path, fmt).get_data(as_text=True)
        for personal in ("王秀英", "zhang@example.com", "1234 5678", "12345678", "63123456", RESIDENT_PHONE):
            assert personal not in body
        assert "139****5678" in body or path != "requests"


def test_the_record_closes_when_the_ticket_is_resolved_and_notes_the_resolution(o311, world):
    ticket = world.resolved()
    (record,) = records(o311)
    assert record["status"] == "closed" and record["status_notes"] == "已清运完毕"
    assert record["updated_datetime"] >= record["requested_datetime"]
    world.act("supervisor", ticket, "reopen", reason="没有清理干净")
    assert records(o311)[0]["status"] == "open"


# --- filters and the window --------------------------------------------------------------------------------------


def test_filters_by_service_code_status_and_id(o311, world):
    garbage = o311.file()
    litter = o311.file(service_code="CITY.LITTER")
    world.resolved()  # a closed one, filed through the app
    ids = lambda found: {record["service_request_id"] for record in found}  # noqa: E731
    assert ids(records(o311, service_code="CITY.LITTER")) == {litter["service_request_id"]}
    assert len(records(o311, service_code="CITY.LITTER,CITY.GARBAGE")) == 3
    assert ids(records(o311, status="open")) == {garbage["service_request_id"], litter["service_request_id"]}
    assert len(records(o311, status="closed")) == 1 and len(records(o311, status="open,closed")) == 3
    both = f"{garbage['service_request_id']},{litter['service_request_id']}"
    # the ids override the other filters
    assert ids(records(o311, service_request_id=both, status="closed")) == ids([garbage, litter])


def test_empty_optional_parameters_mean_absent_ones(o311):
    o311.file(email="", device_id="", first_name="", description="", media_url="", **{"attribute[X]": ""})
    everything = records(o311)
    assert len(everything) == 1
    empty = {
        "service_request_id": "",
        "service_code": "",
        "start_date": "",
        "end_date": "",
        "status": "",
        "jurisdiction_id": "",
    }
    assert records(o311, **empty) == everything
    assert read(o311.get("services", jurisdiction_id="")) == read(o311.get("services"))


def test_the_default_window_is_the_last_90_days_including_today(o311):
    clock.travel(timedelta(days=-91))
    o311.file(description="91 天前")
    clock.travel(timedelta(days=-89))
    o311.file(description="89 天前")
    clock.travel(timedelta(0))
    o311.file(description="今天")
    assert [record["description"] for record in records(o311)] == ["今天", "89 天前"]


def test_a_window_of_dates_selects_by_requested_time(o311):
    clock.travel(timedelta(days=-100))
    o311.file(description="100 天前")
    clock.travel(timedelta(0))
    o311.file(description="今天")
    start = (datetime.now().astimezone() - timedelta(days=120)).isoformat(timespec="seconds")
    assert [r["description"] for r in records(o311, start_date=start)] == ["100 天前"]  # 90 days from the start
    end = (datetime.now().astimezone() - timedelta(days=50)).isoformat(timespec="seconds")
    assert [r["description"] for r in records(o311, end_date=end)] == ["100 天前"]  # 90 days up to the end


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"},  # 91 days
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},  # backwards
        {"start_date": "2026-01-01"},  # not a time
        {"end_date": "2026-01-01T00:00:00"},  # no offset
        {"status": "pending"},
        {"service_request_id": "1,abc"},
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bad_window_or_filter_is_400(o311, query, fmt):
    the_error(o311.get("requests", fmt, **query), 400, fmt)


def test_a_window_of_exactly_90_days_is_allowed(o311):
    assert records(o311, start_date="2026-01-01T00:00:00+08:00", end_date="2026-04-01T00:00:00+08:00") == []


# --- retries -----------------------------------------------------------------------------------------------------


def test_a_clients_retry_is_filed_once(app, o311):
    form = {"device_id": "phone-7", "description": "重试的请求"}
    first = o311.file(**form)
    again = o311.file("xml", **form)
    assert again["service_request_id"] == first["service_request_id"]
    assert stored_requests(app) == 1
    assert o311.file(**{**form, "device_id": "phone-8"})["service_request_id"] != first["service_request_id"]
    assert stored_requests(app) == 2


def test_the_same_report_after_the_retry_window_is_a_new_request(app, o311):
    first = o311.file(device_id="phone-7")
    clock.travel(timedelta(minutes=11))
    later = o311.file(device_id="phone-7")
    assert later["service_request_id"] != first["service_request_id"]
    assert o311.file(device_id="phone-7")["service_request_id"] == later["service_request_id"]
    assert stored_requests(app) == 2


def test_a_refused_request_leaves_no_claim_behind(app, o311):
    o311.post("requests", service_code="CITY.GARBAGE", lat=LAT + 5, long=LNG, device_id="d")
    o311.file(device_id="d")
    assert stored_requests(app) == 1


# --- jurisdiction_id and brakes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction_id_is_checked_when_configured(app, o311, monkeypatch, fmt):
    monkeypatch.setitem(app.config, "OPEN311_JURISDICTION_ID", "wancheng.gov.cn")
    assert o311.get("services", fmt, jurisdiction_id="wancheng.gov.cn").status_code == 200
    assert o311.get("services", fmt).status_code == 200
    the_error(o311.get("services", fmt, jurisdiction_id="sfgov.org"), 404, fmt)
    the_error(o311.get("requests", fmt, jurisdiction_id="sfgov.org"), 404, fmt)
    response = o311.post("requests", fmt, jurisdiction_id="sfgov.org", service_code="OTHER", lat=LAT, long=LNG)
    the_error(response, 404, fmt)
    assert o311.file(fmt, jurisdiction_id="wancheng.gov.cn")["service_request_id"]


def test_any_jurisdiction_id_is_accepted_when_none_is_configured(o311):
    assert o311.get("services", jurisdiction_id="sfgov.org").status_code == 200


def test_requests_past_the_limit_per_address_are_429(app, o311, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_REQUESTS_PER_MINUTE_PER_ADDRESS", 3)
    for _ in range(3):
        assert o311.get("services").status_code == 200
    response = o311.get("services", "xml")
    the_error(response, 429, "xml")
    assert int(response.headers["Retry-After"]) >= 1


def test_filings_past_the_limit_per_key_are_429(app, o311, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_REQUESTS_PER_MINUTE_PER_KEY", 2)
    o311.file(description="一")
    o311.file(description="二")
    the_error(o311.post("requests", service_code="CITY.GARBAGE", lat=LAT + 0.001, long=LNG + 0.001), 429)
    assert o311.get("requests").status_code == 200  # reading needs no key


def test_text_is_escaped_in_xml_and_characters_xml_cannot_hold_are_left_out(o311, world):
    world.file(description="井盖 <缺失> & 积水\x07")
    (record,) = read(o311.get("requests", "xml"))
    assert record["description"] == "井盖 <缺失> & 积水"
    assert records(o311)[0]["description"] == "井盖 <缺失> & 积水\x07"
