"""What each notification says, in Chinese, one template per event and audience.

A template is named text with named parameters. SMS providers that keep their own copy of the text (Aliyun,
Tencent) get the name mapped to their template code (`SMS_TEMPLATE_CODES`) and the parameters, by name or in
`params` order; channels that send free text (console, http) get the rendered text.

Every resident SMS carries the ticket number and a short status, and nothing else about the case: never the
address (a resident's home) and never anyone's phone number; the "resolved" one also says what was done (the
handler's note, cut to 60 characters), so that the resident rates the work they read about. Inbox messages go
to staff who see the ticket anyway, and may say more. Channels that send free text put `SMS_SIGNATURE` first.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from kernel.clock import BEIJING
from notifications.outbox.models import Medium

# Short statuses as residents read them (tasks.lifecycle.Status values).
RESIDENT_STATUS: Final[Mapping[str, str]] = {
    "pending": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "return_requested": "处理中",
    "suspend_requested": "处理中",
    "suspended": "暂缓办理",
    "resolved": "已办结",
    "closed": "已完结",
    "cancelled": "已撤销",
}

# Which running clock a warning is about (tasks.tickets.deadlines.clock_name values).
CLOCK_NAMES: Final[Mapping[str, str]] = {"accept": "接单", "resolve": "办结"}


@dataclass(frozen=True)
class Template:
    name: str
    medium: Medium
    text: str  # str.format with the named parameters
    params: tuple[str, ...]  # their order, for providers that take positional values (Tencent)

    def render(self, values: Mapping[str, Any]) -> str:
        return self.text.format_map({name: str(values.get(name) or "") for name in self.params})


def _sms(name: str, text: str, *params: str) -> Template:
    return Template(name, Medium.SMS, text, params)


def _inbox(name: str, text: str, *params: str) -> Template:
    return Template(name, Medium.INBOX, text, params)


TEMPLATES: Final[Mapping[str, Template]] = {
    template.name: template
    for template in (
        # --- residents (SMS) ---
        _sms(
            "sms_ticket_received",
            "您反映的问题已受理，工单号{no}，当前状态：{status}。办理进展将短信告知。",
            "no",
            "status",
        ),
        _sms("sms_ticket_taken", "您的工单{no}已有工作人员接单，当前状态：{status}。", "no", "status"),
        _sms(
            "sms_ticket_resolved",
            "您的工单{no}已办结，当前状态：{status}。处理情况：{note}。请回复数字1-5评价（5非常满意，1非常不满意）。",
            "no",
            "status",
            "note",
        ),
        _sms("sms_ticket_reopened", "您的工单{no}已重新办理，当前状态：{status}。", "no", "status"),
        _sms("sms_ticket_closed", "您的工单{no}已完结，当前状态：{status}。感谢您的支持。", "no", "status"),
        _sms(
            "sms_ticket_merged",
            "您反映的问题与工单{no}为同一问题，已合并办理，当前状态：{status}。原工单号{merged_no}。",
            "no",
            "status",
            "merged_no",
        ),
        # A resident's text that became a request (hooks/sms/service.py): the number comes once it is routed.
        _sms("sms_request_received", "您反映的问题已收到，我们将尽快核实并分派，受理后将短信告知工单号。"),
        # Status queries by text (查询 / CX, hooks/sms/service.py): only ever about the asking phone's own tickets.
        _sms("sms_status_list", "您的在办工单：{tickets}。查询某张工单请回复“查询 工单号”。", "tickets"),
        _sms("sms_status_none", "未查到本手机号反映的在办工单。"),
        _sms("sms_status_one", "工单{no}当前状态：{status}，办结期限{due}。", "no", "status", "due"),
        _sms("sms_status_unknown", "未查到本手机号反映的工单{no}，请核对工单号。", "no"),
        # A reply hooks/sms/service.py could not match to one ticket: names the resident's latest ticket as the example.
        _sms(
            "sms_reply_unmatched",
            "未能确认您回复的是哪张工单。您最近的工单{no}当前状态：{status}。评价请回复“工单号 分数”，如：{no} 5。",
            "no",
            "status",
        ),
        # --- assignees (SMS, with NOTIFY_WORKER_SMS=1): the number, the place and the deadline (Beijing time) ---
        _sms("sms_worker_assigned", "新工单{no}派给您：{place}，请于{due}前接单。", "no", "place", "due"),
        _sms("sms_worker_urged", "工单{no}（{place}）被督办：{note}。办结期限{due}。", "no", "place", "note", "due"),
        _sms("sms_worker_warned", "工单{no}（{place}）即将超期，请于{due}前{clock}。", "no", "place", "due", "clock"),
        _sms("sms_worker_overdue", "工单{no}（{place}）已超期，{clock}时限为{due}。", "no", "place", "due", "clock"),
        _sms(
            "sms_worker_reopened",
            "工单{no}（{place}）被重新打开：{note}。请于{due}前办结。",
            "no",
            "place",
            "note",
            "due",
        ),
        # --- staff (inbox) ---
        _inbox("inbox_assigned", "新工单{no}（{category}）派给您，请于{due}前接单。", "no", "category", "due"),
        _inbox("inbox_urged", "工单{no}（{category}）被督办：{note}", "no", "category", "note"),
        _inbox(
            "inbox_warned", "工单{no}（{category}）即将超期：请于{due}前{clock}。", "no", "category", "due", "clock"
        ),
        _inbox("inbox_overdue", "工单{no}（{category}）已超期：{clock}时限为{due}。", "no", "category", "due", "clock"),
        _inbox(
            "inbox_reopened",
            "工单{no}（{category}）被重新打开：{note}。请于{due}前办结。",
            "no",
            "category",
            "note",
            "due",
        ),
        _inbox("inbox_resident_comment", "工单{no}（{category}）居民短信回复：{note}", "no", "category", "note"),
        _inbox(
            "inbox_unit_overdue",
            "辖区工单{no}（{category}）已超期：{clock}时限为{due}，请督办。",
            "no",
            "category",
            "due",
            "clock",
        ),
        # 退单审核: the supervisors decide on a handler's return; a refusal tells the handler to carry on.
        _inbox(
            "inbox_return_requested",
            "辖区工单{no}（{category}）申请退单：{note}。请审核（同意或驳回）。",
            "no",
            "category",
            "note",
        ),
        _inbox(
            "inbox_extension_requested",
            "辖区工单{no}（{category}）申请延期：{note}。请审批（同意或驳回）。",
            "no",
            "category",
            "note",
        ),
        _inbox(
            "inbox_extension_approved", "工单{no}（{category}）延期已获批准，办结时限为{due}。", "no", "category", "due"
        ),
        _inbox(
            "inbox_extension_refused",
            "工单{no}（{category}）延期未获批准：{note}。办结时限仍为{due}。",
            "no",
            "category",
            "note",
            "due",
        ),
        _inbox(
            "inbox_suspend_requested",
            "辖区工单{no}（{category}）申请挂起：{note}。请审批（同意或驳回）。",
            "no",
            "category",
            "note",
        ),
        _inbox("inbox_suspend_approved", "工单{no}（{category}）挂起已获批准，时限暂停计算。", "no", "category"),
        _inbox(
            "inbox_suspend_refused",
            "工单{no}（{category}）挂起未获批准：{note}。请继续办理，办结时限为{due}。",
            "no",
            "category",
            "note",
            "due",
        ),
        _inbox("inbox_resumed", "工单{no}（{category}）已恢复办理，办结时限顺延至{due}。", "no", "category", "due"),
        _inbox(
            "inbox_return_refused",
            "工单{no}（{category}）退单未获同意：{note}。请继续办理，{clock}时限为{due}。",
            "no",
            "category",
            "note",
            "clock",
            "due",
        ),
    )
}


# Answers to a resident's own text that are about no one ticket's change (a text filed before it has a number, a
# status query): they carry no {no}/{status} pair, and like every resident SMS never a place.
RESIDENT_ANSWERS: Final = frozenset(
    {"sms_request_received", "sms_status_list", "sms_status_none", "sms_status_one", "sms_status_unknown"}
)


# Sent ahead of the rest when a phone's hourly cap is near (notifications.delivery.sms_gate): the "resolved" notice
# carries the rating prompt, and a rating is what the satisfaction rate is made of.
PRIORITY_SMS: Final = frozenset({"sms_ticket_resolved"})


def get_template(name: str) -> Template:
    return TEMPLATES[name]


def render(name: str, values: Mapping[str, Any]) -> str:
    """The text of template `name` with `values`; an unknown template (dropped since) shows its name."""
    template = TEMPLATES.get(name)
    return template.render(values) if template is not None else name


def local_time(moment: datetime | None) -> str:
    """`11月23日 14:30`, Beijing time: how a deadline reads in a message."""
    if moment is None:
        return ""
    local = moment.astimezone(BEIJING)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def excerpt(text: str | None, limit: int = 60) -> str:
    """A note cut to fit a message."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
