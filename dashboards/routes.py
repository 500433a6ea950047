"""HTTP endpoints: `/api/v1/stats/...` (dashboards) and `/api/v1/exports/...` (ledgers), admins and supervisors."""

from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, stream_with_context

from dashboards import breakdowns, ledgers, map_layer, ranking, service
from dashboards.schemas import (
    BreakdownQuerySchema,
    BreakdownSchema,
    HeatmapQuerySchema,
    HeatmapSchema,
    LeaderboardQuerySchema,
    LeaderboardSchema,
    OverduePageSchema,
    OverdueQuerySchema,
    StatsQuerySchema,
    SummarySchema,
    TicketExportQuerySchema,
    TimeseriesQuerySchema,
    TimeseriesSchema,
    heatmap_json,
)
from kernel.api import Blueprint, documents
from kernel.clock import utcnow
from kernel.etag import json_text_response
from kernel.extensions import api
from kernel.pagination import cursor_list
from kernel.principals import Role
from kernel.replica import reads_replica
from kernel.security import current_principal, requires_role
from kernel.transaction import read_in_transaction

DEFINITIONS = """Every figure counts a **subtree** (`grid_id`, default: your scope) over **Beijing calendar days**
`from`..`to` inclusive (default: this month), optionally one `category` and its subcategories.

- `received`: tickets received in the range whose origin unit (where the request was routed at intake) is in
  the subtree. The other figures are about those tickets, counted where they are owned now: an escalation
  moves a ticket's handling figures up to the unit it went to.
- `resolved` = resolved or closed (办结). `overdue`: found overdue by the sweep, or resolved late.
- response rate (响应率) = accepted within the acceptance deadline / dispatched; resolution rate (办结率) =
  resolved / (received − cancelled); on-time resolution rate = resolved by the deadline / resolved;
  satisfaction rate (满意率) = ratings 4–5 / ratings. Each with numerator and denominator; `rate` is null
  when the denominator is 0.
- `now`: open tickets owned in the subtree at this moment, overdue ones and warned (past 80 %) ones.

Admins see everything; supervisors their subtree (a unit above it: 403; one they cannot see: 404);
workers and volunteers: 403."""

stats_blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats", description="Dashboards\n\n" + DEFINITIONS)
exports_blp = Blueprint(
    "exports", __name__, url_prefix="/api/v1/exports", description="Ledgers (台账) for Excel\n\n" + DEFINITIONS
)
READERS = (Role.ADMIN, Role.SUPERVISOR)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register(app: Flask) -> None:
    api.register_blueprint(stats_blp)
    api.register_blueprint(exports_blp)


def _target(query: dict[str, Any]) -> service.Target:
    return service.target_of(
        current_principal(),
        grid_id=query.get("grid_id"),
        first=query.get("from_"),
        last=query.get("to"),
        category=query.get("category"),
    )


@stats_blp.route("/summary")
@requires_role(*READERS)
@stats_blp.arguments(StatsQuerySchema, location="query")
@stats_blp.response(200, SummarySchema)
@documents(404, 422)
@reads_replica
def summary(query: dict[str, Any]) -> dict[str, Any]:
    """The subtree's tickets received, open, resolved, closed, the four rates, times to accept and resolve,
    reopens, and its open, overdue and warned work now."""
    return service.summary(_target(query))


@stats_blp.route("/breakdown")
@requires_role(*READERS)
@stats_blp.arguments(BreakdownQuerySchema, location="query")
@stats_blp.response(200, BreakdownSchema)
@documents(404, 422)
@reads_replica
def breakdown(query: dict[str, Any]) -> dict[str, Any]:
    """The summary's figures per child unit (one level down; plus the unit's own tickets as `direct`), per
    category, per worker (the account holding the ticket, or who resolved it last) or per channel."""
    return breakdowns.breakdown(_target(query), query["by"], limit=query["limit"], cursor=query.get("cursor"))


@stats_blp.route("/timeseries")
@requires_role(*READERS)
@stats_blp.arguments(TimeseriesQuerySchema, location="query")
@stats_blp.response(200, TimeseriesSchema)
@documents(404, 422)
@reads_replica
def timeseries(query: dict[str, Any]) -> dict[str, Any]:
    """Received, resolved, overdue and the resolution and satisfaction rates per day, week (from Monday) or
    month of receipt; every period of the range is listed, empty ones too."""
    return service.timeseries(_target(query), query["interval"])


@stats_blp.route("/overdue")
@requires_role(*READERS)
@stats_blp.arguments(OverdueQuerySchema, location="query")
@cursor_list(service.OverdueFilters)
@stats_blp.response(200, OverduePageSchema)
@documents(404, 422)
@reads_replica
def overdue(filters: service.OverdueFilters, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Open tickets owned in the subtree that are past their running deadline or its 80 % mark, with assignee
    and unit, the earliest deadline first."""
    target = service.target_of(current_principal(), grid_id=filters.grid_id, category=filters.category)
    page = service.overdue(target, limit=limit, cursor=cursor)
    now = utcnow()
    return {"items": [_overdue_item(ticket, now) for ticket in page.items], "next_cursor": page.next_cursor}


def _overdue_item(ticket: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "no": ticket.no,
        "status": ticket.status.value,
        "category": ticket.category,
        "grid": ticket.grid,
        "assignee": ticket.assignee,
        "warn_at": ticket.warn_at,
        "due_at": ticket.due_at,
        "created_at": ticket.created_at,
        "overdue": ticket.overdue_at(now),
    }


@stats_blp.route("/heatmap")
@requires_role(*READERS)
@stats_blp.arguments(HeatmapQuerySchema, location="query")
@stats_blp.response(200, HeatmapSchema)
@documents(404, 422)
@reads_replica
def heatmap(query: dict[str, Any]) -> Response:
    """A GeoJSON FeatureCollection of the subtree's units of one level (`level`; by default streets for a city,
    communities for a district, cells below) with tickets received in the range and open and overdue now, for a
    map layer, units by id. Sent with an ETag: `If-None-Match` with it gives 304 while nothing on the layer
    changed, without writing the layer."""
    layer = map_layer.heatmap(_target(query), query.get("level"))
    return json_text_response(layer.etag, lambda: heatmap_json(layer))  # written from cached Feature text


@stats_blp.route("/leaderboard")
@requires_role(*READERS)
@stats_blp.arguments(LeaderboardQuerySchema, location="query")
@stats_blp.response(200, LeaderboardSchema)
@documents(404, 422)
@reads_replica
def leaderboard(query: dict[str, Any]) -> dict[str, Any]:
    """Workers (or the child units) ranked for 积分考核 by score = 10 × resolved on time + 5 × ratings of 4–5
    − 10 × reopens; ties: more resolved on time, then fewer reopens, then the smaller id."""
    return ranking.leaderboard(_target(query), query["of"], query["limit"], query.get("cursor"))


@exports_blp.route("/tickets.csv")
@requires_role(*READERS)
@exports_blp.arguments(TicketExportQuerySchema, location="query")
@exports_blp.response(200, {"type": "string"}, content_type="text/csv")
@documents(404, 422)
@reads_replica
@read_in_transaction  # records full phones, streams with a server-side cursor
def tickets_csv(query: dict[str, Any]) -> Response:
    """The ledger: every ticket `received` counts (origin in the subtree, received in the range), oldest first,
    Chinese headings, UTF-8 with BOM, streamed. Phones masked unless `reveal_phones` (recorded)."""
    rows = _ledger_rows(query, "tickets.csv")
    response = Response(stream_with_context(ledgers.csv_chunks(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = _attachment("tickets.csv", "工单台账.csv")
    return response


@exports_blp.route("/tickets.xlsx")
@requires_role(*READERS)
@exports_blp.arguments(TicketExportQuerySchema, location="query")
@exports_blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX)
@documents(404, 422)
@reads_replica
@read_in_transaction  # records full phones, reads with a server-side cursor
def tickets_xlsx(query: dict[str, Any]) -> Response:
    """The ledger as an Excel workbook (written row by row to a temporary file, then sent in chunks)."""
    spool = ledgers.tickets_xlsx(_ledger_rows(query, "tickets.xlsx"))
    response = Response(ledgers.file_chunks(spool), mimetype=XLSX)
    response.headers["Content-Disposition"] = _attachment("tickets.xlsx", "工单台账.xlsx")
    return response


@exports_blp.route("/stats.xlsx")
@requires_role(*READERS)
@exports_blp.arguments(StatsQuerySchema, location="query")
@exports_blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX)
@documents(404, 422)
@reads_replica
def stats_xlsx(query: dict[str, Any]) -> Response:
    """The summary and the breakdowns (by child unit, category, worker, channel) as sheets of one workbook."""
    spool = ledgers.stats_xlsx(_target(query))
    response = Response(ledgers.file_chunks(spool), mimetype=XLSX)
    response.headers["Content-Disposition"] = _attachment("stats.xlsx", "统计报表.xlsx")
    return response


def _ledger_rows(query: dict[str, Any], what: str) -> Any:
    target = _target(query)
    full = ledgers.check_reveal(
        current_principal(), target, reveal=query["reveal_phones"], reason=query.get("reason"), what=what
    )
    return ledgers.ticket_rows(target, full_phones=full)


def _attachment(ascii_name: str, name: str) -> str:
    """A download name for every browser: ASCII, and the Chinese one (RFC 6266) for those that read it."""
    return f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(name)}"
