"""Arranging the tickets tests: who works where, and a short way to file requests and act on tickets.

The territory is conftest's `tree`: district D › streets S1, S2 › communities C1 (S1), C2 (S2) ›
cells G1a, G1b (C1), G2a (C2).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient

from auth.models import Account
from grid.models import GridUnit

RESIDENT_PHONE = "13912345678"


@dataclass(frozen=True)
class World:
    client: FlaskClient
    tree: dict[str, GridUnit]
    accounts: dict[str, Account]
    headers: dict[str, dict[str, str]]

    def id_of(self, who: str) -> str:
        return str(self.accounts[who].id)

    def file(self, who: str = "worker", *, expect: int = 201, **fields: Any) -> dict[str, Any]:
        """File a request as `who` (in cell G1a unless told otherwise); returns the intake response."""
        body = {
            "channel": "app",
            "category_code": "CITY.GARBAGE",
            "description": "楼下垃圾三天没人清运",
            "grid_id": str(self.tree["G1a"].id),
            "address": "宛城区新华街 12 号",
            "reporter": {"name": "张大妈", "phone": RESIDENT_PHONE},
            **fields,
        }
        response = self.client.post("/api/v1/requests", json=body, headers=self.headers[who])
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def ticket(self, who: str = "worker", **fields: Any) -> dict[str, Any]:
        return self.file(who, **fields)["ticket"]

    def act(self, who: str, ticket: dict[str, Any] | str, action: str, status: int = 200, **body: Any) -> Any:
        ticket_id = ticket if isinstance(ticket, str) else ticket["id"]
        response = self.client.post(f"/api/v1/tickets/{ticket_id}/{action}", json=body, headers=self.headers[who])
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def get(self, who: str, ticket: dict[str, Any] | str) -> Any:
        ticket_id = ticket if isinstance(ticket, str) else ticket["id"]
        return self.client.get(f"/api/v1/tickets/{ticket_id}", headers=self.headers[who])

    def in_progress(self, worker: str = "worker", **fields: Any) -> dict[str, Any]:
        """A ticket dispatched to `worker` and accepted."""
        ticket = self.ticket(**fields)
        self.act("supervisor", ticket, "dispatch", assignee_id=self.id_of(worker))
        return self.act(worker, ticket, "accept")

    def resolved(self, worker: str = "worker", **fields: Any) -> dict[str, Any]:
        ticket = self.in_progress(worker, **fields)
        return self.act(worker, ticket, "resolve", note="已清运完毕")


def build_world(
    client: FlaskClient,
    tree: dict[str, GridUnit],
    make_account: Callable[..., Account],
    auth: Callable[[Account], dict[str, str]],
) -> World:
    """admin; supervisor (street S1) and far_supervisor (S2); community_supervisor (C1); worker (G1a),
    other_worker (G1b), far_worker (G2a); volunteer and other_volunteer (C1), far_volunteer (C2)."""
    accounts = {
        "admin": make_account("admin"),
        "supervisor": make_account("supervisor", unit=tree["S1"]),
        "community_supervisor": make_account("supervisor", unit=tree["C1"]),
        "far_supervisor": make_account("supervisor", unit=tree["S2"]),
        "worker": make_account("worker", unit=tree["C1"], cells=[tree["G1a"]], display_name="李网格员"),
        "other_worker": make_account("worker", unit=tree["C1"], cells=[tree["G1b"]]),
        "far_worker": make_account("worker", unit=tree["C2"], cells=[tree["G2a"]]),
        "volunteer": make_account("volunteer", unit=tree["C1"], display_name="陈志愿者"),
        "other_volunteer": make_account("volunteer", unit=tree["C1"]),
        "far_volunteer": make_account("volunteer", unit=tree["C2"]),
    }
    headers = {name: auth(account) for name, account in accounts.items()}
    return World(client, tree, accounts, headers)
