"""Arranging organisation life (activities) for tests: the party side of the tickets' `world`.

C1's branch (on community C1) holds 李网格员 (the worker's member) and 周秀兰 (no account); its group 第一党小组
holds 陈志愿者 (the volunteer's member). C2's branch (on C2) holds 王党员. Party staff are placed on C1's branch
(`staff`) and on C2's (`far_staff`); the supervisor covers street S1 (so C1's organisations), far_supervisor S2.
The clock stands at 10:00 in Beijing on 10 December 2026.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel import clock
from kernel.extensions import db
from party.activities import service as activities
from party.orgs.models import OrgKind, PartyOrg
from party.points import service as points
from tests.support.party import make_org, place_staff, register_member, seed_classes
from tests.tasks.test_attachments import JPEG_1X1, multipart

ACTIVITIES = "/api/v1/party/activities"
KINDS = "/api/v1/party/activity-kinds"
# 10:00 in Beijing on 10 December 2026.
MOMENT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)


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

    def patch(self, url: str, who: str = "admin", headers: dict[str, str] | None = None, **body: Any) -> Any:
        return self.client.patch(url, json=body, headers={**self.headers[who], **(headers or {})})

    def body(self, org: str = "C1", **fields: Any) -> dict[str, Any]:
        return {
            "org_id": str(self.orgs[org].id),
            "kind": "theme_day",
            "title": "十二月主题党日",
            "held_at": "2026-12-05T09:00:00+08:00",
            "hours": 2,
            "place": "医圣祠社区党群服务中心",
            "minutes": "学习全会精神，开展楼道清洁",
            "present": [self.members["worker"], self.members["volunteer"]],
            "absent": [{"member_id": self.members["retired"], "reason": "病假"}],
            **fields,
        }

    def record(self, who: str = "admin", *, expect: int = 201, org: str = "C1", **fields: Any) -> dict[str, Any]:
        response = self.post(ACTIVITIES, who, **self.body(org, **fields))
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def upload(self, who: str = "staff") -> str:
        body, content_type = multipart(JPEG_1X1)
        response = self.client.post(
            "/api/v1/attachments", data=body, content_type=content_type, headers=self.headers[who]
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["id"]


def build_party(app: Any, world: Any, make_account: Any, auth: Any) -> Iterator[Party]:
    """The party above, for a fixture to yield."""
    clock.travel(MOMENT - datetime.now(UTC))
    seed_classes(app)
    with app.app_context():
        points.seed_default_rules()
        activities.seed_default_kinds()
        db.session.commit()
    c1 = make_org(app, "C1党支部", grid=world.tree["C1"])
    group = make_org(app, "第一党小组", parent=c1, kind=OrgKind.GROUP)
    c2 = make_org(app, "C2党支部", grid=world.tree["C2"])
    members = {
        "worker": register_member(app, c1, "李网格员", account=world.accounts["worker"]),
        "retired": register_member(app, c1, "周秀兰", class_code="retired"),
        "volunteer": register_member(app, group, "陈志愿者", account=world.accounts["volunteer"]),
        "far": register_member(app, c2, "王党员"),
    }
    staff, far_staff = make_account("party_staff"), make_account("party_staff")
    place_staff(app, staff, c1)
    place_staff(app, far_staff, c2)
    headers = {**world.headers, "staff": auth(staff), "far_staff": auth(far_staff)}
    yield Party(world, {"C1": c1, "group": group, "C2": c2}, members, headers)
    clock.travel(timedelta(0))
