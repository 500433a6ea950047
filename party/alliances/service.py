"""Rules of party alliances (党建联合体).

Functions other parts of the party layer call (needs, projects, assessment):

- `get_alliance(alliance_id)`: the alliance, 404 otherwise (no scope check: the caller's own rules decide);
- `active_member_org_ids(alliance_id, on=day)`: the organisations whose membership is live on that day;
- `acts_for_org(caller, org)`: whether the caller acts for an organisation (an admin, party staff managing it, or
  its secretary: the active member who is its 书记, through their own account);
- `is_alliance_lead(caller, alliance)`: whether the caller acts for the alliance's lead organisation (may 派单).
"""

from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import or_, select

from kernel.clock import BEIJING, utcnow
from kernel.codes import ActiveFilter, CodedList
from kernel.errors import NotFoundError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller
from party.alliances.models import Alliance, AllianceMember, AllianceTheme
from party.members.models import PartyMember
from party.orgs.models import PartyOrg
from party.scope import can_manage_org

# --- themes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultTheme:
    code: str
    name: str
    position: int


DEFAULT_THEMES: Final = (  # as the migration seeds them
    DefaultTheme("grassroots_governance", "基层治理", 1),
    DefaultTheme("red_property", "红色物业", 2),
    DefaultTheme("enterprise_support", "助企发展", 3),
    DefaultTheme("volunteer_service", "志愿服务", 4),
    DefaultTheme("caring_service", "暖心服务", 5),
)
MEETING_KIND: Final = "alliance_meeting"  # the activity kind of a joint meeting (联席会议), seeded by the migration

THEMES: Final = CodedList(
    AllianceTheme, what="alliance theme", fields={"name": None, "position": 0, "active": True}, defaults=DEFAULT_THEMES
)
ThemeFilters = ActiveFilter
seed_default_themes = THEMES.seed
list_themes = THEMES.list
get_theme = THEMES.get
create_theme = THEMES.create
update_theme = THEMES.update  # alliances keep an inactive theme; new ones cannot be given it


# --- for the rest of the party layer -----------------------------------------------------------------


def today() -> date:
    """Today in Beijing, the calendar memberships are dated by."""
    return utcnow().astimezone(BEIJING).date()


def get_alliance(alliance_id: int) -> Alliance:
    """The alliance with this id, whatever its status; 404 otherwise (the caller checks scope)."""
    alliance = db.session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFoundError(_("No such alliance."))
    return alliance


def live_on(day: date):  # type: ignore[no-untyped-def]
    """A WHERE clause over `AllianceMember` keeping the memberships live on the day (joined, not yet left)."""
    return (AllianceMember.joined_on <= day) & or_(AllianceMember.left_on.is_(None), AllianceMember.left_on > day)


def active_member_org_ids(alliance_id: int, on: date | None = None) -> list[int]:
    """The organisations whose membership of the alliance is live on the day (today by default), by id."""
    stmt = select(AllianceMember.org_id).where(AllianceMember.alliance_id == alliance_id, live_on(on or today()))
    return sorted(set(db.session.scalars(stmt)))


def is_member_org(alliance_id: int, org_id: int, on: date | None = None) -> bool:
    """Whether the organisation is a live member of the alliance on the day (today by default)."""
    return org_id in active_member_org_ids(alliance_id, on)


def is_secretary(caller: Caller, org: PartyOrg) -> bool:
    """Whether the caller's account is that of the organisation's secretary (an active member)."""
    if org.secretary_id is None:
        return False
    secretary = db.session.get(PartyMember, org.secretary_id)
    return secretary is not None and secretary.active and secretary.account_id == caller.id


def acts_for_org(caller: Caller, org: PartyOrg) -> bool:
    """Whether the caller acts for the organisation: an admin, the party staff managing it, or its secretary."""
    return can_manage_org(caller, org) or is_secretary(caller, org)


def is_alliance_lead(caller: Caller, alliance: Alliance) -> bool:
    """Whether the caller acts for the alliance's lead organisation (牵头党组织), which dispatches its work."""
    return acts_for_org(caller, alliance.lead_org)
