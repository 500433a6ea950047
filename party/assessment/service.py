"""考评: the party layer's figures for a territory subtree and period (`summary`), for admins, supervisors (their
grid subtree, as the ticket dashboards) and party staff placed on a territorial organisation (the subtree of the
unit it is built on). Rates are `{numerator, denominator, rate}` as in the ticket dashboards.

Definitions (Beijing calendar days, inclusive; the subtree of `grid_id`):
- needs (and wishes): those raised in the period, counted by where they stand now (read from the rollup
  `party_stats_daily`, party.assessment.rollups): matched = given to an
  organisation (matched, in a project) or a member (a claimed or fulfilled wish), or met; matched and met rates
  over (raised - withdrawn); met on time = met on or before the due day
  (no due day: on time) over met;
- projects: those opened in the period, by status now (from the rollup `party_stats_figures`,
  party.assessment.figure_rollups, as ratings and points);
- resources: those offered in the period (active), by unit of capacity; used = with capacity reserved by a
  project now, over offered;
- alliances serving the subtree by status now; meetings: joint meetings held in the period (not cancelled);
- ratings of the subtree's projects given in the period: residents' (SMS and return visits), satisfied = 4 or 5
  over ratings; member organisations' (of the owner) apart;
- 双报到: members checked in with a community of the subtree at some time in the period, and their service
  records (withdrawn left out) and hours in the period;
- points: entries dated in the period for members of the organisations built on the subtree's units and below:
  awarded and deducted from the rollup; `members` (distinct members with entries) cannot be summed over days, so
  it is a live query read from the entries' (org_id, occurred_at, member_id) index alone.
Resources, alliances, meetings and 双报到 are live indexed queries: a few ms each on the bench district
(docs/PERFORMANCE.md, "Party assessment").
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dashboards.service import Target, rate, target_of
from grid.models import GridUnit
from kernel.errors import ForbiddenError, NotFoundError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller, Role
from party.activities.service import beijing_midnight
from party.assessment import figure_rollups, figures, rollups
from party.lists.models import NeedKind, RatingSource
from party.scope import placement_of


@dataclass(frozen=True)
class Summary:
    grid_id: int | None  # null: the whole territory
    date_from: date
    date_to: date
    needs: dict[str, Any]
    wishes: dict[str, Any]
    projects: dict[str, int]
    resources: dict[str, Any]
    alliances: dict[str, int]
    meetings: dict[str, int]
    ratings: dict[str, Any]
    check_ins: dict[str, Any]
    points: dict[str, int]


def summary(caller: Caller, grid_id: int | None, first: date | None, last: date | None) -> Summary:
    """The figures of the subtree and period (this month by default) the caller may report on."""
    target = _target(caller, grid_id, first, last)
    path = target.unit.path if target.unit is not None else "/"
    period = figures.Period(path, beijing_midnight(target.first), beijing_midnight(target.last + timedelta(days=1)))
    cohorts = rollups.need_cohorts(target.unit_ids, target.first, target.last)
    needs, wishes = cohorts[NeedKind.NEED], cohorts[NeedKind.WISH]
    found = figure_rollups.sums(target.unit_ids, target.first, target.last)
    by_unit = figures.resources_by_unit(period)
    offered = sum(row.offered for row in by_unit)
    residents = figure_rollups.ratings_of(found, figures.RESIDENTS)
    member_orgs = figure_rollups.ratings_of(found, (RatingSource.MEMBER_ORG,))
    service = figures.check_in_service(period)
    points = figure_rollups.points_of(found, figures.point_members(period))
    projects = figure_rollups.projects_by_status(found)
    return Summary(
        grid_id=target.unit.id if target.unit is not None else None,
        date_from=target.first,
        date_to=target.last,
        needs=_cohort(needs),
        wishes=_cohort(wishes),
        projects={**projects, "total": sum(projects.values())},
        resources={
            "offered": offered,
            "used": rate(figures.resources_used(period), offered),
            "by_unit": [row.__dict__ for row in by_unit],
        },
        alliances=figures.alliances_by_status(period),
        meetings={"held": figures.meetings_held(period)},
        ratings={
            "residents": _ratings(residents),
            "member_orgs": {"count": member_orgs.count, "average": member_orgs.average},
        },
        check_ins={"members": service.members, "service_records": service.records, "service_hours": service.hours},
        points={"awarded": points.awarded, "deducted": points.deducted, "net": points.net, "members": points.members},
    )


def _cohort(cohort: figures.NeedCohort) -> dict[str, Any]:
    live = cohort.raised - cohort.withdrawn
    return {
        "raised": cohort.raised,
        "withdrawn": cohort.withdrawn,
        "matched": rate(cohort.matched, live),
        "met": rate(cohort.met, live),
        "met_on_time": rate(cohort.met_on_time, cohort.met),
    }


def _ratings(found: figures.RatingFigures) -> dict[str, Any]:
    return {"count": found.count, "average": found.average, "satisfied": rate(found.satisfied, found.count)}


def _target(caller: Caller, grid_id: int | None, first: date | None, last: date | None) -> Target:
    """Admins and supervisors as the ticket dashboards; party staff over the unit their organisation is built on."""
    if caller.role in (Role.ADMIN, Role.SUPERVISOR):
        return target_of(caller, grid_id=grid_id, first=first, last=last)
    if caller.role is Role.PARTY_STAFF:
        org = placement_of(caller.id)
        home = db.session.get(GridUnit, org.grid_id) if org is not None and org.grid_id is not None else None
        if home is None:
            raise ForbiddenError(
                _("You have no part of the territory to report on."), {"scope": ["no territorial organisation"]}
            )
        unit = home if grid_id is None else db.session.get(GridUnit, grid_id)
        if unit is None or not unit.path.startswith(home.path):
            raise NotFoundError(_("No such grid unit."))
        dated = target_of(_AsAdmin(), grid_id=unit.id, first=first, last=last)
        return Target((unit,), dated.first, dated.last, None)
    raise ForbiddenError(_("Your role may not do this."), {"role": ["one of: admin, supervisor, party_staff"]})


class _AsAdmin:
    """Dates a party staff member's request as the dashboards would, once their unit is checked here."""

    id = 0
    role = Role.ADMIN
    scope_grid_id = None
    scope_path = None
    updated_at = None

    def entity(self) -> None:
        return None
