"""Arranging the party layer for tests: organisations on conftest's `tree`, staff placements, members.

Organisations are stored directly (their own endpoints are tested elsewhere); members go through the member
service, so the accounts' `party_member` flag is kept as in the API.
"""

from datetime import date

from flask import Flask

from auth.models import Account
from grid.models import GridUnit
from kernel.extensions import db
from kernel.principals import Role
from party.members import service as members
from party.orgs.models import HostKind, OrgKind, PartyOrg, PartyStaffPlacement


class _Admin:
    """The caller the arranging code acts as: an admin, who manages every organisation."""

    id = 0
    role = Role.ADMIN
    scope_grid_id = None
    scope_path = None
    updated_at = None

    def entity(self) -> None:
        return None


def seed_classes(app: Flask) -> None:
    with app.app_context():
        members.seed_default_classes()
        db.session.commit()


def make_org(
    app: Flask,
    name: str,
    *,
    parent: PartyOrg | None = None,
    grid: GridUnit | None = None,
    kind: OrgKind = OrgKind.BRANCH,
    host: HostKind | None = None,
    active: bool = True,
) -> PartyOrg:
    """An organisation built on `grid`, or in a host unit when `host` is given, under `parent`."""
    return store_org(
        app,
        kind=kind,
        name=name,
        parent_id=parent.id if parent is not None else None,
        grid_id=grid.id if grid is not None else None,
        host=host,
        active=active,
    )


def store_org(
    app: Flask,
    *,
    kind: OrgKind,
    name: str,
    parent_id: int | None,
    grid_id: int | None,
    host: HostKind | None,
    active: bool,
    host_name: str | None = None,
) -> PartyOrg:
    """An organisation written straight to the table, with its path under its parent's; returned detached."""
    with app.app_context():
        parent = db.session.get(PartyOrg, parent_id) if parent_id is not None else None
        org = PartyOrg(
            kind=kind,
            name=name,
            parent_id=parent_id,
            path=f"/new-{name}/",
            grid_id=grid_id,
            host_kind=host,
            host_name=(host_name or name) if host is not None else None,
            active=active,
        )
        db.session.add(org)
        db.session.flush()
        org.path = f"{parent.path if parent is not None else '/'}{org.id}/"
        db.session.commit()
        db.session.refresh(org)
        db.session.expunge(org)
        return org


def place_staff(app: Flask, account: Account, org: PartyOrg) -> None:
    with app.app_context():
        db.session.add(PartyStaffPlacement(account_id=account.id, org_id=org.id))
        db.session.commit()


def register_member(
    app: Flask,
    org: PartyOrg,
    name: str = "党员",
    *,
    account: Account | None = None,
    phone: str | None = "13900001111",
    class_code: str = "serving",
    home: GridUnit | None = None,
    active: bool = True,
) -> str:
    """A member registered through the service; returns its id as the API shows it."""
    with app.app_context():
        members.seed_default_classes()
        view = members.create_member(
            _Admin(),
            {
                "name": name,
                "phone": phone,
                "org_id": org.id,
                "class_code": class_code,
                "joined_on": date(2020, 7, 1),
                "left_on": None if active else date(2025, 1, 1),
                "account_id": account.id if account is not None else None,
                "home_grid_id": home.id if home is not None else None,
                "active": active,
            },
        )
        db.session.commit()
        return str(view.id)
