"""What each notification says, one template per event and audience: in Chinese, whoever caused it (residents and
staff read Chinese). Written as English message ids (`N_`), translated by the catalogue (`kernel.i18n.in_chinese`).

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
from kernel.i18n import N_, in_chinese
from notifications.outbox.models import Medium

# Which running clock a warning is about (tasks.tickets.deadlines.clock_name values), as the verb of its sentence.
CLOCK_NAMES: Final[Mapping[str, str]] = {"accept": N_("accept"), "resolve": N_("resolve")}


def clock_name(clock: str | None) -> str:
    return in_chinese(CLOCK_NAMES[clock]) if clock in CLOCK_NAMES else ""


@dataclass(frozen=True)
class Template:
    name: str
    medium: Medium
    text: str  # the English message id; its Chinese is str.format with the named parameters
    params: tuple[str, ...]  # their order, for providers that take positional values (Tencent)

    def render(self, values: Mapping[str, Any]) -> str:
        return in_chinese(self.text).format_map({name: str(values.get(name) or "") for name in self.params})


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
            N_("Your report has been received as ticket {no}; status: {status}. We will text you as it progresses."),
            "no",
            "status",
        ),
        _sms("sms_ticket_taken", N_("A staff member has taken on your ticket {no}; status: {status}."), "no", "status"),
        _sms(
            "sms_ticket_resolved",
            N_(
                "Your ticket {no} has been resolved; status: {status}. What was done: {note}. Please reply "
                "with a number from 1 to 5 to rate it (5 very satisfied, 1 very dissatisfied)."
            ),
            "no",
            "status",
            "note",
        ),
        _sms("sms_ticket_reopened", N_("Your ticket {no} is being handled again; status: {status}."), "no", "status"),
        _sms(
            "sms_ticket_closed",
            N_("Your ticket {no} is complete; status: {status}. Thank you for your support."),
            "no",
            "status",
        ),
        _sms(
            "sms_ticket_merged",
            N_(
                "Your report is the same problem as ticket {no} and is handled with it; status: {status}. "
                "Your original ticket number: {merged_no}."
            ),
            "no",
            "status",
            "merged_no",
        ),
        # 评单: a need's project is done; each resident behind the need's tickets is asked to rate it (party.lists.
        # ratings), the ticket number naming what the reply is about (hooks/sms/service.py). No place, no phone.
        _sms(
            "sms_project_rate_request",
            N_(
                'Your ticket {no} (status: {status}) was taken up by the project "{title}", which is now done. '
                "Please reply with the ticket number and a number from 1 to 5 to rate the project, e.g. {no} 5 "
                "(5 very satisfied, 1 very dissatisfied)."
            ),
            "no",
            "status",
            "title",
        ),
        # A resident's text that became a request (hooks/sms/service.py): the number comes once it is routed.
        _sms(
            "sms_request_received",
            N_(
                "Your report has reached us; we will check and dispatch it soon, and text you the ticket "
                "number once it is received."
            ),
        ),
        # Status queries by text (查询 / CX, hooks/sms/service.py): only ever about the asking phone's own tickets.
        _sms(
            "sms_status_list",
            N_('Your open tickets: {tickets}. To ask about one, reply "查询" and its ticket number.'),
            "tickets",
        ),
        _sms("sms_status_none", N_("No open ticket was reported from this phone.")),
        _sms("sms_status_one", N_("Ticket {no}: status {status}, to be resolved by {due}."), "no", "status", "due"),
        _sms("sms_status_unknown", N_("No ticket {no} was reported from this phone; please check the number."), "no"),
        # A reply hooks/sms/service.py could not match to one ticket: names the resident's latest ticket as the example.
        _sms(
            "sms_reply_unmatched",
            N_(
                "We could not tell which ticket your reply is about. Your latest ticket {no}: status "
                "{status}. To rate, reply with the ticket number and a score, e.g. {no} 5."
            ),
            "no",
            "status",
        ),
        # --- assignees (SMS, with NOTIFY_WORKER_SMS=1): the number, the place and the deadline (Beijing time) ---
        _sms(
            "sms_worker_assigned",
            N_("New ticket {no} dispatched to you: {place}. Please accept it by {due}."),
            "no",
            "place",
            "due",
        ),
        _sms(
            "sms_worker_urged",
            N_("Ticket {no} ({place}) is being urged: {note}. To be resolved by {due}."),
            "no",
            "place",
            "note",
            "due",
        ),
        _sms(
            "sms_worker_warned",
            N_("Ticket {no} ({place}) is nearly overdue: {clock} it by {due}."),
            "no",
            "place",
            "due",
            "clock",
        ),
        _sms(
            "sms_worker_overdue",
            N_("Ticket {no} ({place}) is overdue: the deadline to {clock} it was {due}."),
            "no",
            "place",
            "due",
            "clock",
        ),
        _sms(
            "sms_worker_reopened",
            N_("Ticket {no} ({place}) was reopened: {note}. Please resolve it by {due}."),
            "no",
            "place",
            "note",
            "due",
        ),
        # --- staff (inbox) ---
        _inbox(
            "inbox_assigned",
            N_("New ticket {no} ({category}) dispatched to you; please accept it by {due}."),
            "no",
            "category",
            "due",
        ),
        _inbox("inbox_urged", N_("Ticket {no} ({category}) is being urged: {note}"), "no", "category", "note"),
        _inbox(
            "inbox_warned",
            N_("Ticket {no} ({category}) is nearly overdue: {clock} it by {due}."),
            "no",
            "category",
            "due",
            "clock",
        ),
        _inbox(
            "inbox_overdue",
            N_("Ticket {no} ({category}) is overdue: the deadline to {clock} it was {due}."),
            "no",
            "category",
            "due",
            "clock",
        ),
        _inbox(
            "inbox_reopened",
            N_("Ticket {no} ({category}) was reopened: {note}. Please resolve it by {due}."),
            "no",
            "category",
            "note",
            "due",
        ),
        _inbox(
            "inbox_resident_comment",
            N_("Ticket {no} ({category}): the resident replied by SMS: {note}"),
            "no",
            "category",
            "note",
        ),
        _inbox(
            "inbox_unit_overdue",
            N_(
                "Ticket {no} ({category}) in your area is overdue: the deadline to {clock} it was {due}. "
                "Please urge it."
            ),
            "no",
            "category",
            "due",
            "clock",
        ),
        # 退单审核: the supervisors decide on a handler's return; a refusal tells the handler to carry on.
        _inbox(
            "inbox_return_requested",
            N_(
                "Ticket {no} ({category}) in your area: its handler asks to return it: {note}. Please "
                "approve or refuse."
            ),
            "no",
            "category",
            "note",
        ),
        _inbox(
            "inbox_extension_requested",
            N_(
                "Ticket {no} ({category}) in your area: its handler asks for an extension: {note}. Please "
                "approve or refuse."
            ),
            "no",
            "category",
            "note",
        ),
        _inbox(
            "inbox_extension_approved",
            N_("Ticket {no} ({category}): the extension was approved; resolve it by {due}."),
            "no",
            "category",
            "due",
        ),
        _inbox(
            "inbox_extension_refused",
            N_("Ticket {no} ({category}): the extension was refused: {note}. Resolve it by {due} as before."),
            "no",
            "category",
            "note",
            "due",
        ),
        _inbox(
            "inbox_suspend_requested",
            N_(
                "Ticket {no} ({category}) in your area: its handler asks to suspend it: {note}. Please "
                "approve or refuse."
            ),
            "no",
            "category",
            "note",
        ),
        _inbox(
            "inbox_suspend_approved",
            N_("Ticket {no} ({category}): the suspension was approved; its clock is stopped."),
            "no",
            "category",
        ),
        _inbox(
            "inbox_suspend_refused",
            N_(
                "Ticket {no} ({category}): the suspension was refused: {note}. Please carry on and resolve it by {due}."
            ),
            "no",
            "category",
            "note",
            "due",
        ),
        _inbox(
            "inbox_resumed",
            N_("Ticket {no} ({category}) is being handled again; its deadline moved to {due}."),
            "no",
            "category",
            "due",
        ),
        # 评单: a resident's or a visit's rating of 1–2 of a need's project, for the supervisors over the need's unit.
        _inbox(
            "inbox_project_rated_poorly",
            N_('The project "{title}" was rated {rating} ({source}); please look into it: {note}'),
            "title",
            "rating",
            "source",
            "note",
        ),
        _inbox(
            "inbox_return_refused",
            N_(
                "Ticket {no} ({category}): the return was refused: {note}. Please carry on; the deadline to"
                " {clock} it is {due}."
            ),
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
