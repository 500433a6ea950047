"""The demo district's organisation life: the month before the seed of the first grid branch (with its group), of
张衡社区's branch and of the school's branch, with attendance, so the members present have their points."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from auth.models import Account
from kernel.clock import BEIJING, utcnow
from kernel.extensions import db
from party.activities import service as activities
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.points import service as points


@dataclass(frozen=True)
class DemoActivity:
    org: str  # a key of demo.party.ORGS
    kind: str
    title: str
    days_ago: int  # before the seed's day (Beijing time)
    at: time
    hours: str
    place: str
    absent: tuple[tuple[str, str], ...] = ()  # member name, reason; the organisation's other members are present


ACTIVITIES = (
    DemoActivity("yst-01", "committee_meeting", "支委会：研究网格民生实事", 28, time(19, 30), "1.5", "网格党群服务站"),
    DemoActivity(
        "yst-01", "theme_day", "主题党日：楼道清洁与政策宣讲", 24, time(9), "3", "医圣祠社区", (("周秀兰", "身体不适"),)
    ),
    DemoActivity("yst-01-a", "group_meeting", "党小组会：楼栋微心愿认领", 20, time(19), "1", "3 号楼议事角"),
    DemoActivity("yst-01", "party_lecture", "党课：全过程人民民主在社区", 14, time(15), "2", "社区党群服务中心"),
    DemoActivity("yst-01", "service", "志愿服务：独居老人走访", 7, time(9, 30), "2.5", "医圣祠社区各楼栋"),
    DemoActivity("zh-01", "theme_day", "主题党日：垃圾分类入户宣传", 21, time(9), "3", "张衡社区"),
    DemoActivity(
        "zh-01",
        "committee_meeting",
        "支委会：困难党员帮扶",
        10,
        time(19, 30),
        "1",
        "网格党群服务站",
        (("郑桂英", "行动不便，已电话传达"),),
    ),
    DemoActivity("school", "party_lecture", "党课：教育家精神", 12, time(16), "1.5", "第十三中学会议室"),
)


def seed_demo_activities(admin: Account, orgs: dict[str, PartyOrg]) -> None:
    """Record the month's activities as the admin would (the caller commits); the points follow by their rule."""
    activities.seed_default_kinds()  # both are seeded by the migrations; an emptied database has neither
    points.seed_default_rules()
    today = utcnow().astimezone(BEIJING).date()
    for demo in ACTIVITIES:
        org = orgs[demo.org]
        subtree = select(PartyOrg.id).where(PartyOrg.path.startswith(org.path, autoescape=True))
        members = db.session.scalars(
            select(PartyMember).where(PartyMember.org_id.in_(subtree)).order_by(PartyMember.id)
        ).all()
        reasons = dict(demo.absent)
        activities.create_activity(
            admin,
            {
                "org_id": org.id,
                "kind": demo.kind,
                "title": demo.title,
                "held_at": datetime.combine(today - timedelta(days=demo.days_ago), demo.at, tzinfo=BEIJING),
                "hours": Decimal(demo.hours),
                "place": demo.place,
                "minutes": f"{demo.title}。应到 {len(members)} 人，实到 {len(members) - len(reasons)} 人。",
                "present": [member.id for member in members if member.name not in reasons],
                "absent": [
                    {"member_id": member.id, "reason": reasons[member.name]}
                    for member in members
                    if member.name in reasons
                ],
            },
        )
