"""Arranging the lists tests (needs, resources, projects, wishes) on the tickets' `world`.

Street S1's 大工委 (on S1) leads an active alliance whose live members are itself, a hospital's and a school's
organisations; C1's branch (on C1, under the 大工委) and C2's branch (on C2) are not members. Party staff:
`lead_staff` on the 大工委 (so it manages C1's branch too), `hospital_staff`, `school_staff`, `far_staff` (C2).
Members with accounts: the worker (李网格员, C1's branch, home G1a) and the volunteer (陈志愿者, C1's branch);
a doctor of the hospital (no account). The clock stands at 10:00 in Beijing on 10 December 2026.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kernel import clock
from kernel.extensions import db
from party.alliances import service as alliances
from party.alliances.models import Alliance, AllianceMember, AllianceStatus
from party.lists import needs, ratings
from party.orgs.models import HostKind, OrgKind, PartyOrg
from party.points import service as points
from tests.support.party import make_org, place_staff, register_member, seed_classes
from tests.tasks.test_attachments import JPEG_1X1, multipart

NEEDS = "/api/v1/party/needs"
RESOURCES = "/api/v1/party/resources"
PROJECTS = "/api/v1/party/projects"
MOMENT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@dataclass
class Lists:
    world: Any
    orgs: dict[str, PartyOrg]
    members: dict[str, str]
    headers: dict[str, dict[str, str]]
    alliance_id: int

    @property
    def client(self) -> Any:
        return self.world.client

    def unit(self, code: str) -> str:
        return str(self.world.tree[code].id)

    def org(self, name: str) -> str:
        return str(self.orgs[name].id)

    def get(self, url: str, who: str = "admin", **params: Any) -> Any:
        return self.client.get(url, query_string=params, headers=self.headers[who])

    def post(self, url: str, who: str = "admin", **body: Any) -> Any:
        return self.client.post(url, json=body, headers=self.headers[who])

    def patch(self, url: str, who: str = "admin", **body: Any) -> Any:
        return self.client.patch(url, json=body, headers=self.headers[who])

    def ok(self, response: Any, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def need(self, who: str = "supervisor", **fields: Any) -> dict[str, Any]:
        body = {
            "title": "老旧小区加装楼道扶手",
            "description": "新华街 12 号院三栋楼的老人上下楼困难",
            "category": "facilities",
            "grid_id": self.unit("G1a"),
            "beneficiaries": 36,
            "alliance_id": str(self.alliance_id),
            **fields,
        }
        return self.ok(self.post(NEEDS, who, **body), 201)

    def wish(self, who: str = "community_supervisor", **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "wish",
            "title": "想要一个新书包",
            "description": "三年级的孩子书包坏了，希望有一个新书包",
            "category": "education",
            "grid_id": self.unit("G1a"),
            "resident": {"name": "王小明", "phone": "13900002222"},
            **fields,
        }
        return self.ok(self.post(NEEDS, who, **body), 201)

    def act(self, need: dict[str, Any], action: str, who: str, status: int = 200, **body: Any) -> dict[str, Any]:
        return self.ok(self.post(f"{NEEDS}/{need['id']}/{action}", who, **body), status)

    def resource(self, who: str = "hospital_staff", **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "funds",
            "description": "医院党委共建资金",
            "capacity": 10000,
            "unit": "yuan",
            "grid_id": self.unit("S1"),
            "owner_org_id": self.org("hospital"),
            **fields,
        }
        return self.ok(self.post(RESOURCES, who, **body), 201)

    def upload(self, who: str) -> str:
        body, content_type = multipart(JPEG_1X1)
        response = self.client.post(
            "/api/v1/attachments", data=body, content_type=content_type, headers=self.headers[who]
        )
        return self.ok(response, 201)["id"]


def build_lists(app: Any, world: Any, make_account: Any, auth: Any) -> Iterator[Lists]:
    clock.travel(MOMENT - datetime.now(UTC))
    seed_classes(app)
    with app.app_context():
        points.seed_default_rules()
        ratings.seed_rules()
        needs.seed_default_categories()
        alliances.seed_default_themes()
        db.session.commit()
    street = make_org(app, "S1大工委", grid=world.tree["S1"], kind=OrgKind.PARTY_COMMITTEE)
    c1 = make_org(app, "C1党支部", parent=street, grid=world.tree["C1"])
    hospital = make_org(app, "市第一医院党委", host=HostKind.HOSPITAL, kind=OrgKind.PARTY_COMMITTEE)
    school = make_org(app, "实验小学党支部", host=HostKind.SCHOOL)
    far = make_org(app, "C2党支部", grid=world.tree["C2"])
    members = {
        "worker": register_member(app, c1, "李网格员", account=world.accounts["worker"], home=world.tree["G1a"]),
        "volunteer": register_member(app, c1, "陈志愿者", account=world.accounts["volunteer"]),
        "doctor": register_member(app, hospital, "刘医生"),
    }
    staff = {
        name: make_account("party_staff") for name in ("lead_staff", "hospital_staff", "school_staff", "far_staff")
    }
    for name, org in (
        ("lead_staff", street),
        ("hospital_staff", hospital),
        ("school_staff", school),
        ("far_staff", far),
    ):
        place_staff(app, staff[name], org)
    with app.app_context():
        alliance = Alliance(
            name="新华街道大工委联合体",
            theme_code="grassroots_governance",
            lead_org_id=street.id,
            grid_id=world.tree["S1"].id,
            status=AllianceStatus.ACTIVE,
            formed_on=date(2026, 1, 1),
        )
        db.session.add(alliance)
        db.session.flush()
        for org in (street, hospital, school):
            db.session.add(AllianceMember(alliance_id=alliance.id, org_id=org.id, joined_on=date(2026, 1, 1)))
        db.session.commit()
        alliance_id = alliance.id
    headers = {**world.headers, **{name: auth(account) for name, account in staff.items()}}
    orgs = {"street": street, "c1": c1, "hospital": hospital, "school": school, "far": far}
    yield Lists(world, orgs, members, headers, alliance_id)
    clock.travel(timedelta(0))


def need_at_status(lists: Lists, status: str) -> dict[str, Any]:
    """A need of the alliance (for G1a) brought to `status` by the usual steps."""
    need = lists.need()
    if status == "published":
        lists.act(need, "publish", "supervisor")
    elif status == "matched":
        lists.act(need, "assign", "supervisor", org_id=lists.org("school"))
    elif status in ("in_project", "met"):
        lists.act(need, "publish", "supervisor")
        project = lists.act(need, "take", "school_staff", 201, org_id=lists.org("school"))
        if status == "met":
            lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "school_staff", note="扶手已全部安装"))
    elif status == "withdrawn":
        lists.act(need, "withdraw", "supervisor", reason="与其他需求重复")
    return lists.ok(lists.get(f"{NEEDS}/{need['id']}", "admin"))
