"""Ledgers (台账): every ticket received in scope and range, as CSV or XLSX rows, read in batches.

The rows are the tickets that `received` counts (origin unit in the subtree, received on a Beijing day of the
range), so a ledger's row count is its dashboard's `received`. Times are Beijing time, for people reading them.
"""

import csv
import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta
from typing import IO, TYPE_CHECKING, Any

from flask_babel import LazyString
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from auth.models import Account
from dashboards.breakdowns import breakdown_rows
from dashboards.rollups.models import StatsTicketFacts
from dashboards.service import Target, figures, summary
from grid.models import GridUnit
from kernel.clock import BEIJING, utcnow
from kernel.errors import ValidationError
from kernel.extensions import db
from kernel.i18n import _, _l
from kernel.names import ticket_status
from kernel.principals import Caller
from kernel.privacy import mask_phone
from tasks.categories.models import Category
from tasks.lifecycle import OPEN_STATUSES, Status
from tasks.tickets.models import Feedback, PersonalDataRead, Ticket

if TYPE_CHECKING:
    from openpyxl import Workbook  # imported where a workbook is written: at module level it cost every
    # web worker its memory (docs/PERFORMANCE.md, "Worker memory")

log = logging.getLogger("grid.dashboards.ledgers")
BATCH = 2000
# What people read in the ledgers: English message ids, in the caller's language when the export is written.
CHANNEL_NAMES = {
    "app": _l("App"),
    "hotline": _l("Hotline"),
    "sms": _l("SMS"),
    "walk_in": _l("Walk-in"),
    "patrol": _l("Patrol"),
    "web": _l("Website"),
}
TICKET_HEADINGS: tuple[LazyString, ...] = (
    _l("Ticket number"),  # 工单编号
    _l("Received at"),  # 受理时间
    _l("Channel"),  # 渠道
    _l("Category"),  # 类别
    _l("Grid"),  # 所属网格
    _l("First receiving unit"),  # 首接单位
    _l("Responsible unit"),  # 当前责任单位
    _l("Status"),  # 状态
    _l("Priority"),  # 优先级
    _l("Reporter"),  # 反映人
    _l("Phone"),  # 联系电话
    _l("Address"),  # 地址
    _l("Description"),  # 问题描述
    _l("Handler"),  # 处理人
    _l("Dispatched at"),  # 派单时间
    _l("Accept by"),  # 响应期限
    _l("Accepted at"),  # 接单时间
    _l("Resolve by"),  # 办结期限
    _l("Resolved at"),  # 办结时间
    _l("Closed at"),  # 关闭时间
    _l("Overdue?"),  # 是否超期
    _l("Resolved on the spot?"),  # 就地办结
    _l("Rating"),  # 评价
    _l("Returns"),  # 退单次数
    _l("Returns refused"),  # 退单驳回次数
    _l("Extensions"),  # 延期次数
    _l("Hours suspended"),  # 挂起时长(小时)
)


def headings(texts: Sequence[LazyString]) -> list[str]:
    """Column headings in the caller's language."""
    return [str(text) for text in texts]


def check_reveal(actor: Caller, target: Target, *, reveal: bool, reason: str | None, what: str) -> bool:
    """Full phones only with a reason; the export is recorded in the personal-data access log (one row)."""
    if not reveal:
        return False
    if not reason:
        raise ValidationError(_("Say why the full numbers are needed."), {"reason": [_("required with reveal_phones")]})
    scope = "whole territory" if target.whole_territory else target.units[0].path
    db.session.add(
        PersonalDataRead(
            account_id=actor.id,
            ticket_id=None,
            subject="reporter_phone",
            reason=f"{what} {scope} {target.first}..{target.last}: {reason}"[:200],
        )
    )
    log.info("personal data export", extra={"reader_id": actor.id, "subject": "reporter_phone", "export": what})
    return True


def _bounds(target: Target) -> tuple[datetime, datetime]:
    start = datetime.combine(target.first, time(0), BEIJING)
    return start, datetime.combine(target.last + timedelta(days=1), time(0), BEIJING)


def ticket_rows(target: Target, *, full_phones: bool) -> Iterator[list[Any]]:
    """One list per ticket, in TICKET_HEADINGS order, oldest first; fetched `BATCH` at a time.

    The query is built now, inside the request's transaction; the rows are read as the response streams
    (after the request's commit, so nothing of the request's session objects is touched then).
    """
    now = utcnow()
    start, end = _bounds(target)
    origin = aliased(GridUnit)
    owner = aliased(GridUnit)
    handler = aliased(Account)
    rating = aliased(Feedback)
    names = _unit_names(target)
    stmt = (
        select(
            Ticket.no,
            Ticket.created_at,
            StatsTicketFacts.channel,
            Category.name.label("category_name"),
            origin.path.label("origin_path"),
            origin.name.label("first_unit_name"),
            owner.name.label("owner_name"),
            Ticket.status,
            Ticket.priority,
            Ticket.reporter_name,
            Ticket.reporter_phone,
            Ticket.address,
            Ticket.description,
            handler.display_name.label("handler_name"),
            Ticket.dispatched_at,
            Ticket.accept_due_at,
            Ticket.accepted_at,
            Ticket.resolve_due_at,
            Ticket.resolved_at,
            Ticket.closed_at,
            Ticket.due_at,
            Ticket.handled_on_spot,
            rating.rating.label("rating"),
            Ticket.return_count,
            Ticket.returns_refused,
            Ticket.extension_count,
            Ticket.suspended_seconds,
        )
        .join(origin, origin.id == Ticket.origin_grid_id)
        .join(owner, owner.id == Ticket.grid_id)
        .join(Category, Category.code == Ticket.category_code)
        .outerjoin(StatsTicketFacts, StatsTicketFacts.ticket_id == Ticket.id)
        .outerjoin(handler, handler.id == func.coalesce(Ticket.assignee_id, Ticket.handler_id))
        .outerjoin(rating, and_(rating.ticket_id == Ticket.id, rating.resolution_round == Ticket.resolution_round))
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .order_by(Ticket.created_at, Ticket.id)
        .execution_options(yield_per=BATCH)
    )
    if not target.whole_territory:
        stmt = stmt.where(origin.path.startswith(target.units[0].path, autoescape=True))
    if target.categories is not None:
        stmt = stmt.where(Ticket.category_code.in_(target.categories))
    return _ticket_rows(stmt, names, now, full_phones=full_phones)


def _ticket_rows(stmt: Any, names: dict[int, str], now: datetime, *, full_phones: bool) -> Iterator[list[Any]]:
    for row in db.session.execute(stmt):
        late = (row.status in OPEN_STATUSES and row.due_at is not None and row.due_at <= now) or (
            row.resolved_at is not None and row.resolved_at > row.resolve_due_at
        )
        yield [
            row.no,
            _local(row.created_at),
            str(CHANNEL_NAMES.get(row.channel or "", row.channel or "")),
            _text(row.category_name),
            _text(_path_names(row.origin_path, names)),
            _text(row.first_unit_name),
            _text(row.owner_name),
            ticket_status(row.status),
            _("urgent") if row.priority == "urgent" else _("normal"),
            _text(row.reporter_name),
            (row.reporter_phone if full_phones else mask_phone(row.reporter_phone)) or "",
            _text(row.address),
            _text(row.description),
            _text(row.handler_name),
            _local(row.dispatched_at),
            _local(row.accept_due_at),
            _local(row.accepted_at),
            _local(row.resolve_due_at),
            _local(row.resolved_at),
            _local(row.closed_at),
            _("yes") if late else _("no"),
            _("yes") if row.handled_on_spot and row.status in (Status.RESOLVED, Status.CLOSED) else _("no"),
            row.rating if row.rating is not None else "",
            row.return_count,
            row.returns_refused,
            row.extension_count,
            round(row.suspended_seconds / 3600, 1),
        ]


def _text(value: str | None) -> str:
    """Words people typed, as text: a leading = + - @ would make Excel run them as a formula."""
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value


def _unit_names(target: Target) -> dict[int, str]:
    stmt = select(GridUnit.id, GridUnit.name)
    if not target.whole_territory:
        path = target.units[0].path
        stmt = stmt.where(GridUnit.path.startswith(path, autoescape=True))
    return dict(db.session.execute(stmt).all())


def _path_names(path: str, names: dict[int, str]) -> str:
    ids = [int(part) for part in path.strip("/").split("/")]
    return "/".join(names[i] for i in ids if i in names)


def _local(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def csv_chunks(rows: Iterator[list[Any]]) -> Iterator[str]:
    """UTF-8 with a BOM so Excel reads the Chinese right; one chunk per `BATCH` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headings(TICKET_HEADINGS))
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def tickets_xlsx(rows: Iterator[list[Any]]) -> IO[bytes]:
    """A write-only workbook (rows go to disk as they come), in a temporary file rewound for reading."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Ticket ledger"))
    sheet.append(headings(TICKET_HEADINGS))
    for row in rows:
        sheet.append(xlsx_row(row))
    return _saved(workbook)


def xlsx_row(values: Sequence[Any]) -> list[Any]:
    """Control characters (legal in JSON and CSV) have no place in a worksheet: drop them. Names typed by
    people (units, workers, categories) are text too, never a formula."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [_text(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value for value in values]


def _saved(workbook: "Workbook") -> IO[bytes]:
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by file_chunks after sending
    workbook.save(spool)
    spool.seek(0)
    return spool


def file_chunks(spool: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()


FIGURE_COLUMNS: tuple[tuple[LazyString, str], ...] = (
    (_l("Received"), "received"),  # 受理数
    (_l("Open"), "open"),  # 在办数
    (_l("Resolved"), "resolved"),  # 办结数
    (_l("Closed"), "closed"),  # 关闭数
    (_l("Cancelled"), "cancelled"),  # 取消数
    (_l("Escalated"), "escalated"),  # 上报数
    (_l("Escalated out"), "escalated_out"),  # 上报出数
    (_l("Overdue"), "overdue"),  # 超期数
    (_l("Reopened"), "reopens"),  # 重办数
    (_l("Returned"), "returns"),  # 退单数
    (_l("Return refusals"), "returns_refused"),  # 退单驳回数
    (_l("Returns awaiting review"), "return_review"),  # 退单待审数
    (_l("Extended"), "extended"),  # 延期件数
    (_l("Suspended"), "suspended"),  # 挂起数
)
RATE_COLUMNS: tuple[tuple[LazyString, str], ...] = (
    (_l("Response rate"), "response_rate"),  # 响应率
    (_l("Resolution rate"), "resolution_rate"),  # 办结率
    (_l("On-time resolution rate"), "on_time_resolution_rate"),  # 按期办结率
    (_l("Satisfaction rate"), "satisfaction_rate"),  # 满意率
    (_l("Resolved-on-the-spot rate"), "on_spot_rate"),  # 就地解决率
    (_l("Extension rate"), "extension_rate"),  # 延期率
)


def stats_xlsx(target: Target) -> IO[bytes]:
    """The summary and the breakdowns (by child unit, category, worker, channel) as sheets."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    whole = summary(target)
    sheet = workbook.create_sheet(_("Summary"))
    sheet.append(xlsx_row([_("Unit"), (whole["grid"].name if whole["grid"] is not None else _("All"))]))
    sheet.append([_("From"), str(target.first)])
    sheet.append([_("To"), str(target.last)])
    for heading, name in FIGURE_COLUMNS:
        sheet.append([str(heading), whole[name]])
    for heading, name in RATE_COLUMNS:
        value = whole[name]
        sheet.append([str(heading), value["rate"], f"{value['numerator']}/{value['denominator']}"])
    sheet.append([_("Open now"), whole["now"]["open"]])
    sheet.append([_("Overdue now"), whole["now"]["overdue"]])
    sheet.append([_("Warned now"), whole["now"]["warned"]])
    sheets = (
        ("child", _("By sub-unit")),
        ("category", _("By category")),
        ("worker", _("By handler")),
        ("channel", _("By channel")),
    )
    for by, title in sheets:
        _breakdown_sheet(workbook.create_sheet(title), breakdown_rows(target, by))
    return _saved(workbook)


def _breakdown_sheet(sheet: Any, items: Sequence[dict[str, Any]]) -> None:
    sheet.append([_("Name"), *(str(h) for h, _name in FIGURE_COLUMNS), *(str(h) for h, _name in RATE_COLUMNS)])
    for item in items:
        # A worker's row has `tickets` (held or resolved) where a unit's has `received`.
        counts = [item.get("tickets") if name == "received" and item.get(name) is None else item.get(name)
                  for _, name in FIGURE_COLUMNS]  # fmt: skip
        rates = [item[name]["rate"] for _, name in RATE_COLUMNS]
        sheet.append(xlsx_row([item["name"], *counts, *rates]))


__all__ = [
    "TICKET_HEADINGS",
    "check_reveal",
    "csv_chunks",
    "figures",
    "headings",
    "stats_xlsx",
    "ticket_rows",
    "tickets_xlsx",
]
