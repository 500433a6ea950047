"""The demo street's alliance (党建联合体): 仲景街道大工委 leads a hospital, a school, an enterprise and a property
company with the two community committees, approved by the street's supervisor, with a joint meeting, the
members' resources, three needs (one published and taken by the hospital, under way; one assigned to the
property company, promoted from a resident's ticket, done, rated by a visit and a member organisation, and the
resident asked by SMS to rate it; one open) and a 微心愿 claimed by 李网格员. Everything goes through the services,
as the API would."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from auth import service as auth_service
from auth.models import Account
from grid.models import GridUnit
from kernel.clock import BEIJING, utcnow
from party.alliances import meetings
from party.alliances import service as alliances
from party.lists import needs, projects, ratings, resources
from party.lists.lifecycle import Action
from party.orgs import service as orgs
from party.orgs.models import OrgKind, PartyOrg
from tasks.categories.service import seed_defaults
from tasks.tickets import intake as ticket_intake

HOSTS = (  # key, kind, name, host; the hospital's committee is a root, the 两新 branches sit under the street's
    ("hospital", OrgKind.PARTY_COMMITTEE, "南阳市中心医院党委", {"kind": "hospital", "name": "南阳市中心医院"}),
    ("enterprise", OrgKind.BRANCH, "宛城智造科技有限公司党支部", {"kind": "non_public", "name": "宛城智造科技"}),
    ("property", OrgKind.BRANCH, "红苑物业服务公司党支部", {"kind": "non_public", "name": "红苑物业服务公司"}),
)
LIGHTS_RESIDENT_PHONE = "13700000107"  # a number of its own, like the demo tickets' residents (demo.seed)
COMMITMENTS = {
    "hospital": "每月一次义诊进社区，开通老年人就医绿色通道",
    "school": "周末开放操场和阅览室，党员教师结对辅导",
    "enterprise": "每年共建资金两万元，支持楼院微改造",
    "property": "红色物业：党员先锋岗，楼道照明和消防通道日常维护",
    "yst": "收集群众需求，组织网格党员志愿服务",
    "zh": "收集群众需求，组织网格党员志愿服务",
}


def seed_demo_alliance(admin: Account, created: dict[str, PartyOrg], units: dict[str, GridUnit]) -> None:
    """The alliance and its lists (the caller commits)."""
    alliances.seed_default_themes()  # all three are seeded by the migrations; an emptied database has none
    meetings.seed_meeting_kind()
    needs.seed_default_categories()
    ratings.seed_rules()
    for key, kind, name, host in HOSTS:
        parent = None if kind is OrgKind.PARTY_COMMITTEE else created["street"].id
        created[key] = orgs.create_org(admin, {"kind": kind, "name": name, "parent_id": parent, "host": host})
    today = utcnow().astimezone(BEIJING).date()
    supervisor = auth_service.find_account_by_username("zhang.supervisor")
    assert supervisor is not None
    alliance = alliances.create_alliance(
        admin,
        {
            "name": "仲景街道党建联合体",
            "theme": "grassroots_governance",
            "lead_org_id": created["street"].id,
            "grid_id": units["411302001"].id,
            "charter": "因需而建、因需而联：党员共管、活动共抓、资源共享、难题共解。",
            "formed_on": today - timedelta(days=90),
        },
    )
    alliances.approve_alliance(supervisor, alliance.id, {"approved_on": today - timedelta(days=85)})
    for key, commitment in COMMITMENTS.items():
        alliances.add_member(
            admin,
            alliance.id,
            {"org_id": created[key].id, "commitment": commitment, "joined_on": today - timedelta(days=80)},
        )
    meetings.record_meeting(
        admin,
        alliance.id,
        {
            "title": "第四季度联席会议",
            "held_at": datetime.combine(today - timedelta(days=20), time(14, 30), tzinfo=BEIJING),
            "hours": Decimal("2"),
            "place": "仲景街道党群服务中心",
            "minutes": "通报需求清单，认领服务项目。",
            "present_org_ids": [created[key].id for key in ("street", *COMMITMENTS)],
            "decisions": [{"text": "医院义诊团队每月进医圣祠社区"}, {"text": "张衡社区楼道照明改造由红色物业承接"}],
        },
    )
    _seed_lists(admin, supervisor, alliance.id, created, units)


def _seed_lists(
    admin: Account, supervisor: Account, alliance_id: int, created: dict[str, PartyOrg], units: dict[str, GridUnit]
) -> None:
    street = units["411302001"].id
    offered = {
        key: resources.create_resource(admin, {**body, "grid_id": street, "owner_org_id": created[key].id}).id
        for key, body in (
            (
                "hospital",
                {"kind": "expertise", "description": "义诊专家团队，每月 16 小时", "capacity": 16, "unit": "hours"},
            ),
            ("enterprise", {"kind": "funds", "description": "楼院微改造共建资金", "capacity": 20000, "unit": "yuan"}),
            (
                "property",
                {"kind": "volunteers", "description": "物业党员先锋岗志愿服务", "capacity": 40, "unit": "hours"},
            ),
            ("school", {"kind": "venue", "description": "周末开放阅览室", "capacity": 60, "unit": "seats"}),
        )
    }
    health = _need(
        admin, alliance_id, units["411302001001"], "老年人健康义诊", "医圣祠社区独居和高龄老人需要定期体检", "health"
    )
    needs.perform(admin, health, Action.PUBLISH, {"note": "请成员单位认领"})
    taken = projects.take_need(
        admin,
        health,
        {"org_id": created["hospital"].id, "resources": [{"resource_id": offered["hospital"], "amount": 8}]},
    )
    projects.record_progress(admin, taken.id, {"note": "首次义诊完成，服务老人 42 人"})
    # A resident's ticket promoted into the need: when its project is done she is asked by SMS to rate it (评单).
    seed_defaults()  # the ticket categories: demo.seed files its own tickets after the party layer
    dark = ticket_intake.intake(
        admin,
        {
            "channel": "app",
            "category_code": "FACILITY.LIGHT",
            "description": "6 栋楼道没有灯，晚上上下楼不安全",
            "grid_id": units["411302001002-01"].id,
            "reporter": {"name": "孔奶奶", "phone": LIGHTS_RESIDENT_PHONE},
        },
    )
    lights = _need(
        admin,
        alliance_id,
        units["411302001002"],
        "老旧楼道照明改造",
        "张衡社区 6 栋老楼楼道无灯",
        "facilities",
        ticket_ids=[dark.ticket.id],
    )
    needs.perform(admin, lights, Action.ASSIGN, {"org_id": created["property"].id})
    project = projects.create_project(
        admin,
        {
            "need_id": lights,
            "resources": [
                {"resource_id": offered["enterprise"], "amount": 5000},
                {"resource_id": offered["property"], "amount": 12},
            ],
        },
    )
    projects.complete(admin, project.id, {"note": "6 栋楼道 48 盏声控灯全部安装"})
    ratings.rate(supervisor, lights, {"rating": 5, "comment": "回访居民：楼道亮了，晚上回家放心"})
    ratings.rate(admin, lights, {"rating": 4, "org_id": created["hospital"].id})
    _need(
        admin, alliance_id, units["411302001001-03"], "小区停车难", "第三网格晚间车辆乱停，消防通道被占", "environment"
    )
    wish = needs.create_need(
        supervisor,
        {
            "kind": "wish",
            "title": "想要一个新书包",
            "description": "三年级的孩子书包坏了，希望有一个新书包",
            "category": "education",
            "grid_id": units["411302001001-01"].id,
            "resident": {"name": "王小明家长", "phone": "13700000201"},
        },
    )
    worker = auth_service.find_account_by_username("li.worker")
    assert worker is not None
    needs.perform(worker, wish.id, Action.CLAIM, {})


def _need(
    admin: Account, alliance_id: int, unit: GridUnit, title: str, description: str, category: str, **more: Any
) -> Any:
    body = {"title": title, "description": description, "category": category, "grid_id": unit.id, **more}
    return needs.create_need(admin, {**body, "alliance_id": alliance_id, "beneficiaries": 40}).id
