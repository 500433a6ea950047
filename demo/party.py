"""The demo district's party layer: the street's 大工委, community committees, grid branches with a group, a
school's branch as a host organisation, members of every class (the grid workers among them), a month of their
activities (`demo.party_activities`), a party staff login placed on the street's committee, and the street's
alliance with its lists (`demo.party_alliances`)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from auth import service as auth_service
from auth.models import Account
from demo.party_activities import seed_demo_activities
from demo.party_alliances import seed_demo_alliance
from demo.party_checkins import seed_demo_check_ins
from grid.models import GridUnit
from kernel.principals import Role
from party.members import service as members
from party.orgs import service as orgs
from party.orgs.models import OrgKind, PartyOrg

PARTY_STAFF_LOGIN = ("sun.party", "孙党务")


@dataclass(frozen=True)
class DemoOrg:
    key: str
    kind: OrgKind
    name: str
    parent: str | None
    unit_code: str | None = None
    host: dict[str, Any] | None = None


ORGS = (
    DemoOrg("street", OrgKind.PARTY_COMMITTEE, "仲景街道大工委", None, "411302001"),
    DemoOrg("yst", OrgKind.PARTY_COMMITTEE, "医圣祠社区大党委", "street", "411302001001"),
    DemoOrg("yst-01", OrgKind.BRANCH, "医圣祠社区第一网格党支部", "yst", "411302001001-01"),
    DemoOrg("yst-01-a", OrgKind.GROUP, "第一网格楼栋党小组", "yst-01"),
    DemoOrg("yst-03", OrgKind.BRANCH, "医圣祠社区第三网格党支部", "yst", "411302001001-03"),
    DemoOrg("zh", OrgKind.PARTY_COMMITTEE, "张衡社区大党委", "street", "411302001002"),
    DemoOrg("zh-01", OrgKind.BRANCH, "张衡社区第一网格党支部", "zh", "411302001002-01"),
    DemoOrg(
        "school",
        OrgKind.BRANCH,
        "南阳市第十三中学党支部",
        "street",
        host={"kind": "school", "name": "南阳市第十三中学", "address": "宛城区仲景路 88 号"},
    ),
)

# name, organisation, class, phone, account username, home unit code, secretary of the organisation
MEMBERS = (
    ("李网格员", "yst-01", "serving", "13800000002", "li.worker", "411302001001-01", True),
    ("王网格员", "yst-03", "serving", "13800000003", "wang.worker", "411302001001-03", True),
    ("赵网格员", "zh-01", "serving", "13800000004", "zhao.worker", "411302001002-01", True),
    ("周秀兰", "yst-01", "retired", "13900000011", None, "411302001001-01", False),
    ("吴建军", "yst-01-a", "mobile", "13900000012", None, "411302001001-02", False),
    ("郑桂英", "zh-01", "difficulty", None, None, "411302001002-02", False),
    ("冯老师", "school", "serving", "13900000013", None, "411302001001-02", True),
)


def seed_demo_party(admin: Account, units: dict[str, GridUnit], password: str) -> None:
    """The organisations, members and party staff login (the caller commits)."""
    members.seed_default_classes()
    created: dict[str, PartyOrg] = {}
    for org in ORGS:
        created[org.key] = orgs.create_org(
            admin,
            {
                "kind": org.kind,
                "name": org.name,
                "parent_id": created[org.parent].id if org.parent else None,
                "grid_id": units[org.unit_code].id if org.unit_code else None,
                "host": org.host,
            },
        )
    accounts = {account.username: account for account in _accounts([row[4] for row in MEMBERS if row[4]])}
    for name, org_key, class_code, phone, username, home_code, secretary in MEMBERS:
        view = members.create_member(
            admin,
            {
                "name": name,
                "phone": phone,
                "org_id": created[org_key].id,
                "class_code": class_code,
                "joined_on": date(2015, 7, 1),
                "account_id": accounts[username].id if username else None,
                "home_grid_id": units[home_code].id,
            },
        )
        if secretary:
            orgs.update_org(admin, created[org_key].id, {"secretary_id": view.id})
    seed_demo_activities(admin, created)
    username, display_name = PARTY_STAFF_LOGIN
    staff = auth_service.create_initial_account(username, password, Role.PARTY_STAFF, display_name)
    orgs.place_staff(staff.id, created["street"].id)
    seed_demo_check_ins(admin, created, units, password)
    seed_demo_alliance(admin, created, units)


def _accounts(usernames: list[str]) -> list[Account]:
    return [auth_service.find_account_by_username(username) for username in usernames]  # type: ignore[misc]
