"""Notifications owed, and what callers read of them. Plain functions, in the caller's transaction.

Owing (`owe_*`) only adds outbox rows to the session: they commit with the change that owes them, or roll back
with it. Delivery is `notifications.delivery`'s business; what subscribed systems receive,
`notifications.webhooks.service`'s. Who gets what is one table, `OWED`:

| what happened | resident (SMS to each reporter) | assignee (inbox) | supervisors (inbox) |
|---|---|---|---|
| intake (`create`) | received | | |
| dispatch (also auto-dispatch) | | assigned | |
| accept, claim, take (the work is taken) | taken | | |
| resolve | resolved, asks for a rating 1–5 | | |
| close (supervisor, rating, auto-close) | closed | | |
| reopen (supervisor, rating 1–2) | reopened | reopened | |
| cancel merged into another ticket | merged, with the surviving number | | |
| urge | | urged | |
| warned (sweep) | | warned | |
| overdue (sweep) | | overdue | the nearest supervisors over the unit |
| a resident's SMS that is not a rating (`sms_reply`) | | the comment | |

With `NOTIFY_WORKER_SMS=1` what the assignee finds in the inbox for a dispatch, urge, warning, overdue ticket or
reopen also goes to the assignee's phone by SMS (ticket number, place, deadline in Beijing time), through the same
outbox and channels; quiet hours hold it unless the ticket is urgent.

"Taken" is accept, claim or take (the cell's worker on the spot) rather than dispatch: a dispatch can still be
returned, while these mean someone has started. The residents of a ticket are the reporters of all its requests, so
reporters of a duplicate merged into it hear how it ends. Only mobile numbers get SMS (hotline callers may give a
landline).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from flask import current_app
from sqlalchemy import Select, bindparam, select, update

from auth.models import Account
from grid.models import GridUnit
from kernel import names, records
from kernel.clock import utcnow
from kernel.compiled import CompiledSelect
from kernel.errors import ConflictError, NotFoundError
from kernel.extensions import db
from kernel.i18n import _
from kernel.names import DELIVERY_STATUSES, name_of
from kernel.pagination import Page, paginate
from kernel.principals import Caller, Role
from notifications.outbox import templates
from notifications.outbox.models import DeliveryStatus, Medium, Notification, owed_message
from tasks.categories.models import Priority
from tasks.lifecycle import Status
from tasks.tickets.deadlines import clock_name
from tasks.tickets.events import TicketChanged, TicketsMerging
from tasks.tickets.models import ResidentRequest, Ticket

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
RETRYABLE: Final = frozenset({DeliveryStatus.DEAD, DeliveryStatus.HELD, DeliveryStatus.FAILED})


@dataclass(frozen=True)
class Owed:
    """What one ticket action owes: the event name and a template per audience (None: nothing)."""

    event: str
    resident: str | None = None
    assignee: str | None = None
    supervisors: str | None = None
    assignee_sms: str | None = None  # also by SMS to the assignee's phone, when NOTIFY_WORKER_SMS is on


# Keys are tasks.lifecycle actions and the sweep's thresholds; each event is also what webhooks subscribed to
# it receive (notifications.webhooks.models.WEBHOOK_EVENTS), so the outbox and other systems use one vocabulary.
OWED: Final[Mapping[str, Owed]] = {
    "create": Owed("ticket.created", resident="sms_ticket_received"),
    "dispatch": Owed("ticket.dispatched", assignee="inbox_assigned", assignee_sms="sms_worker_assigned"),
    "accept": Owed("ticket.accepted", resident="sms_ticket_taken"),
    "claim": Owed("ticket.claimed", resident="sms_ticket_taken"),
    "take": Owed("ticket.taken", resident="sms_ticket_taken"),
    "return": Owed("ticket.returned"),
    # A return awaiting review (RETURN_NEEDS_REVIEW=1): the same event, and the supervisors must decide.
    "return_requested": Owed("ticket.returned", supervisors="inbox_return_requested"),
    "approve_return": Owed("ticket.return_approved"),
    "refuse_return": Owed("ticket.return_refused", assignee="inbox_return_refused"),
    "request_extension": Owed("ticket.extension_requested", supervisors="inbox_extension_requested"),
    "approve_extension": Owed("ticket.extension_approved", assignee="inbox_extension_approved"),
    "refuse_extension": Owed("ticket.extension_refused", assignee="inbox_extension_refused"),
    # 挂起: a request the supervisors must decide (the category's suspend_needs_approval), and the handler told.
    "suspend_requested": Owed("ticket.suspended", supervisors="inbox_suspend_requested"),
    "suspend": Owed("ticket.suspended"),
    "approve_suspend": Owed("ticket.suspend_approved", assignee="inbox_suspend_approved"),
    "refuse_suspend": Owed("ticket.suspend_refused", assignee="inbox_suspend_refused"),
    "resume": Owed("ticket.resumed", assignee="inbox_resumed"),
    "escalate": Owed("ticket.escalated"),
    "resolve": Owed("ticket.resolved", resident="sms_ticket_resolved"),
    "close": Owed("ticket.closed", resident="sms_ticket_closed"),
    "reopen": Owed(
        "ticket.reopened",
        resident="sms_ticket_reopened",
        assignee="inbox_reopened",
        assignee_sms="sms_worker_reopened",
    ),
    "cancel": Owed("ticket.cancelled"),
    "urge": Owed("ticket.urged", assignee="inbox_urged", assignee_sms="sms_worker_urged"),
    "warned": Owed("ticket.warned", assignee="inbox_warned", assignee_sms="sms_worker_warned"),
    "overdue": Owed(
        "ticket.overdue",
        assignee="inbox_overdue",
        supervisors="inbox_unit_overdue",
        assignee_sms="sms_worker_overdue",
    ),
    # A resident's SMS that is not a rating (hooks.sms): the handler reads it in the app.
    "sms_reply": Owed("ticket.commented", assignee="inbox_resident_comment"),
}
MERGED_EVENT = "ticket.merged"


# --- owing ----------------------------------------------------------------------------------------


def owe_for_ticket_change(change: TicketChanged) -> None:
    """Subscriber of `TicketChanged`: what the change owes residents, handlers and supervisors (other systems'
    webhooks are owed by `notifications.webhooks.service.owe_for_ticket_change`, subscribed before it)."""
    # 就地办结 (filed, taken and resolved in one request): the resident gets the "resolved" SMS alone, not three.
    quiet = bool(change.details.get("resolved_on_intake")) and change.action in ("create", "take")
    action = change.action
    if action == "return" and change.ticket.status is Status.RETURN_REQUESTED:
        action = "return_requested"
    if action == "suspend" and change.ticket.status is Status.SUSPEND_REQUESTED:
        action = "suspend_requested"
    owe_for_ticket(change.ticket, action, note=change.note, residents=not quiet)


def owe_for_merge(merging: TicketsMerging) -> None:
    """Subscriber of `TicketsMerging`: the merged ticket's reporters learn the number that carries on."""
    owe_merge_notice(merging.merged, merging.survivor)


def owe_for_ticket(ticket: Ticket, action: str, *, note: str | None = None, residents: bool = True) -> None:
    """Write the notifications `action` on `ticket` owes (see OWED) in the caller's transaction; call after the
    change. `residents=False` leaves out the residents' SMS."""
    owed = OWED.get(str(action))
    if owed is None:
        return
    params = ticket_params(ticket, note=note)
    if owed.resident is not None and residents:
        phones = [ticket.reporter_phone] if action == "create" else resident_phones(ticket.id)
        for phone in phones:
            if phone:
                owe_sms(owed.event, owed.resident, phone, params, ticket=ticket)
    if owed.assignee is not None and ticket.assignee_id is not None:
        owe_inbox(owed.event, owed.assignee, ticket.assignee_id, params, ticket=ticket)
    if owed.assignee_sms is not None and ticket.assignee_id is not None and current_app.config["NOTIFY_WORKER_SMS"]:
        _owe_assignee_sms(owed, ticket, params)
    if owed.supervisors is not None:
        for account_id in nearest_supervisors(ticket):
            if account_id != ticket.assignee_id:
                owe_inbox(owed.event, owed.supervisors, account_id, params, ticket=ticket)


def _owe_assignee_sms(owed: Owed, ticket: Ticket, params: Mapping[str, Any]) -> None:
    """The assignee's SMS, through the outbox like residents' (quiet hours too, unless the ticket is urgent)."""
    phone = db.session.scalar(select(Account.phone).where(Account.id == ticket.assignee_id))
    if phone:
        owe_sms(owed.event, owed.assignee_sms, phone, params, ticket=ticket, account_id=ticket.assignee_id)  # type: ignore[arg-type]


def owe_merge_notice(merged: Ticket, survivor: Ticket) -> list[Notification]:
    """Tell the reporters of `merged` (call before its requests move) the number of the ticket that carries on."""
    params = {**ticket_params(survivor), "merged_no": merged.no}
    rows = [
        owe_sms(MERGED_EVENT, "sms_ticket_merged", phone, params, ticket=survivor)
        for phone in resident_phones(merged.id)
    ]
    return [row for row in rows if row is not None]


def owe_sms(
    event: str,
    template: str,
    phone: str,
    params: Mapping[str, Any],
    *,
    ticket: Ticket | None = None,
    account_id: int | None = None,
) -> Notification | None:
    """One SMS to a mobile number (a resident's, or with `account_id` a staff member's), pending delivery; None for
    a number that cannot take SMS."""
    if not is_mobile(phone):
        return None
    recipient: dict[str, Any] = {"recipient_phone": phone}
    if account_id is not None:
        recipient["recipient_account_id"] = account_id
    values = _values(event, template, Medium.SMS, params, DeliveryStatus.PENDING, ticket=ticket, **recipient)
    row = Notification(**values)
    db.session.add(row)  # an ORM row: callers may want its id, or change it before the flush
    return row


def owe_inbox(
    event: str, template: str, account_id: int, params: Mapping[str, Any], *, ticket: Ticket | None = None
) -> None:
    """One message in an account's inbox: delivered by being written (status sent)."""
    values = _values(
        event, template, Medium.INBOX, params, DeliveryStatus.SENT, ticket=ticket, recipient_account_id=account_id
    )
    records.append(Notification, {**values, "sent_at": values["created_at"]})


def _values(
    event: str,
    template: str,
    medium: Medium,
    params: Mapping[str, Any],
    status: DeliveryStatus,
    *,
    ticket: Ticket | None,
    **recipient: Any,
) -> dict[str, Any]:
    """A message from a template: only the parameters the template names, as text."""
    named = templates.get_template(template).params
    return owed_message(
        event,
        medium,
        template,
        {name: str(value) for name, value in params.items() if name in named},
        status=status,
        ticket_id=ticket.id if ticket is not None else None,
        urgent=ticket is not None and ticket.priority is Priority.URGENT,
        **recipient,
    )


def ticket_params(ticket: Ticket, *, note: str | None = None) -> dict[str, str]:
    """Every value a ticket template may use; each template keeps only the ones it names."""
    clock = clock_name(ticket.status, ticket.returned_from)
    return {
        "no": ticket.no,
        "status": names.resident_status(ticket.status),
        "category": ticket.category.name,
        "due": templates.local_time(ticket.due_at or ticket.resolve_due_at),
        "clock": templates.clock_name(clock),
        "note": templates.excerpt(note),
        # Where the work is, for staff only (resident SMS never name a place): the address, else the unit.
        "place": templates.excerpt(ticket.address or ticket.grid.name, 30),
    }


# Read by most ticket changes (what residents are owed): built and compiled once, run as SQL text.
_RESIDENT_PHONES = CompiledSelect(
    select(ResidentRequest.reporter_phone)
    .where(ResidentRequest.ticket_id == bindparam("ticket_id"), ResidentRequest.reporter_phone.is_not(None))
    .distinct()
)


def resident_phones(ticket_id: int) -> list[str]:
    """The distinct reporter phones of a ticket's requests (duplicates merged into it included)."""
    return sorted(phone for (phone,) in _RESIDENT_PHONES.all({"ticket_id": ticket_id}) if phone)


def nearest_supervisors(ticket: Ticket) -> list[int]:
    """Active supervisors placed on the deepest unit above (or at) the ticket's that has any: one query, and a
    district office is not told of every overdue ticket its communities already supervise."""
    return nearest_supervisors_of(ticket.grid)


def nearest_supervisors_of(unit: GridUnit) -> list[int]:
    """Active supervisors placed on the deepest unit above (or at) `unit` that has any."""
    unit_ids = [*unit.ancestor_ids(), unit.id]
    stmt = (
        select(Account.id, GridUnit.path)
        .join(GridUnit, GridUnit.id == Account.scope_grid_id)
        .where(Account.role == Role.SUPERVISOR, Account.active.is_(True), Account.scope_grid_id.in_(unit_ids))
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        return []
    deepest = max(len(path) for _, path in rows)
    return sorted(account_id for account_id, path in rows if len(path) == deepest)


def is_mobile(phone: str | None) -> bool:
    """A mainland mobile number (national digits), the only kind an SMS reaches."""
    return bool(phone) and MOBILE.match(phone) is not None  # type: ignore[arg-type]


# --- reading: admins ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationFilters:
    status: DeliveryStatus | None = None
    medium: Medium | None = None
    ticket_id: int | None = None
    event: str | None = None


def list_notifications(filters: NotificationFilters, *, limit: int, cursor: str | None) -> Page[Notification]:
    """Every notification, newest first (admins: routes check the role)."""
    stmt: Select[Any] = select(Notification)
    if filters.status is not None:
        stmt = stmt.where(Notification.status == filters.status)
    if filters.medium is not None:
        stmt = stmt.where(Notification.medium == filters.medium)
    if filters.ticket_id is not None:
        stmt = stmt.where(Notification.ticket_id == filters.ticket_id)
    if filters.event is not None:
        stmt = stmt.where(Notification.event == filters.event)
    return paginate(
        stmt,
        order_by=[Notification.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint={"list": "notifications", **filters.__dict__},
        descending=True,
    )


def retry(notification_id: int) -> Notification:
    """Put a dead, held or failed message back in the queue with a fresh count of attempts."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        raise NotFoundError(_("No such notification."))
    now = utcnow()
    done = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status.in_(list(RETRYABLE)))
        .values(
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            lease_token=None,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            _(
                "A notification that is %(status)s cannot be retried; only those given up, held back or not "
                "delivered can.",
                status=name_of(DELIVERY_STATUSES, notification.status),
            ),
            {"status": [notification.status.value], "retryable": sorted(RETRYABLE)},
        )
    db.session.refresh(notification)
    return notification


# --- reading: one's own inbox ---------------------------------------------------------------------


def inbox(account: Caller, *, unread: bool | None, limit: int, cursor: str | None) -> Page[Notification]:
    """The account's inbox, newest first; `unread=True` only what it has not read, `False` only what it has."""
    stmt = select(Notification).where(Notification.recipient_account_id == account.id, _in_inbox())
    if unread is not None:
        stmt = stmt.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    return paginate(
        stmt,
        order_by=[Notification.id],
        limit=limit,
        cursor=cursor,
        query_fingerprint={"list": "inbox", "account": account.id, "unread": unread},
        descending=True,
    )


def mark_read(account: Caller, *, ids: Sequence[int] | None = None, everything: bool = False) -> int:
    """Mark the account's own unread messages (those of `ids`, or all) read; how many changed. Ids of other
    accounts' messages change nothing, as unknown ids do."""
    stmt = update(Notification).where(
        Notification.recipient_account_id == account.id, _in_inbox(), Notification.read_at.is_(None)
    )
    if not everything:
        stmt = stmt.where(Notification.id.in_(list(ids or ())))
    result = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _in_inbox() -> Any:
    return Notification.medium == Medium.INBOX


def text_of(notification: Notification) -> str:
    return templates.render(notification.template, notification.params or {})
