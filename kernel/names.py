"""The names people read for the values of our enums: statuses first, one table each, in one place.

Clients branch on the values (`in_progress`), which never change; people read these names (办理中 in Chinese, the
msgid in English) in messages, exports, SMS and inbox texts. Keyed by the value, so that the kernel needs no
context's enum; `tests/kernel/test_i18n.py` checks each table covers its enum.
"""

from collections.abc import Mapping
from typing import Final

from flask_babel import LazyString

from kernel.i18n import N_, _l, in_chinese

# Tickets (tasks.lifecycle.Status), as staff read them.
TICKET_STATUSES: Final[Mapping[str, LazyString]] = {
    "pending": _l("awaiting dispatch"),  # 待派单
    "assigned": _l("dispatched"),  # 已派单
    "in_progress": _l("in progress"),  # 办理中
    "return_requested": _l("awaiting return review"),  # 退单待审
    "suspend_requested": _l("awaiting suspension review"),  # 挂起待审
    "suspended": _l("suspended"),  # 已挂起
    "resolved": _l("resolved"),  # 已办结
    "closed": _l("closed"),  # 已关闭
    "cancelled": _l("cancelled"),  # 已撤销
}

# Tickets as residents read them (SMS, the public lookup page): what happens to their request, not whose desk it
# is on; always in Chinese (`resident_status`).
RESIDENT_STATUSES: Final[Mapping[str, str]] = {
    "pending": N_("received"),  # 已受理
    "assigned": N_("dispatched"),  # 已派单
    "in_progress": N_("being handled"),  # 处理中
    "return_requested": N_("being handled"),
    "suspend_requested": N_("being handled"),
    "suspended": N_("on hold"),  # 暂缓办理
    "resolved": N_("resolved"),  # 已办结
    "closed": N_("completed"),  # 已完结
    "cancelled": N_("cancelled"),  # 已撤销
}

# Party check-ins (party.checkins.models.CheckInStatus).
CHECK_IN_STATUSES: Final[Mapping[str, LazyString]] = {
    "pending": _l("awaiting confirmation"),  # 待确认
    "confirmed": _l("checked in"),  # 已报到
    "rejected": _l("not accepted"),  # 未通过
    "ended": _l("ended"),  # 已结束
}

# Party activities (party.activities.models.ActivityStatus).
ACTIVITY_STATUSES: Final[Mapping[str, LazyString]] = {
    "held": _l("held"),  # 已举办
    "cancelled": _l("called off"),  # 已取消
}

# Disputed point entries (party.points.models.DisputeStatus).
DISPUTE_STATUSES: Final[Mapping[str, LazyString]] = {
    "open": _l("under review"),  # 待处理
    "upheld": _l("upheld"),  # 维持原记录
    "corrected": _l("corrected"),  # 已更正
}

# Notifications in the outbox (notifications.outbox.models.DeliveryStatus).
DELIVERY_STATUSES: Final[Mapping[str, LazyString]] = {
    "pending": _l("waiting to be sent"),  # 待发送
    "sending": _l("being sent"),  # 发送中
    "sent": _l("sent"),  # 已发送
    "delivered": _l("delivered"),  # 已送达
    "failed": _l("not delivered"),  # 发送失败
    "held": _l("held back"),  # 暂缓发送
    "dead": _l("given up"),  # 已放弃
}

# Party organisations (party.orgs.models.OrgKind).
ORG_KINDS: Final[Mapping[str, LazyString]] = {
    "party_committee": _l("party committee"),  # 党委
    "general_branch": _l("general party branch"),  # 党总支
    "branch": _l("party branch"),  # 党支部
    "group": _l("party group"),  # 党小组
}

ROLES: Final[Mapping[str, LazyString]] = {
    "admin": _l("administrator"),  # 管理员
    "supervisor": _l("supervisor"),  # 主管
    "worker": _l("grid worker"),  # 网格员
    "volunteer": _l("volunteer"),  # 志愿者
    "party_staff": _l("party affairs worker"),  # 党务工作者
}

GRID_LEVELS: Final[Mapping[str, LazyString]] = {
    "city": _l("city"),  # 市
    "district": _l("district"),  # 区
    "street": _l("street"),  # 街道
    "community": _l("community"),  # 社区
    "grid": _l("grid cell"),  # 网格
}


def name_of(table: Mapping[str, LazyString], value: str) -> str:
    """The value's name in the caller's language; the value itself when the table lacks it."""
    name = table.get(str(value))
    return str(name) if name is not None else str(value)


def ticket_status(value: str) -> str:
    return name_of(TICKET_STATUSES, value)


def resident_status(value: str) -> str:
    """A ticket's status as residents read it, in Chinese whatever the request's language: residents get Chinese."""
    name = RESIDENT_STATUSES.get(str(value))
    return in_chinese(name) if name is not None else str(value)


def role(value: str) -> str:
    return name_of(ROLES, value)


def grid_level(value: str) -> str:
    return name_of(GRID_LEVELS, value)
