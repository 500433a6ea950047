"""Arranging the party layer directly in the database: organisations (any shape, even legacy roots), members and
party staff placements. Each returns ids, committed and visible to the client."""

from typing import Any

from flask import Flask

from kernel.extensions import db
from party.members.models import MemberClass, PartyMember
from party.orgs.models import HostKind, OrgKind, PartyStaffPlacement
from tests.support.party import store_org


def make_org(
    app: Flask,
    kind: str,
    *,
    parent: int | str | None = None,
    grid: Any = None,
    host: str | None = None,
    name: str | None = None,
    active: bool = True,
) -> int:
    """An organisation under `parent` (an id, as an int or as the API writes it), built on `grid` (a unit or an
    id) or in a school named `host`; its id."""
    org = store_org(
        app,
        kind=OrgKind(kind),
        name=name or f"{kind} 组织",
        parent_id=int(parent) if parent is not None else None,
        grid_id=None if grid is None else int(grid) if isinstance(grid, int | str) else grid.id,
        host=HostKind.SCHOOL if host is not None else None,
        host_name=host,
        active=active,
    )
    return org.id


def make_member(app: Flask, org: int | str, *, name: str = "党员", active: bool = True) -> int:
    with app.app_context():
        if db.session.get(MemberClass, "serving") is None:
            db.session.add(MemberClass(code="serving", name="在职", position=1))
        member = PartyMember(name=name, org_id=int(org), class_code="serving", active=active)
        db.session.add(member)
        db.session.commit()
        return member.id


def place(app: Flask, account_id: int, org: int | str) -> None:
    with app.app_context():
        db.session.add(PartyStaffPlacement(account_id=account_id, org_id=int(org)))
        db.session.commit()
