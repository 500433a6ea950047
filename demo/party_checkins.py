"""The demo's 双报到: the school's serving teachers check in with the communities where they live, the school checks
in as a unit, and 冯老师, confirmed, has claimed and resolved two requests in 医圣祠社区 (one rated 5 by the
resident): service records with hours, and their points.

冯老师's volunteer account, opened by the confirmation, is renamed `feng.teacher` with the demo password so the
demo can log in as a reporting member; 韩老师's check-in is left pending for the supervisor to confirm.
"""

from datetime import date

from auth import service as auth_service
from auth.models import Account
from grid.models import GridUnit
from party.checkins import service as check_ins
from party.members import service as members
from party.orgs.models import PartyOrg
from tasks.categories.service import seed_defaults
from tasks.lifecycle import Action
from tasks.tickets import actions as ticket_actions
from tasks.tickets import intake as ticket_intake

REPORTING_LOGIN = "feng.teacher"
# description, cell (in 医圣祠社区), the resident's rating (or none)
SERVED = (  # each with a resident of its own, as the demo's residents are (demo/seed.py)
    ("楼道堆放杂物，老人出行不便", "411302001001-02", 5, ("刘大爷", "13700000105")),
    ("独居老人家中灯泡需要更换", "411302001001-02", None, ("吴奶奶", "13700000106")),
)


def seed_demo_check_ins(admin: Account, orgs: dict[str, PartyOrg], units: dict[str, GridUnit], password: str) -> None:
    """Check-ins of the school and its teachers, and 冯老师's service (the caller commits)."""
    check_ins.seed_default_areas()
    seed_defaults()  # the categories, for the requests 冯老师 served
    supervisor = auth_service.find_account_by_username("zhang.supervisor")
    assert supervisor is not None
    school = orgs["school"]
    teacher = _member_named(admin, "冯老师", school)
    colleague = members.create_member(
        admin,
        {
            "name": "韩老师",
            "phone": "13900000014",
            "org_id": school.id,
            "class_code": "serving",
            "joined_on": date(2018, 7, 1),
            "home_grid_id": units["411302001002-02"].id,
        },
    )
    served = check_ins.create_check_in(
        admin, {"kind": "member", "member_id": teacher, "service_areas": ["elderly", "environment"]}
    )
    decision = check_ins.confirm(supervisor, served.id, "欢迎到医圣祠社区报到")
    volunteer = auth_service.get_account(admin, decision.check_in.account_id)  # type: ignore[arg-type]
    volunteer.username = REPORTING_LOGIN
    auth_service.update_account(admin, volunteer.id, {"password": password})
    check_ins.create_check_in(
        admin, {"kind": "member", "member_id": colleague.id, "service_areas": ["tutoring"], "note": "可周末辅导"}
    )
    unit = check_ins.create_check_in(
        admin,
        {
            "kind": "unit",
            "org_id": school.id,
            "community_id": units["411302001001"].id,
            "service_areas": ["tutoring", "civility"],
        },
    )
    check_ins.confirm(supervisor, unit.id, "共建助学")
    _serve(volunteer, supervisor, units)


def _member_named(admin: Account, name: str, org: PartyOrg) -> int:
    page = members.list_members(admin, members.MemberFilters(org_id=org.id, q=name), limit=1, cursor=None)
    return page.items[0].id


def _serve(volunteer: Account, supervisor: Account, units: dict[str, GridUnit]) -> None:
    for description, cell, rating, (name, phone) in SERVED:
        ticket = ticket_intake.intake(
            supervisor,
            {
                "channel": "app",
                "category_code": "SERVICE.ELDERLY",
                "description": description,
                "grid_id": units[cell].id,
                "reporter": {"name": name, "phone": phone},
            },
        ).ticket
        ticket_actions.perform(volunteer, ticket.id, Action.CLAIM, {})
        ticket_actions.perform(volunteer, ticket.id, Action.RESOLVE, {"note": "已上门处理"})
        if rating is not None:
            ticket_actions.record_feedback(supervisor, ticket.id, {"rating": rating, "channel": "visit"})
