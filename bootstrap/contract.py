"""The enums the OpenAPI document names once, as components, for every context that uses them: a client then has
one `TicketStatus` type, passed to the list filter as well as read from a ticket."""

from grid.coords import CoordSystem
from grid.models import GridLevel
from kernel.contract import shared_enum
from kernel.principals import Role
from notifications.outbox.models import DeliveryStatus, Medium
from party.activities.models import ActivityStatus
from party.checkins.models import CheckInKind, CheckInStatus
from party.orgs.models import OrgKind
from party.points.models import PointTrigger
from tasks.categories.models import Priority
from tasks.lifecycle import Action, Status
from tasks.tickets.models import Channel
from workforce.models import Employment

SHARED = {
    "CoordSystem": CoordSystem,
    "Role": Role,
    "GridLevel": GridLevel,
    "TicketStatus": Status,
    "TicketAction": Action,
    "Priority": Priority,
    "Channel": Channel,
    "Employment": Employment,
    "OrgKind": OrgKind,
    "CheckInKind": CheckInKind,
    "CheckInStatus": CheckInStatus,
    "PointTrigger": PointTrigger,
    "ActivityStatus": ActivityStatus,
    "DeliveryStatus": DeliveryStatus,
    "Medium": Medium,
}


def declare_shared_enums() -> None:
    for name, values in SHARED.items():
        shared_enum(name, values)
