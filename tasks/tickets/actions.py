"""The lifecycle's actions (the table in `tasks.lifecycle`, each applied by its function in `APPLY`), the
ticket's record (`record_event`), and the residents' ratings, which reopen or close a resolved ticket."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from auth.models import Account
from grid import service as grid_service
from grid.coords import CoordSystem, to_wgs84
from grid.models import CellAssignment, GridUnit
from kernel import events, names, records
from kernel.api import format_timestamp
from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError, InvalidTransitionError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller, Role
from tasks.lifecycle import ACTION_NAMES, PARTY_NAMES, REFUSALS, TRANSITIONS, Action, Status
from tasks.photos import service as photos
from tasks.tickets import deadlines
from tasks.tickets.events import TicketChanged, TicketsMerging
from tasks.tickets.models import Feedback, ResidentRequest, Ticket, TicketEvent
from tasks.tickets.views import TicketView, view_of
from tasks.tickets.visibility import (
    Viewer,
    allowed_actions,
    can_see,
    escalation_target_id,
    get_visible_ticket,
    guard,
    is_supervising,
    parties_of,
)

# --- the lifecycle --------------------------------------------------------------------------------


def perform(actor: Caller, ticket_id: int, action: Action, data: Mapping[str, Any]) -> TicketView:
    """Apply one action of the lifecycle table to a ticket, record it, and return the ticket as the actor sees it.

    409 `invalid_transition` when the ticket's state does not allow it, 403 when the actor may not, and 409
    `conflict` when another change to the ticket committed first (the version check lost the race).
    """
    viewer = Viewer.of(actor)
    ticket = get_visible_ticket(actor, ticket_id, viewer)
    now = utcnow()
    check_transition(viewer, ticket, action, now)
    # Every write waits for the commit (see kernel.records): the queries below must not flush the ticket early.
    with db.session.no_autoflush:
        return _apply(viewer, ticket, action, data, now)


def _apply(viewer: Viewer, ticket: Ticket, action: Action, data: Mapping[str, Any], now: datetime) -> TicketView:
    actor = viewer.caller
    from_status = ticket.status
    prior = (ticket.grid_id, ticket.assignee_id)
    details = APPLY[action](viewer, ticket, data, now)
    target = target_of(action, ticket)
    if target is not None:  # None: unchanged (urge), or set by the action (refuse_return restores it)
        ticket.status = target
    if ticket.status is not Status.IN_PROGRESS and ticket.extension_requested_until is not None:
        _clear_extension_request(ticket)  # resolved, returned or passed up: the request lapses
    ticket.updated_at = now
    photos = linked_photos(actor, data.get("photos") or [], ticket)
    point = wgs84_point(data.get("location"))
    record_event(
        ticket,
        actor,
        action,
        from_status,
        note=_note(data),
        photo_ids=photos,
        point=point,
        details=details,
        prior=prior,
    )
    # The commit writes the ticket, then the event and the messages; a lost version check there is the kernel's
    # 409 conflict, and nothing is written.
    records.update_at_commit(ticket)
    return view_of(viewer, ticket, now)


def target_of(action: Action, ticket: Ticket | None = None) -> Status | None:
    """The table's target, or its alternate: a return when this deployment takes returns without review, a
    suspension when the ticket's category wants it approved."""
    rule = TRANSITIONS[action]
    if action is Action.RETURN and not current_app.config["RETURN_NEEDS_REVIEW"]:
        return rule.alternate
    if action is Action.SUSPEND and ticket is not None and ticket.category.suspend_needs_approval:
        return rule.alternate
    return rule.target


def check_transition(viewer: Viewer, ticket: Ticket, action: Action, now: datetime) -> None:
    rule = TRANSITIONS[action]
    if ticket.status not in rule.sources:
        raise InvalidTransitionError(
            REFUSALS[action] % {"status": names.ticket_status(ticket.status)},
            {"status": ticket.status.value, "allowed_actions": allowed_actions(viewer, ticket, now)},
        )
    if not parties_of(viewer, ticket) & rule.parties:
        who = _(", ").join(str(PARTY_NAMES[party]) for party in sorted(rule.parties))
        raise ForbiddenError(
            _("Only the ticket's %(who)s may %(action)s.", who=who, action=ACTION_NAMES[action]),
            {"action": [_("for the %(who)s", who=who)]},
        )
    why_not = guard(action, ticket, now, viewer)
    if why_not is not None:
        raise InvalidTransitionError(
            _("Cannot %(action)s: %(why_not)s.", action=ACTION_NAMES[action], why_not=why_not),
            {"reason": why_not, "allowed_actions": allowed_actions(viewer, ticket, now)},
        )


def _note(data: Mapping[str, Any]) -> str | None:
    return data.get("note") or data.get("reason") or data.get("comment")


def _dispatch(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    assignee = _assignable(viewer, ticket, data["assignee_id"])
    assign(ticket, assignee, now)
    ticket.handled_on_spot = False  # dispatched: no longer taken on the spot
    return {"assignee_id": str(assignee.id)}


def assign(ticket: Ticket, assignee: Account, now: datetime) -> None:
    ticket.assignee = assignee
    ticket.assignee_id = assignee.id
    ticket.dispatched_at = now
    ticket.status = Status.ASSIGNED
    deadlines.start_acceptance_clock(ticket, ticket.category, now)


def _assignable(viewer: Viewer, ticket: Ticket, account_id: int) -> Account:
    """A worker with a cell under the ticket's unit, or a volunteer placed in or above it; active."""
    account = db.session.get(Account, account_id)
    invalid = ValidationError(_("Cannot assign this ticket to that account."), {"assignee_id": [_("not assignable")]})
    if account is None or not account.active or account.role not in (Role.WORKER, Role.VOLUNTEER):
        raise invalid
    unit_path = ticket.grid.path
    if account.role is Role.WORKER:
        cells = (
            select(CellAssignment.grid_id)
            .join(GridUnit, GridUnit.id == CellAssignment.grid_id)
            .where(CellAssignment.account_id == account.id, GridUnit.path.startswith(unit_path, autoescape=True))
        )
        if db.session.scalars(cells.limit(1)).first() is None:
            raise ValidationError(
                _("That worker has no cell in this ticket's area."),
                {"assignee_id": [_("no cell in the ticket's area")]},
            )
        return account
    home = account.scope_grid.path if account.scope_grid else None
    if home is None or not (home.startswith(unit_path) or unit_path.startswith(home)):
        raise ValidationError(
            _("That volunteer does not serve this ticket's area."), {"assignee_id": [_("outside the volunteer's area")]}
        )
    return account


def _accept(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.accepted_at = now
    deadlines.run_resolution_clock(ticket)
    return {"accepted_on_time": ticket.accept_due_at is None or now <= ticket.accept_due_at}


def _unassign(ticket: Ticket) -> None:
    ticket.handled_on_spot = False  # given back or passed up: whoever handles it next was not on the spot
    ticket.assignee = None
    ticket.assignee_id = None
    ticket.accept_due_at = None
    deadlines.run_resolution_clock(ticket)


def _return(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """退单: reviewed (RETURN_NEEDS_REVIEW=1), the ticket waits in `return_requested`, still the handler's and its
    clock running; otherwise it goes straight back to pending."""
    if target_of(Action.RETURN) is Status.RETURN_REQUESTED:
        ticket.returned_from = ticket.status
        ticket.return_requested_at = now
        return {"review": True}
    ticket.return_count += 1
    _unassign(ticket)
    return {"review": False}


def _approve_return(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The return stands: back to pending, unassigned; the handler's reason goes on the record with the decision."""
    details = _return_request(ticket)
    ticket.return_count += 1
    ticket.returned_from = None
    ticket.return_requested_at = None
    _unassign(ticket)
    return details


def _refuse_return(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The handler keeps the ticket, in the status it had (its clock never stopped), with the supervisor's note."""
    details = _return_request(ticket)
    ticket.status = ticket.returned_from or Status.IN_PROGRESS
    ticket.returns_refused += 1
    ticket.returned_from = None
    ticket.return_requested_at = None
    return details


def _request_extension(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """申请延期: a later resolution deadline, for a supervisor to decide; the clock runs on meanwhile."""
    wanted: datetime = data["new_deadline"]
    if wanted <= now or wanted <= ticket.resolve_due_at:
        raise ValidationError(
            _("The new deadline must be later than the current one and than now."),
            {"new_deadline": [f"after {format_timestamp(max(now, ticket.resolve_due_at))}"]},
        )
    ticket.extension_requested_until = wanted
    ticket.extension_requested_at = now
    return {"new_deadline": format_timestamp(wanted), "resolve_due_at": format_timestamp(ticket.resolve_due_at)}


def _approve_extension(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """延期批准: the resolution deadline moves; the 80 % mark follows, and warned/overdue are marked afresh."""
    before = ticket.resolve_due_at
    ticket.resolve_due_at = ticket.extension_requested_until  # type: ignore[assignment]  # guarded: a request awaits
    ticket.extension_count += 1
    _clear_extension_request(ticket)
    deadlines.run_resolution_clock(ticket)
    return {
        "resolve_due_at": format_timestamp(ticket.resolve_due_at),
        "previous_due_at": format_timestamp(before),
        "extensions": ticket.extension_count,
    }


def _refuse_extension(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    asked = ticket.extension_requested_until
    _clear_extension_request(ticket)
    return {"new_deadline": format_timestamp(asked), "resolve_due_at": format_timestamp(ticket.resolve_due_at)}


def _suspend(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """挂起: with approval (the category's `suspend_needs_approval`) the ticket waits, its clock running; else the
    clock stops now."""
    until = data.get("until")
    if until is not None and until <= now:
        raise ValidationError(_("`until` must be in the future."), {"until": [_("in the past")]})
    ticket.suspend_reason = data["reason"]
    ticket.suspended_until = until
    details = {"reason": str(data["reason"]), "until": format_timestamp(until)}
    if target_of(Action.SUSPEND, ticket) is Status.SUSPENDED:
        stop_for_suspension(ticket, now)
        details["approval"] = False
    else:
        details["approval"] = True
    return details


def _approve_suspend(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    if ticket.suspended_until is not None and ticket.suspended_until <= now:
        raise InvalidTransitionError(
            _("The suspension cannot be approved: the time asked for has already passed."), {"until": ["passed"]}
        )
    stop_for_suspension(ticket, now)
    return {"reason": ticket.suspend_reason, "until": format_timestamp(ticket.suspended_until)}


def _refuse_suspend(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    details = {"reason": ticket.suspend_reason}
    ticket.suspend_reason = None
    ticket.suspended_until = None
    return details


def stop_for_suspension(ticket: Ticket, now: datetime) -> None:
    ticket.suspended_at = now
    deadlines.stop_clock(ticket)


def resume(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The clock runs again from `now`: the resolution deadline (and its start, so the 80 % mark too) move on by
    the time spent suspended, in working time when that clock counts working time. The sweep resumes at `until`."""
    started = ticket.suspended_at or now
    spent = deadlines.push_back(ticket, started, now)
    ticket.suspended_seconds += round((now - started).total_seconds())
    details = {
        "reason": ticket.suspend_reason,
        "suspended_seconds": round((now - started).total_seconds()),
        "pushed_back_seconds": round(spent.total_seconds()),
        "resolve_due_at": format_timestamp(ticket.resolve_due_at),
    }
    ticket.suspended_at = ticket.suspended_until = None
    ticket.suspend_reason = None
    return details


def _resume(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return resume(ticket, now)


def _clear_extension_request(ticket: Ticket) -> None:
    ticket.extension_requested_until = None
    ticket.extension_requested_at = None


def _return_request(ticket: Ticket) -> dict[str, Any]:
    """Whose return is decided, and why they asked (the last `return` event's reason)."""
    reason = db.session.scalar(
        select(TicketEvent.note)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == Action.RETURN.value)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return {
        "handler_id": str(ticket.assignee_id) if ticket.assignee_id else None,
        "return_reason": reason,
        "requested_at": ticket.return_requested_at.isoformat() if ticket.return_requested_at else None,
    }


def _escalate(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    parent = grid_service.get_unit(escalation_target_id(viewer, ticket))  # type: ignore[arg-type]  # guarded
    details = {"from_grid_id": str(ticket.grid_id), "to_grid_id": str(parent.id), "to_level": parent.level.value}
    ticket.grid = parent
    ticket.grid_id = parent.id
    _unassign(ticket)
    return details


def _claim(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.assignee = viewer.account
    ticket.assignee_id = viewer.id
    ticket.dispatched_at = ticket.accepted_at = now
    deadlines.run_resolution_clock(ticket)
    return {}


def _take(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """就地处置: dispatched to and accepted by the cell's own worker in one step."""
    ticket.assignee = viewer.account
    ticket.assignee_id = viewer.id
    ticket.dispatched_at = ticket.accepted_at = now
    ticket.handled_on_spot = True
    deadlines.run_resolution_clock(ticket)
    details: dict[str, Any] = {"assignee_id": str(viewer.id)}
    if data.get("resolved_on_intake"):  # set by `handle_on_the_spot` only: the action's body schema has no such field
        details["resolved_on_intake"] = True
    return details


def handle_on_the_spot(viewer: Viewer, ticket: Ticket, resolution: Mapping[str, Any] | None) -> None:
    """Intake's `handle: self`: the filing worker takes the new ticket and, given a resolution, resolves it
    (就地办结), each step its own event, in the intake's transaction. The caller checked the cell is theirs."""
    now = ticket.created_at
    _apply(viewer, ticket, Action.TAKE, {"resolved_on_intake": True} if resolution is not None else {}, now)
    if resolution is not None:
        _apply(viewer, ticket, Action.RESOLVE, resolution, now)


def _resolve(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.resolved_at = now
    ticket.handler_id = ticket.assignee_id
    ticket.resolution_round += 1
    deadlines.stop_clock(ticket)
    return {"on_time": now <= ticket.resolve_due_at, "resolution_round": ticket.resolution_round}


def _close(viewer: Viewer | None, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.closed_at = now
    return {}


def _reopen(viewer: Viewer | None, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Back to whoever resolved it, with a fresh resolution deadline; the reopen counts against them."""
    ticket.reopen_count += 1
    ticket.closed_at = None
    ticket.resolved_at = None
    if ticket.handler_id is not None:
        ticket.assignee = db.session.get(Account, ticket.handler_id)
        ticket.assignee_id = ticket.handler_id
    deadlines.start_resolution_clock(ticket, ticket.category, now)
    return {"against_id": str(ticket.handler_id) if ticket.handler_id else None}


def _cancel(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.cancelled_at = now
    deadlines.stop_clock(ticket)
    merged_into = data.get("merged_into")
    if merged_into is None:
        return {}
    survivor = _merge_target(viewer, ticket, merged_into)
    ticket.merged_into_id = survivor.id
    events.publish(TicketsMerging(ticket, survivor))  # before its requests move: their reporters are told
    moved = db.session.execute(
        update(ResidentRequest).where(ResidentRequest.ticket_id == ticket.id).values(ticket_id=survivor.id)
    )
    survivor.updated_at = now
    record_event(
        survivor,
        viewer.caller,
        "merge",
        survivor.status,
        details={"merged_ticket_id": str(ticket.id), "requests": moved.rowcount},
    )
    return {"merged_into": str(survivor.id)}


def _merge_target(viewer: Viewer, ticket: Ticket, target_id: int) -> Ticket:
    survivor = db.session.get(Ticket, target_id)
    if survivor is None or not can_see(viewer, survivor):
        raise ValidationError(_("No such ticket to merge into."), {"merged_into": [_("no such ticket")]})
    if survivor.id == ticket.id:
        raise ValidationError(_("A ticket cannot be merged into itself."), {"merged_into": [_("the same ticket")]})
    if survivor.status in (Status.CANCELLED,):
        raise ValidationError(_("Cannot merge into a cancelled ticket."), {"merged_into": ["cancelled"]})
    return survivor


def _urge(viewer: Viewer, ticket: Ticket, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    ticket.urge_count += 1
    ticket.last_urged_at = now
    return {"urge_count": ticket.urge_count, "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None}


APPLY = {
    Action.DISPATCH: _dispatch,
    Action.ACCEPT: _accept,
    Action.RETURN: _return,
    Action.APPROVE_RETURN: _approve_return,
    Action.REFUSE_RETURN: _refuse_return,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.REFUSE_EXTENSION: _refuse_extension,
    Action.SUSPEND: _suspend,
    Action.APPROVE_SUSPEND: _approve_suspend,
    Action.REFUSE_SUSPEND: _refuse_suspend,
    Action.RESUME: _resume,
    Action.ESCALATE: _escalate,
    Action.CLAIM: _claim,
    Action.TAKE: _take,
    Action.RESOLVE: _resolve,
    Action.CLOSE: _close,
    Action.REOPEN: _reopen,
    Action.CANCEL: _cancel,
    Action.URGE: _urge,
}


def record_event(
    ticket: Ticket,
    actor: Caller | None,
    action: str,
    from_status: Status | None,
    *,
    note: str | None = None,
    photo_ids: Sequence[int] = (),
    point: tuple[float, float] | None = None,
    details: Mapping[str, Any] | None = None,
    prior: tuple[int | None, int | None] | None = None,
) -> None:
    """Append the event; `prior` is where the ticket was before (unit, assignee), for delta sync."""
    prior_grid_id, prior_assignee_id = prior or (ticket.grid_id, ticket.assignee_id)
    event = {
        "ticket_id": ticket.id,
        "actor_id": actor.id if actor else None,
        "action": str(action),
        "from_status": from_status,
        "to_status": ticket.status,
        "prior_grid_id": prior_grid_id,
        "prior_assignee_id": prior_assignee_id,
        "note": note,
        "photo_ids": [int(photo) for photo in photo_ids],
        "lat": point[0] if point else None,
        "lng": point[1] if point else None,
        "details": dict(details or {}),
        "created_at": utcnow(),
    }
    records.append(TicketEvent, event)
    events.publish(TicketChanged(ticket, event["action"], event["details"], note))


def linked_photos(actor: Caller, photo_ids: Sequence[int], ticket: Ticket) -> list[int]:
    if not photo_ids:
        return []
    return [attachment.id for attachment in photos.link_photos(actor, list(photo_ids), ticket)]


def wgs84_point(location: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if not location:
        return None
    return to_wgs84(location["lat"], location["lng"], CoordSystem(location.get("coord_system", "wgs84")))


# --- feedback (评单) --------------------------------------------------------------------------------


def record_feedback(actor: Caller, ticket_id: int, data: Mapping[str, Any]) -> TicketView:
    """The resident's rating of the latest resolution: 1–2 reopens the ticket, 3–5 closes it."""
    viewer = Viewer.of(actor)
    ticket = get_visible_ticket(actor, ticket_id, viewer)
    if not is_supervising(actor, ticket, viewer):
        raise ForbiddenError(
            _("Ratings are recorded by a supervisor of the ticket."), {"role": [_("supervisor in scope")]}
        )
    if ticket.status is not Status.RESOLVED:
        raise InvalidTransitionError(
            _("Only a resolved ticket can be rated."),
            {"status": ticket.status.value, "allowed_actions": allowed_actions(viewer, ticket)},
        )
    already = select(Feedback.id).where(
        Feedback.ticket_id == ticket.id, Feedback.resolution_round == ticket.resolution_round
    )
    if db.session.scalars(already).first() is not None:
        raise ConflictError(_("This resolution has already been rated."), {"rating": [_("already rated")]})
    now = utcnow()
    rating = data["rating"]
    db.session.add(
        Feedback(
            ticket_id=ticket.id,
            resolution_round=ticket.resolution_round,
            rating=rating,
            comment=data.get("comment"),
            channel=data["channel"],
            recorded_by_id=actor.id,
            created_at=now,
        )
    )
    try:
        db.session.flush()  # the unique (ticket, round) settles two ratings sent at once
    except IntegrityError:
        db.session.rollback()
        raise ConflictError(_("This resolution has already been rated."), {"rating": [_("already rated")]}) from None
    action = Action.REOPEN if rating <= 2 else Action.CLOSE
    reason = data.get("comment") or f"评价{rating}分"
    details = APPLY[action](viewer, ticket, {"reason": reason}, now)
    ticket.status = TRANSITIONS[action].target  # type: ignore[assignment]
    ticket.updated_at = now
    details = {**details, "rating": rating, "feedback_channel": str(data["channel"])}
    record_event(ticket, actor, action, Status.RESOLVED, note=reason, details=details)
    db.session.flush()  # a lost version check here is the kernel's 409 conflict
    return view_of(viewer, ticket, now)


# --- ratings residents send themselves (SMS replies, hooks/sms/service.py) --------------------------------------


def rate_as_resident(
    ticket: Ticket, rating: int, *, channel: str, details: Mapping[str, Any] | None = None
) -> str | None:
    """The resident's own rating of the latest resolution, no account acting: `record_feedback`'s rules (1–2
    reopens, 3–5 closes, one rating per resolution). None once applied; otherwise why nothing changed."""
    if ticket.status is not Status.RESOLVED:
        return f"the ticket is {ticket.status.value}, not awaiting a rating"
    already = select(Feedback.id).where(
        Feedback.ticket_id == ticket.id, Feedback.resolution_round == ticket.resolution_round
    )
    if db.session.scalars(already).first() is not None:
        return "this resolution has already been rated"
    now = utcnow()
    db.session.add(
        Feedback(
            ticket_id=ticket.id,
            resolution_round=ticket.resolution_round,
            rating=rating,
            comment=None,
            channel=channel,
            recorded_by_id=None,
            created_at=now,
        )
    )
    action = Action.REOPEN if rating <= 2 else Action.CLOSE
    reason = f"评价{rating}分"
    applied = APPLY[action](None, ticket, {"reason": reason}, now)  # type: ignore[arg-type]
    ticket.status = TRANSITIONS[action].target  # type: ignore[assignment]
    ticket.updated_at = now
    details = {**applied, **(details or {}), "rating": rating, "feedback_channel": str(channel)}
    record_event(ticket, None, action, Status.RESOLVED, note=reason, details=details)
    # A concurrent rating loses here (unique (ticket, round) or the version check): 409, and the caller retries.
    db.session.flush()
    return None
