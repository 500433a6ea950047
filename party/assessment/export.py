"""年度考核 as a workbook: one alliance's year (party.assessment.report) in four sheets, built like the dashboards'
ledgers (a write-only workbook in a temporary file, text never read as a formula). Sheet names and headings are
translated messages (Chinese by default)."""

import tempfile
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from dashboards.ledgers import xlsx_row
from kernel.clock import BEIJING
from kernel.i18n import _
from kernel.principals import Caller
from party.assessment.report import Report, alliance_report

if TYPE_CHECKING:
    from openpyxl import Workbook  # imported where a workbook is written: at module level it cost every
    # web worker its memory (docs/PERFORMANCE.md, "Worker memory")


def report_workbook(caller: Caller, alliance_id: int, year: int | None) -> IO[bytes]:
    """The alliance's year as sheets: overview, members, meetings, projects; 404 as the report."""
    report = alliance_report(caller, alliance_id, year)
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    _sheet(workbook, _("Overview"), [_("Item"), _("Value")], _overview(report))
    _sheet(
        workbook,
        _("Member organisations"),
        [
            _("Organisation"),
            _("Lead"),
            _("Commitment"),
            _("Joined on"),
            _("Left on"),
            _("Meetings present"),
            _("Projects owned"),
            _("Projects done"),
        ],
        [
            [
                m.org_name,
                _("Yes") if m.is_lead else "",
                m.commitment or "",
                m.joined_on.isoformat(),
                m.left_on.isoformat() if m.left_on else "",
                m.meetings_present,
                m.projects_owned,
                m.projects_done,
            ]
            for m in report.members
        ],
    )
    _sheet(
        workbook,
        _("Meetings"),
        [_("Held at"), _("Title"), _("Organisations present"), _("Member organisations"), _("Decisions")],
        [[_time(m.held_at), m.title, m.present, m.members, m.decisions] for m in report.meetings["items"]],
    )
    _sheet(
        workbook,
        _("Projects"),
        [_("Project"), _("Owner organisation"), _("Status"), _("Deadline"), _("Done at"), _("Ratings"), _("Average")],
        [
            [
                p.title,
                p.owner_org_name,
                p.status.value,
                p.deadline.isoformat() if p.deadline else "",
                _time(p.done_at) if p.done_at else "",
                p.rating_count,
                p.rating_average if p.rating_average is not None else "",
            ]
            for p in report.projects["items"]
        ],
    )
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by file_chunks after sending
    workbook.save(spool)
    spool.seek(0)
    return spool


def _sheet(workbook: "Workbook", title: str, headings: list[str], rows: list[list[Any]]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(xlsx_row(headings))
    for row in rows:
        sheet.append(xlsx_row(row))


def _overview(report: Report) -> list[list[Any]]:
    alliance = report.alliance
    ratings = report.ratings["residents"]
    return [
        [_("Alliance"), alliance.name],
        [_("Theme"), alliance.theme_name],
        [_("Lead organisation"), alliance.lead_org_name],
        [_("Territory"), alliance.grid_name],
        [_("Status"), alliance.status.value],
        [_("Year"), report.year],
        [_("Member organisations"), len(report.members)],
        [_("Meetings held"), report.meetings["held"]],
        [_("Attendance rate"), _rate(report.meetings["attendance"])],
        [_("Projects opened"), report.projects["by_status"]["total"]],
        [_("Projects done"), report.projects["by_status"]["done"]],
        [_("Needs raised"), report.needs["raised"]],
        [_("Needs met rate"), _rate(report.needs["met"])],
        [_("Residents' ratings"), ratings["count"]],
        [_("Residents' average rating"), ratings["average"] if ratings["average"] is not None else ""],
        [_("Satisfaction rate"), _rate(ratings["satisfied"])],
    ]


def _rate(figure: dict[str, Any]) -> Any:
    return figure["rate"] if figure["rate"] is not None else ""


def _time(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
