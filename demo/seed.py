"""The demo district: one street, two communities, six cells, and the people who work them."""

from dataclasses import dataclass

from sqlalchemy import func, select

from auth import service as auth_service
from auth.models import Account
from demo.party import seed_demo_party
from grid import geometry, outlines
from grid import service as grid_service
from grid.locator import bump_version
from grid.models import GridLevel, GridUnit
from kernel.extensions import db
from kernel.principals import Role
from tasks.categories.service import seed_defaults
from tasks.lifecycle import Action
from tasks.tickets import actions as ticket_actions
from tasks.tickets import intake as ticket_intake
from workforce import service as workforce_service
from workforce.models import Employment

DEMO_PASSWORD = "demo-pass-2026"
DEMO_PROFILES = {  # username: employment (party membership comes from the party member register)
    "li.worker": Employment.FULL_TIME,
    "wang.worker": Employment.PART_TIME,
    "zhao.worker": Employment.FULL_TIME,
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    display_name: str
    unit_code: str | None
    cell_codes: tuple[str, ...] = ()
    phone: str | None = None


# Around 南阳市宛城区 (WGS-84): the district and street are squares, each community a 1 km square
# split into three cells of about 330 m × 1 km.
ORIGIN_LNG, ORIGIN_LAT = 112.53, 32.99


def box(west: float, south: float, east: float, north: float) -> dict:
    corners = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in corners]]}


def boundary_of(code: str) -> dict:
    """The demo boundary for a unit code."""
    if code == "411302":
        return box(ORIGIN_LNG - 0.05, ORIGIN_LAT - 0.05, ORIGIN_LNG + 0.1, ORIGIN_LAT + 0.1)
    if code == "411302001":
        return box(ORIGIN_LNG, ORIGIN_LAT, ORIGIN_LNG + 0.05, ORIGIN_LAT + 0.05)
    community = int(code[9:12])  # 001 or 002: side by side, west to east
    west = ORIGIN_LNG + 0.01 * (community - 1)
    if "-" not in code:
        return box(west, ORIGIN_LAT, west + 0.01, ORIGIN_LAT + 0.01)
    cell = int(code.split("-")[1])
    return box(west + 0.01 * (cell - 1) / 3, ORIGIN_LAT, west + 0.01 * cell / 3, ORIGIN_LAT + 0.01)


UNITS = (
    # code, name, level, parent code
    ("411302", "宛城区", GridLevel.DISTRICT, None),
    ("411302001", "仲景街道", GridLevel.STREET, "411302"),
    ("411302001001", "医圣祠社区", GridLevel.COMMUNITY, "411302001"),
    ("411302001002", "张衡社区", GridLevel.COMMUNITY, "411302001"),
    ("411302001001-01", "医圣祠社区第一网格", GridLevel.GRID, "411302001001"),
    ("411302001001-02", "医圣祠社区第二网格", GridLevel.GRID, "411302001001"),
    ("411302001001-03", "医圣祠社区第三网格", GridLevel.GRID, "411302001001"),
    ("411302001002-01", "张衡社区第一网格", GridLevel.GRID, "411302001002"),
    ("411302001002-02", "张衡社区第二网格", GridLevel.GRID, "411302001002"),
    ("411302001002-03", "张衡社区第三网格", GridLevel.GRID, "411302001002"),
)

LOGINS = (
    DemoLogin("admin", Role.ADMIN, "系统管理员", None),
    DemoLogin("zhang.supervisor", Role.SUPERVISOR, "张主任", "411302001", phone="13800000001"),
    DemoLogin(
        "li.worker", Role.WORKER, "李网格员", "411302001001", ("411302001001-01", "411302001001-02"), "13800000002"
    ),
    DemoLogin("wang.worker", Role.WORKER, "王网格员", "411302001001", ("411302001001-03",), "13800000003"),
    DemoLogin(
        "zhao.worker",
        Role.WORKER,
        "赵网格员",
        "411302001002",
        ("411302001002-01", "411302001002-02", "411302001002-03"),
        "13800000004",
    ),
    DemoLogin("chen.volunteer", Role.VOLUNTEER, "陈志愿者", "411302001001", phone="13800000005"),
    DemoLogin("liu.volunteer", Role.VOLUNTEER, "刘志愿者", "411302001002", phone="13800000006"),
)


def database_is_empty() -> bool:
    accounts = db.session.scalar(select(func.count()).select_from(Account))
    units = db.session.scalar(select(func.count()).select_from(GridUnit))
    return not accounts and not units


def seed_demo() -> None:
    """Create the demo units and logins (the caller commits)."""
    units: dict[str, GridUnit] = {}
    for code, name, level, parent_code in UNITS:
        parent = units[parent_code] if parent_code else None
        units[code] = grid_service.create_unit(
            code=code, name=name, level=level, parent=parent, boundary=geometry.dump(boundary_of(code))
        )
    accounts: dict[str, Account] = {}
    for login in LOGINS:
        unit = units[login.unit_code] if login.unit_code else None
        account = auth_service.create_initial_account(
            login.username,
            DEMO_PASSWORD,
            login.role,
            login.display_name,
            unit.id if unit else None,
            login.phone,
        )
        accounts[login.username] = account
        grid_service.assign_cells(account.id, [units[code] for code in login.cell_codes])
        if login.username in DEMO_PROFILES:
            workforce_service.create_initial_profile(account.id, employment=DEMO_PROFILES[login.username])
    bump_version()
    outlines.redraw_all(db.session.connection())
    seed_demo_party(accounts["admin"], units, DEMO_PASSWORD)
    seed_demo_tickets(units)


# Requests in the demo cells (centre points of cells 01 and 03 of 医圣祠社区), at several stages of their life.
DEMO_REQUESTS = (
    # filed by, category, what, cell, then (actor, action, body) steps
    ("li.worker", "CITY.GARBAGE", "小区东门垃圾桶满溢，三天未清运", "411302001001-01", ()),
    (
        "zhang.supervisor",
        "FACILITY.LIGHT",
        "医圣祠街 18 号路灯不亮",
        "411302001001-02",
        (("zhang.supervisor", "dispatch", {"assignee": "li.worker"}),),
    ),
    (
        "wang.worker",
        "DISPUTE.NEIGHBOR",
        "楼上漏水引发邻里纠纷",
        "411302001001-03",
        (("zhang.supervisor", "dispatch", {"assignee": "wang.worker"}), ("wang.worker", "accept", {})),
    ),
    (
        "li.worker",
        "SERVICE.ELDERLY",
        "独居老人需要代购药品",
        "411302001001-01",
        (("chen.volunteer", "claim", {}), ("chen.volunteer", "resolve", {"note": "已代购并送达"})),
    ),
)


# Each demo request from its own resident, on a number of its own (not README's 13912345678): residents' SMS are
# capped per phone and hour, and a demo's rating prompts must not wait behind one shared number's cap.
DEMO_REPORTERS = (
    ("王女士", "13700000101"),
    ("赵先生", "13700000102"),
    ("孙阿姨", "13700000103"),
    ("周大爷", "13700000104"),
)


def seed_demo_tickets(units: dict[str, GridUnit]) -> None:
    """A few tickets through the real service, so the demo's queues, timelines and figures are not empty."""
    seed_defaults()
    accounts = {account.username: account for account in db.session.scalars(select(Account))}
    for (filed_by, category, description, cell, steps), (name, phone) in zip(
        DEMO_REQUESTS, DEMO_REPORTERS, strict=True
    ):
        intake = ticket_intake.intake(
            accounts[filed_by],
            {
                "channel": "app",
                "category_code": category,
                "description": description,
                "grid_id": units[cell].id,
                "reporter": {"name": name, "phone": phone},
            },
        )
        for actor, action, body in steps:
            if "assignee" in body:
                body = {"assignee_id": accounts[body["assignee"]].id}
            ticket_actions.perform(accounts[actor], intake.ticket.id, Action(action), body)
