"""Ledgers: the streamed CSV (BOM, Chinese headings, one row per received ticket, masked phones), the XLSX
workbooks, and full phones only with a reason, recorded in the personal-data access log."""

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kernel.extensions import db
from tasks.tickets.models import PersonalDataRead
from tests.support.http import assert_error
from tests.support.stats import NOVEMBER
from tests.support.tasks import RESIDENT_PHONE, World

QUERY = "from=2026-11-01&to=2026-11-30"
# The ledger's columns as its (Chinese) readers see them.
TICKET_HEADINGS = [
    "工单编号", "受理时间", "渠道", "类别", "所属网格", "首接单位", "当前责任单位", "状态", "优先级", "反映人",
    "联系电话", "地址", "问题描述", "处理人", "派单时间", "响应期限", "接单时间", "办结期限", "办结时间", "关闭时间",
    "是否超期", "就地办结", "评价", "退单次数", "退单驳回次数", "延期次数", "挂起时长(小时)",
]  # fmt: skip


def export(world: World, who: str, name: str, query: str = QUERY, language: str = "zh-CN") -> Any:
    """An export as its readers get it: in Chinese, unless `language` asks otherwise."""
    headers = {**world.headers[who], "Accept-Language": language}
    return world.client.get(f"/api/v1/exports/{name}?{query}", headers=headers)


def csv_rows(response: Any) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def ledger_by_number(world: World) -> dict[str, dict[str, str]]:
    """The CSV ledger's rows by ticket number, each keyed by its (Chinese) headings."""
    headings, *rows = csv_rows(export(world, "supervisor", "tickets.csv"))
    return {row[0]: dict(zip(headings, row, strict=True)) for row in rows}


def test_the_csv_ledger_is_streamed_with_a_row_per_received_ticket(world, hand):
    response = export(world, "supervisor", "tickets.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == TICKET_HEADINGS
    summary = world.client.get(
        "/api/v1/stats/summary", query_string=NOVEMBER, headers=world.headers["supervisor"]
    ).get_json()
    assert len(rows) - 1 == summary["received"] == 11
    assert {row[0] for row in rows[1:]} == {hand[n]["no"] for n in hand if n != "t10"}


def test_the_csv_ledger_describes_each_ticket(world, hand):
    rows = ledger_by_number(world)
    t2 = rows[hand["t2"]["no"]]
    assert t2["受理时间"] == "2026-11-10 09:00" and t2["渠道"] == "APP" and t2["类别"] == "垃圾清运"
    assert t2["状态"] == "已关闭" and t2["是否超期"] == "是" and t2["评价"] == "4" and t2["处理人"] == "李网格员"
    assert t2["所属网格"].endswith(world.tree["G1a"].name)
    t8 = rows[hand["t8"]["no"]]
    assert t8["当前责任单位"] == world.tree["S1"].name and t8["状态"] == "待派单"
    assert t8["首接单位"] == world.tree["G1a"].name  # the first receiver, wherever the ticket went
    assert rows[hand["t9"]["no"]]["渠道"] == "热线"
    assert {row["就地办结"] for row in rows.values()} == {"否"}  # every resolution here followed a dispatch


def test_the_csv_ledger_marks_a_ticket_handled_on_the_spot(world):
    from tests.support.stats import at

    at(0)
    spot = world.ticket("worker", handle="self", resolution={"note": "已当场清理"})
    rows = ledger_by_number(world)
    assert rows[spot["no"]]["就地办结"] == "是" and rows[spot["no"]]["首接单位"] == world.tree["G1a"].name


def test_phones_are_masked_in_the_ledger(world, hand):
    rows = csv_rows(export(world, "supervisor", "tickets.csv"))[1:]
    assert {row[TICKET_HEADINGS.index("联系电话")] for row in rows} == {"139****5678"}


def test_full_phones_need_a_reason_and_are_recorded(app, world, hand):
    refused = export(world, "supervisor", "tickets.csv", QUERY + "&reveal_phones=true")
    assert_error(refused, 422, "validation_error")
    response = export(world, "supervisor", "tickets.csv", QUERY + "&reveal_phones=true&reason=月度回访")
    rows = csv_rows(response)[1:]
    assert {row[TICKET_HEADINGS.index("联系电话")] for row in rows} == {RESIDENT_PHONE}
    with app.app_context():
        reads = db.session.scalars(select(PersonalDataRead)).all()
    assert [(r.account_id, r.subject) for r in reads] == [(world.accounts["supervisor"].id, "reporter_phone")]
    assert "月度回访" in reads[0].reason and "tickets.csv" in reads[0].reason


def test_a_formula_in_a_residents_words_stays_text(world):
    world.ticket(description='=HYPERLINK("http://x")')
    rows = csv_rows(export(world, "supervisor", "tickets.csv", ""))[1:]
    assert rows[0][TICKET_HEADINGS.index("问题描述")].startswith("'=")


def test_the_xlsx_ledger_has_the_same_rows(world, hand):
    response = export(world, "supervisor", "tickets.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(TICKET_HEADINGS) and len(rows) == 12


def test_a_ledger_asked_for_in_english_has_english_headings_and_names(world, hand):
    headings, *rows = csv_rows(export(world, "supervisor", "tickets.csv", language="en-US,en;q=0.9"))
    assert headings[:3] == ["Ticket number", "Received at", "Channel"] and headings[7] == "Status"
    t2 = next(dict(zip(headings, row, strict=True)) for row in rows if row[0] == hand["t2"]["no"])
    assert (t2["Status"], t2["Overdue?"], t2["Channel"]) == ("closed", "yes", "App")
    workbook = load_workbook(io.BytesIO(export(world, "supervisor", "stats.xlsx", language="en").get_data()))
    assert workbook.sheetnames == ["Summary", "By sub-unit", "By category", "By handler", "By channel"]


def test_the_stats_workbook_has_the_summary_and_the_breakdowns(world, hand):
    response = export(world, "supervisor", "stats.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert workbook.sheetnames == ["汇总", "按下级单位", "按类别", "按处理人", "按渠道"]
    summary = {row[0]: row[1:] for row in workbook["汇总"].iter_rows(values_only=True)}
    assert summary["受理数"][0] == 11 and summary["办结率"][:2] == (0.4444, "4/9")
    assert summary["上报出数"][0] == 0 and summary["就地解决率"][:2] == (0, "0/11")
    communities = {row[0]: row for row in workbook["按下级单位"].iter_rows(values_only=True)}
    headings = communities["名称"]
    assert communities[world.tree["C1"].name][headings.index("上报出数")] == 1  # t8, passed up to the street


@pytest.mark.parametrize("name", ["tickets.csv", "tickets.xlsx", "stats.xlsx"])
@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_workers_and_volunteers_may_not_export(world, name, who):
    assert_error(export(world, who, name), 403, "forbidden")


@pytest.mark.parametrize("name", ["tickets.csv", "tickets.xlsx", "stats.xlsx"])
def test_another_subtree_cannot_be_exported(world, name):
    assert_error(export(world, "supervisor", name, f"grid_id={world.tree['S2'].id}"), 404, "not_found")


@pytest.mark.parametrize("name", ["tickets.csv", "tickets.xlsx", "stats.xlsx"])
def test_a_unit_above_the_scope_cannot_be_exported(world, name):
    assert_error(export(world, "community_supervisor", name, f"grid_id={world.tree['S1'].id}"), 403, "forbidden")


def test_an_empty_range_exports_only_the_headings(world, hand):
    rows = csv_rows(export(world, "supervisor", "tickets.csv", "from=2026-01-01&to=2026-01-31"))
    assert rows == [list(TICKET_HEADINGS)]


def test_control_characters_in_names_do_not_break_the_workbooks(app, world):
    with app.app_context():
        from grid.models import GridUnit

        db.session.get(GridUnit, world.tree["C1"].id).name = "社区\x0b\x01"
        db.session.commit()
    world.ticket(description="描述\x0b")
    for name in ("stats.xlsx", "tickets.xlsx"):
        response = export(world, "supervisor", name, "")
        assert response.status_code == 200
        load_workbook(io.BytesIO(response.get_data()), read_only=True)


def test_a_unit_named_like_a_formula_stays_text_in_every_ledger(app, world):
    with app.app_context():
        from grid.models import GridUnit

        db.session.get(GridUnit, world.tree["C1"].id).name = '=HYPERLINK("http://x")'
        db.session.commit()
    world.ticket()

    rows = csv_rows(export(world, "supervisor", "tickets.csv", ""))[1:]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    workbook = load_workbook(io.BytesIO(export(world, "supervisor", "stats.xlsx", "").get_data()))
    names = [row[0].value for row in workbook["按下级单位"].iter_rows(min_row=2)]
    assert '\'=HYPERLINK("http://x")' in names
    assert all(row[0].data_type == "s" for row in workbook["按下级单位"].iter_rows(min_row=2))


@pytest.mark.parametrize("path", ["exports/tickets.csv", "exports/tickets.xlsx", "stats/summary"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_period_out_of_range_is_422_not_500(world, path, day):
    # Found by schemathesis: Beijing midnight of 0001-01-01 is before the first instant Python can hold.
    response = world.client.get(
        f"/api/v1/{path}", query_string={"from": day, "to": day}, headers=world.headers["supervisor"]
    )
    assert_error(response, 422, "validation_error")
