"""Open311 discovery, the service list and service definitions, in both formats."""

from datetime import datetime, timedelta

import pytest

from kernel import clock
from tests.support.open311 import BASE, JSON_TYPE, XML_TYPE, as_text, assert_valid, read

FORMATS = ["xml", "json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_lists_this_servers_georeport_v2_endpoint_in_both_formats(o311, fmt):
    response = o311.get("discovery", fmt)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == (XML_TYPE if fmt == "xml" else JSON_TYPE)
    document = read(response)
    assert set(document) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"http://localhost{BASE}"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert datetime.fromisoformat(endpoint["changeset"]).utcoffset() is not None


def test_the_discovery_xml_uses_the_spec_element_names(o311):
    body = o311.get("discovery", "xml").get_data(as_text=True)
    assert "<discovery><changeset>" in body
    assert "<endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification>" in body
    assert "<formats><format>text/xml</format><format>application/json</format></formats>" in body


def test_the_changeset_moves_when_a_category_changes(o311, world):
    before = read(o311.get("discovery"))["changeset"]
    clock.travel(timedelta(minutes=1))
    world.client.patch("/api/v1/categories/CITY.GARBAGE", json={"name": "垃圾清运服务"}, headers=world.headers["admin"])
    assert read(o311.get("discovery"))["changeset"] > before


def test_services_are_the_categories_that_take_requests_with_their_parent_as_group(o311):
    response = o311.get("services")
    services = read(response)
    assert_valid(services, "services.json")
    codes = [service["service_code"] for service in services]
    assert "CITY.GARBAGE" in codes and "OTHER" in codes
    assert "CITY" not in codes  # a group, not a service
    garbage = next(service for service in services if service["service_code"] == "CITY.GARBAGE")
    assert garbage == {
        "service_code": "CITY.GARBAGE",
        "service_name": "垃圾清运",
        "description": garbage["description"],
        "metadata": False,
        "type": "realtime",
        "keywords": "垃圾清运, 市容环境",
        "group": "市容环境",
    }
    other = next(service for service in services if service["service_code"] == "OTHER")
    assert other["group"] is None


def test_the_services_xml_says_the_same_as_the_json(o311):
    xml = o311.get("services", "xml")
    assert xml.headers["Content-Type"] == XML_TYPE
    assert "<services><service><service_code>" in xml.get_data(as_text=True)
    assert read(xml) == as_text(read(o311.get("services")))


def test_an_inactive_category_is_not_a_service(o311, world):
    response = world.client.patch(
        "/api/v1/categories/CITY.GREEN", json={"active": False}, headers=world.headers["admin"]
    )
    assert response.status_code == 200
    assert "CITY.GREEN" not in [service["service_code"] for service in read(o311.get("services"))]
    assert o311.get("services/CITY.GREEN").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_definition_shows_the_categorys_extra_questions(o311, questions, fmt):
    response = o311.get("services/CITY.GARBAGE", fmt)
    assert response.status_code == 200
    definition = read(response)
    if fmt == "json":
        assert_valid(definition, "service-definition.json")
        assert next(s for s in read(o311.get("services")) if s["service_code"] == "CITY.GARBAGE")["metadata"] is True
    assert definition["service_code"] == "CITY.GARBAGE"
    kind, bags, when, note = definition["attributes"]
    assert as_text(kind) == as_text(
        {
            "variable": True,
            "code": "KIND",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "什么垃圾？",
            "values": [{"key": "bag", "name": "袋装垃圾"}, {"key": "bulky", "name": "大件垃圾"}],
        }
    )
    assert bags["datatype"] == "number" and as_text(bags["order"]) == "2" and bags["datatype_description"] == "整数"
    assert when["datatype"] == "multivaluelist"
    assert as_text(note["variable"]) == "false"


def test_the_service_definition_xml_nests_attributes_and_values(o311, questions):
    body = o311.get("services/CITY.GARBAGE", "xml").get_data(as_text=True)
    assert "<service_definition><service_code>CITY.GARBAGE</service_code><attributes><attribute>" in body
    assert "<values><value><key>bag</key><name>袋装垃圾</name></value>" in body


def test_a_service_without_questions_has_an_empty_definition(o311):
    definition = read(o311.get("services/OTHER"))
    assert definition == {"service_code": "OTHER", "attributes": []}
    assert_valid(definition, "service-definition.json")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("code", ["NO.SUCH", "CITY", "x" * 70])
def test_an_unknown_service_is_404_in_the_format_asked_for(o311, fmt, code):
    response = o311.get(f"services/{code}", fmt)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == (XML_TYPE if fmt == "xml" else JSON_TYPE)
    (error,) = read(response)
    assert as_text(error["code"]) == "404" and error["description"]


@pytest.mark.parametrize("path", ["discovery.csv", "services.html", "services/OTHER.yaml", "requests.txt"])
def test_an_unknown_format_is_404_in_xml(o311, path):
    response = o311.client.get(f"{BASE}/{path}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == XML_TYPE
    assert read(response) == [{"code": "404", "description": read(response)[0]["description"]}]
    assert "<errors><error><code>404</code><description>" in response.get_data(as_text=True)


def test_a_service_counted_in_working_days_says_so(o311, world):
    changed = world.client.patch(
        "/api/v1/categories/CITY.GARBAGE", json={"resolve_working_days": 3}, headers=world.headers["admin"]
    )
    assert changed.status_code == 200, changed.get_json()
    (service,) = [item for item in read(o311.get("services")) if item["service_code"] == "CITY.GARBAGE"]
    assert service["description"].endswith("within 3 working days.")
