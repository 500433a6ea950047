"""The public ticket lookup of a resident's H5 page or mini-program: a ticket by its number and the last four
digits of a phone that reported it. The answer is what the resident's SMS say and no more: the status, the unit
handling it and the steps with their times; never a name, a phone number, an address or any free text (notes,
descriptions, comments). A wrong number and wrong digits are the same 404, so the lookup tells nobody which
numbers exist; each address is held to `PUBLIC_LOOKUPS_PER_MINUTE_PER_ADDRESS` lookups a minute (429 past it),
so the 10,000 combinations of digits cannot be tried."""

import hmac
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from flask import current_app
from limits import RateLimitItemPerMinute
from sqlalchemy import select

from kernel.errors import NotFoundError, RateLimitedError
from kernel.extensions import db, limiter
from kernel.i18n import _
from kernel.names import resident_status
from notifications.outbox import service as notify
from tasks.tickets.models import Ticket, TicketEvent

# What a step of the timeline is called on a resident's page (ticket event actions); others are left out.
STEP_NAMES: Final = {
    "create": "已受理",
    "dispatch": "已派单",
    "accept": "处理中",
    "claim": "处理中",
    "take": "处理中",
    "return": "重新派单",
    "escalate": "上报协调",
    "resolve": "已办结",
    "reopen": "重新办理",
    "close": "已完结",
    "cancel": "已撤销",
}


@dataclass(frozen=True)
class Step:
    action: str
    name: str
    at: datetime


@dataclass(frozen=True)
class PublicTicket:
    no: str
    status: str
    status_name: str
    unit_name: str
    created_at: datetime
    steps: list[Step]


def check_address(address: str) -> None:
    """Count one lookup from an address; RateLimitedError (429) past the limit a minute (0: no limit)."""
    per_minute = int(current_app.config["PUBLIC_LOOKUPS_PER_MINUTE_PER_ADDRESS"])
    if per_minute <= 0:
        return
    item = RateLimitItemPerMinute(per_minute)
    if limiter.limiter.hit(item, "public-ticket", address):
        return
    reset_at = limiter.limiter.get_window_stats(item, "public-ticket", address).reset_time
    raise RateLimitedError(_("Too many lookups; try again later."), math.ceil(reset_at - time.time()))


def lookup(no: str, phone_last4: str) -> PublicTicket:
    """The ticket numbered `no` if a phone that reported it ends in `phone_last4`; NotFoundError otherwise."""
    ticket = db.session.scalars(select(Ticket).where(Ticket.no == no)).one_or_none()
    phones = notify.resident_phones(ticket.id) if ticket is not None else []
    # Compared whatever was found, so a wrong number and wrong digits cost the same.
    matches = [hmac.compare_digest(phone[-4:], phone_last4) for phone in phones] or [
        hmac.compare_digest("----", phone_last4)
    ]
    if ticket is None or not any(matches):
        raise NotFoundError(_("No ticket with that number and those digits."), {"no": [_("not found")]})
    events = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.created_at, TicketEvent.id)
    )
    steps = [
        Step(event.action, STEP_NAMES[event.action], event.created_at) for event in events if event.action in STEP_NAMES
    ]
    return PublicTicket(
        no=ticket.no,
        status=ticket.status.value,
        status_name=resident_status(ticket.status),
        unit_name=ticket.grid.name,
        created_at=ticket.created_at,
        steps=steps,
    )
