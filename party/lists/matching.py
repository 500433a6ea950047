"""Matching a need with the resources list: which resources fit, in what order, and why (deterministic).

A resource fits a need when it is active, its kind is one the need's category names, it serves the need's unit
(its unit is the need's or one above it), it is available today (and still on the need's due day, when given),
and capacity is left. Fitting resources rank by, in turn:

1. offered within the need's alliance (the resource's alliance is the need's, or its owner is a live member);
2. nearer the need: fewer levels between the resource's unit and the need's (a cell's own before its street's);
3. the kind's place in the category's list (the first kind named fits best);
4. more capacity left;
5. the lower id (older first), so equal resources keep one order.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from kernel.clock import BEIJING, utcnow
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller
from party.alliances import service as alliances
from party.lists import needs
from party.lists.models import NeedCategory, Resource


@dataclass(frozen=True)
class Suggestion:
    rank: int
    resource: Resource
    remaining: int
    in_alliance: bool
    distance: int  # levels between the resource's unit and the need's
    kind_rank: int  # the kind's place in the category's list, from 0
    reasons: list[str]


def suggestions(caller: Caller, need_id: int) -> list[Suggestion]:
    """The resources fitting the need (see the module's docstring), best first, each with why."""
    need = needs.get_need(caller, need_id)
    category = db.session.get(NeedCategory, need.category_code)
    kinds = list(category.resource_kinds) if category is not None else []
    today = utcnow().astimezone(BEIJING).date()
    until = need.due_on or today
    ancestors = _ancestor_paths(need.grid_path)
    stmt = select(Resource).where(
        Resource.active.is_(True),
        Resource.kind.in_(kinds),
        Resource.grid_path.in_(ancestors),
        Resource.reserved < Resource.capacity,
        or_(Resource.available_from.is_(None), Resource.available_from <= today),
        or_(Resource.available_to.is_(None), Resource.available_to >= max(until, today)),
    )
    members = set(alliances.active_member_org_ids(need.alliance_id)) if need.alliance_id is not None else set()
    depth = need.grid_path.count("/")
    scored = []
    for resource in db.session.scalars(stmt):
        in_alliance = need.alliance_id is not None and (
            resource.alliance_id == need.alliance_id or resource.owner_org_id in members
        )
        distance = depth - resource.grid_path.count("/")
        kind_rank = kinds.index(resource.kind.value)
        remaining = resource.capacity - resource.reserved
        scored.append((resource, in_alliance, distance, kind_rank, remaining))
    scored.sort(key=lambda row: (not row[1], row[2], row[3], -row[4], row[0].id))
    return [
        Suggestion(
            rank,
            resource,
            remaining,
            in_alliance,
            distance,
            kind_rank,
            _reasons(resource, in_alliance, distance, kind_rank, remaining, until),
        )
        for rank, (resource, in_alliance, distance, kind_rank, remaining) in enumerate(scored, start=1)
    ]


def _ancestor_paths(path: str) -> list[str]:
    """ "/1/5/9/" → ["/1/", "/1/5/", "/1/5/9/"]: the unit's own path and its ancestors'."""
    ids = [part for part in path.split("/") if part]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def _reasons(
    resource: Resource, in_alliance: bool, distance: int, kind_rank: int, remaining: int, until: date
) -> list[str]:
    reasons = []
    if in_alliance:
        reasons.append(_("offered within the need's alliance"))
    if distance == 0:
        reasons.append(_("serves the need's own unit"))
    else:
        reasons.append(_("serves a unit %(levels)s level(s) above the need's", levels=distance))
    reasons.append(_("kind %(kind)s is choice %(rank)s for the category", kind=resource.kind.value, rank=kind_rank + 1))
    reasons.append(_("%(remaining)s %(unit)s of capacity left", remaining=remaining, unit=resource.unit))
    reasons.append(_("available until %(day)s", day=until.isoformat()))
    return reasons
