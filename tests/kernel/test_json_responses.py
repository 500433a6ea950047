"""How JSON responses are written (kernel.jsonio): UTF-8 Chinese as it is, sorted keys, stable ETags, and what
orjson cannot write still written."""

from datetime import UTC, datetime
from decimal import Decimal


def test_chinese_text_is_sent_as_utf8_with_sorted_keys_and_a_stable_etag(client, make_account, auth, categories):
    admin_headers = auth(make_account("admin"))
    first = client.get("/api/v1/categories/CITY.GARBAGE", headers=admin_headers)
    second = client.get("/api/v1/categories/CITY.GARBAGE", headers=admin_headers)

    assert first.status_code == 200 and first.mimetype == "application/json"
    body = first.get_data()
    assert "垃圾清运".encode() in body and b"\\u" not in body
    assert list(first.get_json()) == sorted(first.get_json())
    assert body.endswith(b"\n")
    assert first.headers["ETag"] == second.headers["ETag"]
    assert (
        client.get(
            "/api/v1/categories/CITY.GARBAGE", headers={**admin_headers, "If-None-Match": first.headers["ETag"]}
        ).status_code
        == 304
    )


def test_values_orjson_will_not_write_fall_back_to_flasks_provider(app):
    with app.app_context():
        huge = app.json.response({"n": 2**70, "b": 1})
        decimal_and_time = app.json.response({"d": Decimal("1.5"), "t": datetime(2026, 11, 23, tzinfo=UTC)})

    assert huge.get_data(as_text=True).strip() == '{"b":1,"n":1180591620717411303424}'
    assert decimal_and_time.get_json() == {"d": "1.5", "t": "Mon, 23 Nov 2026 00:00:00 GMT"}
