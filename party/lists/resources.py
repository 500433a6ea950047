"""The resources list (资源清单): what an organisation, or one of its members, offers, and the capacity projects
reserve of it. A reservation is one conditional UPDATE (`reserved + n <= capacity`), so two projects reserving
the last of a resource at once never both get it (409 for the second), on SQLite and PostgreSQL; a check
constraint on the table holds the same line."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, or_, select, update

from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.errors import ConflictError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Caller
from party.alliances import service as alliances
from party.lists import access
from party.lists.models import Resource, ResourceKind
from party.members.models import PartyMember
from party.orgs.models import PartyOrg


def readable_resources_clause(caller: Caller) -> Any:
    """Resources the caller reads: as needs (`access.visible_clause`), and for a supervisor also those serving a
    unit above its subtree (a street's venue serves the community below it)."""
    clause = access.visible_clause(
        caller, grid_path=Resource.grid_path, owner_org_id=Resource.owner_org_id, alliance_id=Resource.alliance_id
    )
    if caller.scope_path is None:
        return clause
    return or_(clause, literal(caller.scope_path).startswith(Resource.grid_path))


def get_resource(caller: Caller, resource_id: int) -> Resource:
    stmt = select(Resource).where(Resource.id == resource_id, readable_resources_clause(caller))
    resource = db.session.scalars(stmt).first()
    if resource is None:
        raise NotFoundError(_("No such resource."))
    return resource


@dataclass(frozen=True)
class ResourceFilters:
    kind: ResourceKind | None = None
    owner_org_id: int | None = None
    alliance_id: int | None = None
    active: bool | None = None


def list_resources(caller: Caller, filters: ResourceFilters, *, limit: int, cursor: str | None) -> Page[Resource]:
    stmt = select(Resource).where(readable_resources_clause(caller))
    for column, value in (
        (Resource.kind, filters.kind),
        (Resource.owner_org_id, filters.owner_org_id),
        (Resource.alliance_id, filters.alliance_id),
        (Resource.active, filters.active),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    fingerprint = {**filters.__dict__, "caller": caller.id}
    return paginate(stmt, order_by=[Resource.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)


def create_resource(caller: Caller, data: Mapping[str, Any]) -> Resource:
    """Offer a resource for an organisation the caller acts for (or one of its members), serving a unit's subtree."""
    org = db.session.get(PartyOrg, data["owner_org_id"])
    if org is None or not org.active:
        raise ValidationError(_("No such party organisation."), {"owner_org_id": ["unknown organisation"]})
    access.ensure_acts_for(caller, org)
    unit = db.session.get(GridUnit, data["grid_id"])
    if unit is None:
        raise ValidationError(_("No such grid unit."), {"grid_id": ["unknown unit"]})
    member_id = data.get("owner_member_id")
    if member_id is not None:
        member = db.session.get(PartyMember, member_id)
        if member is None or not member.active or not member.org.path.startswith(org.path):
            raise ValidationError(
                _("That member is not in the owner organisation."), {"owner_member_id": ["not a member of it"]}
            )
    alliance_id = data.get("alliance_id")
    if alliance_id is not None and not alliances.is_member_org(alliance_id, org.id):
        raise ValidationError(
            _("That organisation is not a member of the alliance."), {"alliance_id": ["not a live member"]}
        )
    if data.get("available_from") and data.get("available_to") and data["available_to"] < data["available_from"]:
        raise ValidationError(_("The availability ends before it starts."), {"available_to": ["before available_from"]})
    resource = Resource(
        kind=data["kind"],
        description=data["description"],
        capacity=data["capacity"],
        unit=data["unit"],
        reserved=0,
        available_from=data.get("available_from"),
        available_to=data.get("available_to"),
        grid_id=unit.id,
        grid_path=unit.path,
        owner_org_id=org.id,
        owner_member_id=member_id,
        alliance_id=alliance_id,
        active=True,
        created_by=caller.id or None,
        created_at=utcnow(),
    )
    db.session.add(resource)
    db.session.flush()
    return resource


def reserve(resource_id: int, amount: int) -> None:
    """Hold `amount` of the resource's capacity; 409 when what is left is less (also when another request took
    it a moment ago)."""
    stmt = (
        update(Resource)
        .where(Resource.id == resource_id, Resource.active.is_(True), Resource.reserved + amount <= Resource.capacity)
        .values(reserved=Resource.reserved + amount)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(stmt).rowcount != 1:
        resource = db.session.get(Resource, resource_id)
        if resource is not None:
            db.session.refresh(resource)
        left = (resource.capacity - resource.reserved) if resource is not None else 0
        raise ConflictError(
            _("That resource has not that much capacity left."),
            {"resources": [f"{resource_id}: {left} left, {amount} asked"]},
        )


def release(resource_id: int, amount: int) -> None:
    stmt = (
        update(Resource)
        .where(Resource.id == resource_id)
        .values(reserved=Resource.reserved - amount)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(stmt)
