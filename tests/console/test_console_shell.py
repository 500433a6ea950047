"""The console's pages as the server sends them: in the caller's language, scripts from the app only."""

import json
import re

import pytest

from kernel.config import load_settings


def labels_of(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="labels">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_the_pages_are_chinese_by_default_and_english_on_request(client):
    # The suite's client asks for English; a browser that sends no Accept-Language gets Chinese.
    chinese = client.get("/console/", headers={"Accept-Language": ""}).get_data(as_text=True)
    assert "<title>工单台 · 网格化治理工作台</title>" in chinese
    assert labels_of(chinese)["actions"]["dispatch"] == "派单"
    english = client.get("/console/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<title>Work board · Grid governance console</title>" in english
    assert labels_of(english)["actions"]["dispatch"] == "Dispatch"


def test_every_page_loads_scripts_from_the_app_alone(client):
    for path in (
        "/console/",
        "/console/login",
        "/console/tickets/1",
        "/console/map",
        "/console/dashboards",
        "/console/party",
        "/console/password",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        sources = re.findall(r'<script[^>]* src="([^"]+)"', response.get_data(as_text=True))
        assert sources and all(source.startswith("/console/static/") for source in sources), (path, sources)
        for source in sources:
            assert client.get(source).status_code == 200, source


def test_the_charting_library_is_served_with_its_licence(client):
    script = client.get("/console/static/vendor/echarts.min.js")
    assert script.status_code == 200 and b"echarts" in script.data[:2000]
    assert b"Apache License" in client.get("/console/static/vendor/echarts.LICENSE").data


def test_an_unknown_console_page_is_a_404(client):
    assert client.get("/console/nowhere").status_code == 404


TILES = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"


def test_without_a_tile_url_the_map_names_no_tile_server(client):
    for path in ("/console/map", "/console/tickets/1"):
        response = client.get(path)
        assert 'id="tile-layer"' not in response.get_data(as_text=True)
        assert "img-src 'self' data: blob:;" in response.headers["Content-Security-Policy"]
        assert "example.gov.cn" not in response.headers["Content-Security-Policy"]


def test_a_tile_url_reaches_the_map_pages_and_their_image_sources(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CONSOLE_TILE_URL", TILES)
    monkeypatch.setitem(app.config, "CONSOLE_TILE_ATTRIBUTION", "© 测绘局")
    for path in ("/console/map", "/console/tickets/1"):
        response = client.get(path)
        found = re.search(
            r'<script type="application/json" id="tile-layer">(.*?)</script>', response.get_data(as_text=True)
        )
        assert found is not None, path
        assert json.loads(found.group(1)) == {
            "url": TILES,
            "attribution": "© 测绘局",
            "max_zoom": 18,
            "coord_system": "wgs84",
        }
        policy = response.headers["Content-Security-Policy"]
        assert "img-src 'self' data: blob: https://tiles.example.gov.cn;" in policy
        assert "script-src 'self';" in policy and "connect-src 'self';" in policy


def test_a_tile_url_must_be_an_http_template_naming_z_x_and_y():
    keys = {"SECRET_KEY": "k", "JWT_SECRET_KEY": "j"}
    assert load_settings(keys)["CONSOLE_TILE_URL"] == ""
    assert load_settings({**keys, "CONSOLE_TILE_URL": TILES})["CONSOLE_TILE_URL"] == TILES
    for wrong in ("https://tiles.example.gov.cn/tile.png", "ftp://tiles.example.gov.cn/{z}/{x}/{y}.png", "{z}/{x}/{y}"):
        with pytest.raises(ValueError, match="CONSOLE_TILE_URL"):
            load_settings({**keys, "CONSOLE_TILE_URL": wrong})
    assert load_settings({**keys, "CONSOLE_TILE_COORD_SYSTEM": "GCJ02"})["CONSOLE_TILE_COORD_SYSTEM"] == "gcj02"
    with pytest.raises(ValueError, match="CONSOLE_TILE_COORD_SYSTEM"):
        load_settings({**keys, "CONSOLE_TILE_COORD_SYSTEM": "bd09"})
