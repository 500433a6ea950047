"""The console in a real browser: a supervisor's day on the board, the map, the dashboards, the party pages."""

import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from demo.seed import DEMO_PASSWORD
from grid.coords import wgs84_to_gcj02
from tests.console.conftest import free_port, log_in

pytestmark = pytest.mark.browser


def api_login(client, username):
    response = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def pending_ticket(client, headers):
    tickets = client.get("/api/v1/tickets", query_string={"status": "pending"}, headers=headers).get_json()
    return tickets["items"][0]


def test_a_supervisor_dispatches_a_pending_ticket_and_the_board_shows_it(demo, page, client, screenshots):
    log_in(page, "zhang.supervisor")
    assert page.title().startswith("工单台")
    pending = pending_ticket(client, api_login(client, "zhang.supervisor"))
    row = page.locator(f'tr[data-ticket-id="{pending["id"]}"]')
    assert row.locator("span.status").inner_text() == "待派单"
    assert page.locator("#count-open").inner_text() == "4"  # the demo's open tickets, 孔奶奶's promoted one among them
    page.screenshot(path=screenshots / "board.png")

    row.get_by_role("button", name="派单").click()
    page.get_by_label("本网格网格员").select_option(label="李网格员 ·")
    page.get_by_role("button", name="确定").click()

    row = page.locator(f'tr[data-ticket-id="{pending["id"]}"]')
    row.locator("span.status", has_text="已派单").wait_for()
    assert row.locator("td.assignee").inner_text() == "李网格员"
    assert "派单" not in [button.inner_text() for button in row.get_by_role("button").all()]
    stored = client.get(f"/api/v1/tickets/{pending['id']}", headers=api_login(client, "zhang.supervisor")).get_json()
    assert (stored["status"], stored["assignee"]["display_name"]) == ("assigned", "李网格员")


def test_a_refused_action_shows_the_apis_message(demo, page, client, console_log):
    console_log.expected_statuses.add(409)
    log_in(page, "zhang.supervisor")
    headers = api_login(client, "zhang.supervisor")
    pending = pending_ticket(client, headers)
    # Someone else cancels it while the board still offers 派单.
    cancelled = client.post(f"/api/v1/tickets/{pending['id']}/cancel", json={"reason": "重复反映"}, headers=headers)
    assert cancelled.status_code == 200

    page.locator(f'tr[data-ticket-id="{pending["id"]}"]').get_by_role("button", name="督办").click()
    page.get_by_label("说明").fill("请尽快处理")
    with page.expect_response(lambda response: response.url.endswith(f"/tickets/{pending['id']}/urge")) as refused:
        page.get_by_role("button", name="确定").click()
    assert refused.value.status == 409
    message = refused.value.json()["error"]["message"]
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == f"操作未成功： {message}"
    assert "error" in alert.get_attribute("class")


def test_a_tickets_page_shows_its_timeline_and_reveals_the_phone_on_a_reason(demo, page, client):
    log_in(page, "zhang.supervisor")
    headers = api_login(client, "zhang.supervisor")
    tickets = client.get("/api/v1/tickets", query_string={"status": "in_progress"}, headers=headers).get_json()
    ticket = tickets["items"][0]
    page.get_by_role("link", name=ticket["no"]).click()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#t-status").inner_text() == "处理中"
    steps = page.locator("#timeline li").all_inner_texts()
    assert len(steps) == 3 and "受理" in steps[0] and "派单" in steps[1] and "接单" in steps[2]
    assert "****" in page.locator("#t-phone").inner_text()
    page.locator("#ticket-map canvas").first.wait_for()

    page.once("dialog", lambda dialog: dialog.accept("回访核实"))
    page.get_by_role("button", name="查看完整号码").click()
    page.locator("#t-phone", has_text="1370000").wait_for()
    assert page.locator("#t-phone").inner_text() == "13700000103"


def photo_of_the_spot(client, headers) -> str:
    image = io.BytesIO()
    Image.new("RGB", (160, 120), (200, 80, 60)).save(image, "JPEG")
    upload = {"file": (io.BytesIO(image.getvalue()), "spot.jpg", "image/jpeg")}
    response = client.post("/api/v1/attachments", data=upload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_tickets_photos_and_position_show_on_its_page(demo, page, client, screenshots):
    headers = api_login(client, "zhang.supervisor")
    filed = client.post(
        "/api/v1/requests",
        json={
            "channel": "app",
            "category_code": "CITY.GARBAGE",
            "description": "垃圾桶破损，需要更换",
            "location": {"lat": 32.995, "lng": 112.5315},
            "reporter": {"name": "王先生", "phone": "13700000999"},
            "photos": [photo_of_the_spot(client, headers)],
        },
        headers=headers,
    )
    assert filed.status_code == 201, filed.get_json()
    log_in(page, "zhang.supervisor")
    page.goto(f"/console/tickets/{filed.get_json()['ticket']['id']}")
    page.wait_for_selector("body[data-ready=true]")
    photo = page.locator("#timeline img.photo")
    assert photo.evaluate("image => image.complete && image.naturalWidth") == 160
    assert page.locator("#t-actions").get_by_role("button").all_inner_texts() == [
        "派单",
        "上报",
        "撤销",
        "合并到其他工单",
        "督办",
    ]
    page.locator("#ticket-map canvas").first.wait_for()
    page.screenshot(path=screenshots / "ticket.png")


def test_the_map_and_the_dashboards_open_without_errors_and_export_a_ledger(demo, page, screenshots):
    log_in(page, "zhang.supervisor")
    page.get_by_role("link", name="地图").click()
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#territory-map canvas").first.wait_for()
    assert page.get_by_role("alert").is_hidden()
    page.screenshot(path=screenshots / "map.png")

    page.get_by_role("link", name="统计分析").click()
    page.wait_for_selector("body[data-ready=true]")
    assert "响应率" in page.locator("#rates").inner_text()
    assert page.locator("#chart-timeseries canvas").count() == 1
    page.screenshot(path=screenshots / "dashboards.png", full_page=True)

    with page.expect_download() as downloading:
        page.get_by_role("button", name="工单台账（CSV）").click()
    ledger = downloading.value
    raw = Path(ledger.path()).read_bytes()
    assert ledger.suggested_filename.endswith(".csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("工单编号")
    assert len(lines) == 8  # the headings and the demo's seven tickets
    page.get_by_role("alert").filter(has_text="文件已下载").wait_for()


def test_party_staff_see_organisations_members_check_ins_and_rankings(demo, page, screenshots):
    log_in(page, "sun.party")
    page.get_by_role("link", name="党建").click()
    page.wait_for_selector("body[data-ready=true]")
    assert "医圣祠社区第一网格党支部" in page.locator("#orgs").inner_text()
    phones = page.locator("#members td:nth-child(3)").all_inner_texts()
    assert phones and all("****" in phone for phone in phones if phone)
    assert "已确认" in page.locator("#check-ins").inner_text()
    page.locator("#chart-rankings canvas").first.wait_for()
    assert page.get_by_role("link", name="工单台").is_hidden()  # the board answers managers only
    page.screenshot(path=screenshots / "party.png", full_page=True)


def test_logging_out_ends_the_session_and_the_pages_ask_for_a_login_again(demo, page, console_log):
    console_log.expected_statuses.add(401)  # the board's session check after the logout
    log_in(page, "zhang.supervisor")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/console/login")
    page.goto("/console/")
    page.wait_for_url("**/console/login?next=*")
    assert page.get_by_role("button", name="登录").is_visible()


def test_a_wrong_password_is_refused_with_the_apis_message(demo, page, console_log):
    console_log.expected_statuses.add(401)
    page.goto("/console/login")
    page.get_by_label("用户名").fill("zhang.supervisor")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("alert").wait_for()
    assert page.get_by_role("alert").inner_text().startswith("操作未成功：")
    assert page.url.endswith("/console/login")


def test_changing_the_password_takes_the_new_one_at_the_next_login(demo, page):
    log_in(page, "zhang.supervisor")
    page.get_by_role("link", name="修改密码").click()
    page.wait_for_selector("body[data-ready=true]")
    page.get_by_label("当前密码").fill(DEMO_PASSWORD)
    page.get_by_label("新密码").fill("a-new-pass-2027")
    page.get_by_role("button", name="修改密码").click()
    page.get_by_role("alert").filter(has_text="已完成").wait_for()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/console/login")
    log_in(page, "zhang.supervisor", "a-new-pass-2027")


TILE_COLOUR = (40, 90, 200)


@pytest.fixture
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server of its own on another port (so another origin): one blue PNG for every tile asked."""
    image = io.BytesIO()
    Image.new("RGB", (256, 256), TILE_COLOUR).save(image, "PNG")
    asked: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(image.getvalue())))
            self.end_headers()
            self.wfile.write(image.getvalue())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tiles/{{z}}/{{x}}/{{y}}.png", asked
    server.shutdown()
    thread.join()


def test_with_a_tile_url_the_maps_draw_its_tiles_beneath_the_cells(demo, app, client, tile_server, page, monkeypatch):
    url, asked = tile_server
    monkeypatch.setitem(app.config, "CONSOLE_TILE_URL", url)
    monkeypatch.setitem(app.config, "CONSOLE_TILE_ATTRIBUTION", "© 测试底图")
    log_in(page, "zhang.supervisor")
    page.get_by_role("link", name="地图").click()
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#territory-map canvas").first.wait_for()
    page.wait_for_function("() => performance.getEntriesByType('resource').some((r) => r.name.includes('/tiles/'))")
    page.wait_for_load_state("networkidle")

    assert asked and all(re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", path) for path in asked), asked
    drawn = page.evaluate(
        """() => {
          const option = echarts.getInstanceByDom(document.getElementById('territory-map')).getOption();
          return { cells: option.series.find((s) => s.type === 'map').data.length,
                   tiles: option.series.find((s) => s.type === 'custom').data.length };
        }"""
    )
    assert drawn["cells"] > 0 and drawn["tiles"] == len(set(asked))
    shot = Image.open(io.BytesIO(page.locator("#territory-map").screenshot())).convert("RGB")
    colours = {colour for _, colour in shot.getcolors(maxcolors=1 << 20)}
    assert TILE_COLOUR in colours  # the tiles show around the cells

    # Zooming in fetches the view's tiles at a deeper zoom, so they stay sharp.
    deepest = max(int(path.split("/")[2]) for path in asked)
    box = page.locator("#territory-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    with page.expect_request(lambda request: f"/tiles/{deepest + 1}/" in request.url):
        for _ in range(15):
            page.mouse.wheel(0, -300)
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("alert").is_hidden()

    asked.clear()  # the ticket page's small map shares the drawing
    ticket = client.get("/api/v1/tickets", headers=api_login(client, "zhang.supervisor")).get_json()["items"][0]
    page.goto(f"/console/tickets/{ticket['id']}")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#ticket-map canvas").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert asked


def test_over_gcj02_tiles_the_map_shifts_what_it_draws_as_the_server_does(demo, app, tile_server, page, monkeypatch):
    monkeypatch.setitem(app.config, "CONSOLE_TILE_URL", tile_server[0])
    monkeypatch.setitem(app.config, "CONSOLE_TILE_COORD_SYSTEM", "gcj02")
    log_in(page, "zhang.supervisor")
    page.get_by_role("link", name="地图").click()
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#territory-map canvas").first.wait_for()
    page.wait_for_load_state("networkidle")
    shifted = page.evaluate(
        """async () => {
          const { inTileSystem } = await import('/console/static/js/tiles.js');
          const { cells, points } = inTileSystem({
            cells: { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'a' },
                     geometry: { type: 'Point', coordinates: [112.5315, 32.995] } }] },
            points: [{ name: 'b', value: [112.5315, 32.995] }, { name: 'far', value: [2.35, 48.85] }],
            tracks: [],
          });
          return [cells.features[0].geometry.coordinates, cells.features[0].properties.name, points];
        }"""
    )
    lat, lng = wgs84_to_gcj02(32.995, 112.5315)
    assert shifted[0] == pytest.approx([lng, lat], abs=1e-9) and shifted[1] == "a"
    assert shifted[2] == [
        {"name": "b", "value": pytest.approx([lng, lat], abs=1e-9)},
        {"name": "far", "value": [2.35, 48.85]},
    ]
    assert abs(lng - 112.5315) > 1e-3  # the shift is hundreds of metres, not nothing
