"""The demo district: one street, two communities, six cells, and the people who work them."""

from dataclasses import dataclass

from sqlalchemy import func, select

from auth import service as auth_service
from auth.models import Account, Role
from grid import service as grid_service
from grid.models import GridLevel, GridUnit
from kernel.extensions import db

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    display_name: str
    unit_code: str | None
    cell_codes: tuple[str, ...] = ()
    phone: str | None = None


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
        units[code] = grid_service.create_unit(code=code, name=name, level=level, parent=parent)
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
        grid_service.assign_cells(account.id, [units[code] for code in login.cell_codes])
