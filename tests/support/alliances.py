"""Arranging alliances for tests: the party of tests/support/activities.py, with a street's 大工委 and four host
organisations.

On top of that party (C1's branch and its group, C2's branch; `staff` placed on C1's branch, `far_staff` on C2's;
the supervisor over street S1, far_supervisor over S2): S1大工委 (a party committee on street S1) with
`street_staff` placed on it and `secretary` (a worker account) as its secretary; the hosts 南阳市第一人民医院,
新华路小学, 宛城科技公司 and 红色物业公司 (root organisations in host units). The clock stands at 10:00 in
Beijing on 10 December 2026.
"""

from dataclasses import dataclass
from typing import Any

from kernel.extensions import db
from party.alliances import meetings
from party.alliances import service as alliances
from party.orgs.models import HostKind, OrgKind, PartyOrg
from tests.support.activities import Party
from tests.support.party import make_org, place_staff, register_member

ALLIANCES = "/api/v1/party/alliances"
HOSTS = {
    "hospital": ("南阳市第一人民医院党委", HostKind.HOSPITAL),
    "school": ("新华路小学党支部", HostKind.SCHOOL),
    "enterprise": ("宛城科技公司党支部", HostKind.NON_PUBLIC),
    "property": ("红色物业公司党支部", HostKind.NON_PUBLIC),
}


@dataclass
class Alliances:
    party: Party

    @property
    def orgs(self) -> dict[str, PartyOrg]:
        return self.party.orgs

    def org_id(self, name: str) -> str:
        return str(self.orgs[name].id)

    def get(self, url: str, who: str = "admin", **params: Any) -> Any:
        return self.party.get(url, who, **params)

    def post(self, url: str, who: str = "admin", **body: Any) -> Any:
        return self.party.post(url, who, **body)

    def propose(self, who: str = "admin", *, expect: int = 201, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "新华街道党建联合体",
            "theme": "grassroots_governance",
            "lead_org_id": self.org_id("street"),
            "grid_id": str(self.party.world.tree["S1"].id),
            "charter": "共商共建共享",
            "formed_on": "2026-03-01",
            **fields,
        }
        response = self.post(ALLIANCES, who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def approve(self, alliance: dict[str, Any], who: str = "supervisor", *, expect: int = 200, **body: Any) -> Any:
        response = self.post(f"{ALLIANCES}/{alliance['id']}/approve", who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def active(self, **fields: Any) -> dict[str, Any]:
        alliance = self.propose(**fields)
        return self.approve(alliance, approved_on="2026-03-15")

    def join(
        self, alliance: dict[str, Any], org: str, who: str = "admin", *, expect: int = 201, **fields: Any
    ) -> dict[str, Any]:
        body = {"org_id": self.org_id(org), "commitment": f"{org}的共建承诺", "joined_on": "2026-04-01", **fields}
        response = self.post(f"{ALLIANCES}/{alliance['id']}/members", who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def meet(self, alliance: dict[str, Any], who: str = "admin", *, expect: int = 201, **fields: Any) -> Any:
        body = {
            "title": "第四季度联席会议",
            "held_at": "2026-12-05T14:00:00+08:00",
            "hours": 2,
            "present_org_ids": [self.org_id("street"), self.org_id("hospital")],
            "decisions": [{"text": "开展义诊进社区"}],
            **fields,
        }
        response = self.post(f"{ALLIANCES}/{alliance['id']}/meetings", who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()


def build_alliances(app: Any, party: Party, make_account: Any, auth: Any) -> Alliances:
    """The street committee, its staff and secretary, and the four hosts, added to `party`."""
    with app.app_context():
        alliances.seed_default_themes()
        meetings.seed_meeting_kind()
        db.session.commit()
    street = make_org(app, "新华街道大工委", grid=party.world.tree["S1"], kind=OrgKind.PARTY_COMMITTEE)
    party.orgs["street"] = street
    for key, (name, host) in HOSTS.items():
        kind = OrgKind.PARTY_COMMITTEE if key == "hospital" else OrgKind.BRANCH
        party.orgs[key] = make_org(app, name, kind=kind, host=host)
    street_staff, secretary = make_account("party_staff"), make_account("worker", cells=[party.world.tree["G1b"]])
    place_staff(app, street_staff, street)
    member_id = register_member(app, street, "赵书记", account=secretary)
    with app.app_context():
        db.session.get(PartyOrg, street.id).secretary_id = int(member_id)  # type: ignore[union-attr]
        db.session.commit()
    party.headers.update({"street_staff": auth(street_staff), "secretary": auth(secretary)})
    party.members["secretary"] = member_id
    return Alliances(party)
