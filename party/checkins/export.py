"""报到反馈: the workbook a work unit gets back about its members' service in their communities, for its own
述职评议. Built like the dashboards' ledgers (`dashboards.ledgers`): a write-only workbook in a temporary file,
Chinese headings, text never read as a formula. It names members, never their phone numbers.
"""

import tempfile
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Final

from sqlalchemy import or_, select

from dashboards.ledgers import headings, xlsx_row
from grid.models import GridUnit
from kernel.clock import BEIJING
from kernel.extensions import db
from kernel.i18n import _, _l
from kernel.names import CHECK_IN_STATUSES, name_of
from kernel.principals import Caller
from party.checkins.models import CheckIn, CheckInKind, CheckInStatus, RecordKind, ServiceArea, ServiceRecord
from party.checkins.records import HOURS_QUANTUM, this_year, year_bounds
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.scope import ensure_reads_org

if TYPE_CHECKING:
    from openpyxl import Workbook  # imported where a workbook is written: at module level it cost every
    # web worker its memory (docs/PERFORMANCE.md, "Worker memory")

KIND_NAMES: Final = {RecordKind.TICKET: _l("Claimed ticket"), RecordKind.ACTIVITY: _l("Attended activity")}
MEMBER_HEADINGS: Final = (
    _l("Full name"),  # 姓名
    _l("Party organisation"),  # 所属党组织
    _l("Community checked in"),  # 报到社区
    _l("Service areas"),  # 服务领域
    _l("Status"),  # 状态
    _l("Checked in on"),  # 报到日期
    _l("Confirmed on"),  # 确认日期
    _l("Ended on"),  # 结束日期
    _l("Services"),  # 服务次数
    _l("Service hours"),  # 服务时长（小时）
    _l("Residents' ratings"),  # 群众评价次数
    _l("Average rating"),  # 平均评价
)
RECORD_HEADINGS: Final = (
    _l("Full name"),
    _l("Community checked in"),
    _l("Date"),  # 日期
    _l("Kind"),  # 类型
    _l("Content"),  # 内容
    _l("Hours"),  # 时长（小时）
    _l("Residents' rating"),  # 群众评价
)
UNIT_HEADINGS: Final = (
    _l("Unit"),  # 单位
    _l("Organisation"),  # 党组织
    _l("Community checked in"),
    _l("Service areas"),
    _l("Status"),
    _l("Checked in on"),
    _l("Confirmed on"),
    _l("Ended on"),
)


def service_workbook(actor: Caller, org_id: int, year: int | None) -> IO[bytes]:
    """The organisation subtree's check-ins that overlap the Beijing-time year, their standing records of the year
    and the unit check-ins, as three sheets; 404 for an organisation the actor does not read."""
    org = ensure_reads_org(actor, db.session.get(PartyOrg, org_id))
    year = year or this_year()
    start, end = year_bounds(year)
    orgs = {
        row.id: row.name
        for row in db.session.execute(
            select(PartyOrg.id, PartyOrg.name).where(PartyOrg.path.startswith(org.path, autoescape=True))
        )
    }
    check_ins = db.session.scalars(
        select(CheckIn)
        .where(
            CheckIn.org_id.in_(list(orgs)),
            CheckIn.created_at < end,
            or_(CheckIn.ended_on.is_(None), CheckIn.ended_on >= date(year, 1, 1)),
        )
        .order_by(CheckIn.kind, CheckIn.id)
    ).all()
    records = _records_by_check_in([c.id for c in check_ins], start, end)
    names = _names(check_ins)
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    _member_sheet(workbook, [c for c in check_ins if c.kind is CheckInKind.MEMBER], records, orgs, names)
    _record_sheet(workbook, [c for c in check_ins if c.kind is CheckInKind.MEMBER], records, names)
    _unit_sheet(workbook, [c for c in check_ins if c.kind is CheckInKind.UNIT], orgs, names)
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by file_chunks after sending
    workbook.save(spool)
    spool.seek(0)
    return spool


def _records_by_check_in(ids: list[int], start: datetime, end: datetime) -> dict[int, list[ServiceRecord]]:
    found: dict[int, list[ServiceRecord]] = defaultdict(list)
    if not ids:
        return found
    stmt = (
        select(ServiceRecord)
        .where(
            ServiceRecord.check_in_id.in_(ids),
            ServiceRecord.withdrawn_at.is_(None),
            ServiceRecord.occurred_at >= start,
            ServiceRecord.occurred_at < end,
        )
        .order_by(ServiceRecord.occurred_at, ServiceRecord.id)
    )
    for record in db.session.scalars(stmt):
        found[record.check_in_id].append(record)
    return found


def _names(check_ins: list[CheckIn]) -> dict[str, dict[Any, str]]:
    member_ids = [c.member_id for c in check_ins if c.member_id is not None]
    unit_ids = list({c.community_id for c in check_ins})
    return {
        "members": dict(
            db.session.execute(select(PartyMember.id, PartyMember.name).where(PartyMember.id.in_(member_ids))).all()
        ),
        "units": dict(db.session.execute(select(GridUnit.id, GridUnit.name).where(GridUnit.id.in_(unit_ids))).all()),
        "areas": dict(db.session.execute(select(ServiceArea.code, ServiceArea.name)).all()),
    }


def _member_sheet(
    workbook: "Workbook",
    check_ins: list[CheckIn],
    records: dict[int, list[ServiceRecord]],
    orgs: dict[int, str],
    names: dict[str, dict[Any, str]],
) -> None:
    sheet = workbook.create_sheet(_("Member check-ins"))
    sheet.append(headings(MEMBER_HEADINGS))
    for check_in in check_ins:
        served = records.get(check_in.id, [])
        ratings = [record.rating for record in served if record.rating is not None]
        average = float((Decimal(sum(ratings)) / len(ratings)).quantize(HOURS_QUANTUM)) if ratings else ""
        sheet.append(
            xlsx_row(
                [
                    names["members"].get(check_in.member_id, ""),
                    orgs.get(check_in.org_id, ""),
                    names["units"].get(check_in.community_id, ""),
                    _areas(check_in, names),
                    name_of(CHECK_IN_STATUSES, check_in.status),
                    _day(check_in.created_at),
                    _day(check_in.decided_at) if check_in.status is not CheckInStatus.REJECTED else "",
                    str(check_in.ended_on or ""),
                    len(served),
                    float(sum((record.hours for record in served), Decimal("0"))),
                    len(ratings),
                    average,
                ]
            )
        )


def _record_sheet(
    workbook: "Workbook",
    check_ins: list[CheckIn],
    records: dict[int, list[ServiceRecord]],
    names: dict[str, dict[Any, str]],
) -> None:
    sheet = workbook.create_sheet(_("Service records"))
    sheet.append(headings(RECORD_HEADINGS))
    for check_in in check_ins:
        for record in records.get(check_in.id, []):
            sheet.append(
                xlsx_row(
                    [
                        names["members"].get(check_in.member_id, ""),
                        names["units"].get(check_in.community_id, ""),
                        _day(record.occurred_at),
                        str(KIND_NAMES[record.kind]),
                        record.title,
                        float(record.hours),
                        record.rating if record.rating is not None else "",
                    ]
                )
            )


def _unit_sheet(
    workbook: "Workbook", check_ins: list[CheckIn], orgs: dict[int, str], names: dict[str, dict[Any, str]]
) -> None:
    sheet = workbook.create_sheet(_("Unit check-ins"))
    sheet.append(headings(UNIT_HEADINGS))
    hosts = dict(
        db.session.execute(
            select(PartyOrg.id, PartyOrg.host_name).where(PartyOrg.id.in_([c.org_id for c in check_ins]))
        ).all()
    )
    for check_in in check_ins:
        sheet.append(
            xlsx_row(
                [
                    hosts.get(check_in.org_id) or "",
                    orgs.get(check_in.org_id, ""),
                    names["units"].get(check_in.community_id, ""),
                    _areas(check_in, names),
                    name_of(CHECK_IN_STATUSES, check_in.status),
                    _day(check_in.created_at),
                    _day(check_in.decided_at) if check_in.status is not CheckInStatus.REJECTED else "",
                    str(check_in.ended_on or ""),
                ]
            )
        )


def _areas(check_in: CheckIn, names: dict[str, dict[Any, str]]) -> str:
    return "、".join(names["areas"].get(code, code) for code in check_in.service_areas)


def _day(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(BEIJING).strftime("%Y-%m-%d")
