"""Arranging 双报到 tests on the tickets' `world`: a party tree beside the territory, members of each kind of
account, party staff, and short ways to register, confirm and end check-ins through the API.

Organisations: S1's 大工委 (on street S1) › C1's branch (on C1) and a school's branch (a host unit); S2's 大工委 (on
S2) › C2's branch. `staff` is placed on S1's committee, `far_staff` on S2's. Members (all serving unless said):

- teacher: the school's, no account, living in G1b (community C1);
- worker: C1's branch, the worker's account (cells in C1), living in G2a (community C2);
- volunteer: C1's branch, far_volunteer's account (a volunteer of C2), living in G1a (community C1);
- retired: C1's branch, class retired, living in G1a;
- far: C2's branch, no account, living in G2a.
"""

from dataclasses import dataclass
from typing import Any

from flask import Flask

from kernel.extensions import db
from party.checkins import service as check_ins
from party.orgs.models import HostKind, OrgKind, PartyOrg
from party.points import service as points
from tests.support.party import make_org, place_staff, register_member, seed_classes

CHECK_INS = "/api/v1/party/check-ins"
AREAS = "/api/v1/party/service-areas"


@dataclass
class Party:
    world: Any
    orgs: dict[str, PartyOrg]
    members: dict[str, str]  # who: member id
    headers: dict[str, dict[str, str]]

    @property
    def client(self) -> Any:
        return self.world.client

    def get(self, url: str, who: str = "admin", **params: Any) -> Any:
        return self.client.get(url, query_string=params, headers=self.headers[who])

    def post(self, url: str, who: str = "admin", **body: Any) -> Any:
        return self.client.post(url, json=body, headers=self.headers[who])

    def register(self, member: str, who: str = "admin", *, expect: int = 201, **fields: Any) -> dict[str, Any]:
        body = {"member_id": self.members[member], "service_areas": ["environment", "elderly"], **fields}
        response = self.post(CHECK_INS, who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def confirm(self, check_in: dict[str, Any], who: str = "admin", *, expect: int = 200, **body: Any) -> Any:
        response = self.post(f"{CHECK_INS}/{check_in['id']}/confirm", who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def end(self, check_in: dict[str, Any], who: str = "admin", *, expect: int = 200, **body: Any) -> Any:
        response = self.post(f"{CHECK_INS}/{check_in['id']}/end", who, **{"reason": "搬家", **body})
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def checked_in(self, member: str, **fields: Any) -> dict[str, Any]:
        """A confirmed check-in of the member (by an admin)."""
        return self.confirm(self.register(member, **fields))["check_in"]


def build_party(app: Flask, world: Any, make_account: Any, auth: Any) -> Party:
    seed_classes(app)
    with app.app_context():
        points.seed_default_rules()
        check_ins.seed_default_areas()
        db.session.commit()
    s1 = make_org(app, "S1大工委", grid=world.tree["S1"], kind=OrgKind.PARTY_COMMITTEE)
    s2 = make_org(app, "S2大工委", grid=world.tree["S2"], kind=OrgKind.PARTY_COMMITTEE)
    c1 = make_org(app, "C1党支部", parent=s1, grid=world.tree["C1"])
    c2 = make_org(app, "C2党支部", parent=s2, grid=world.tree["C2"])
    school = make_org(app, "十三中党支部", parent=s1, host=HostKind.SCHOOL)
    tree = world.tree
    members = {
        "teacher": register_member(app, school, "冯老师", home=tree["G1b"], phone="13900002222"),
        "worker": register_member(app, c1, "李网格员", account=world.accounts["worker"], home=tree["G2a"]),
        "volunteer": register_member(app, c1, "刘志愿者", account=world.accounts["far_volunteer"], home=tree["G1a"]),
        "retired": register_member(app, c1, "周秀兰", class_code="retired", home=tree["G1a"]),
        "far": register_member(app, c2, "王党员", home=tree["G2a"]),
    }
    staff, far_staff = make_account("party_staff"), make_account("party_staff")
    place_staff(app, staff, s1)
    place_staff(app, far_staff, s2)
    headers = {**world.headers, "staff": auth(staff), "far_staff": auth(far_staff)}
    orgs = {"S1": s1, "S2": s2, "C1": c1, "C2": c2, "school": school}
    return Party(world, orgs, members, headers)
