"""Webhooks: the subscriptions admins keep, and the deliveries ticket changes owe them, in the caller's transaction.

Whatever owes an event calls `owe_webhooks`: one pending outbox row (medium `webhook`) per active subscription to
it. Ticket changes reach it through `owe_for_ticket_change` and `owe_for_merge`, subscribed to the ticket events
(see `bootstrap.subscribe`); what a ticket event is called comes from the outbox's `OWED`, one vocabulary for both.
"""

import ipaddress
import json
import secrets
import socket
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import psutil
from flask import current_app
from sqlalchemy import select, update

from kernel import names, records
from kernel.clock import utcnow
from kernel.compiled import CompiledSelect
from kernel.errors import NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from notifications.outbox.models import DeliveryStatus, Medium, Notification, owed_message
from notifications.outbox.service import MERGED_EVENT, OWED
from notifications.webhooks.models import WEBHOOK_EVENTS, Webhook
from notifications.webhooks.ssrf import IPAddress, IPNetwork, Target, UnresolvableHostError, UnsafeUrlError, vet_url
from tasks.tickets.events import TicketChanged, TicketsMerging
from tasks.tickets.models import Ticket


@dataclass(frozen=True)
class Settings:
    allow_http: bool
    allowed_networks: tuple[IPNetwork, ...]  # tests' local receivers: exempt from every address rule
    partner_networks: tuple[IPNetwork, ...]  # WEBHOOKS_ALLOWED_NETWORKS: private ranges of the partners
    timeout: float
    max_response_bytes: int
    ca_file: str | None  # replaces the system's CAs
    ca_bundle: str | None  # added to them (a government CA)


def current_settings() -> Settings:
    config = current_app.config
    return Settings(
        allow_http=bool(config["WEBHOOKS_ALLOW_HTTP"]),
        allowed_networks=tuple(ipaddress.ip_network(n) for n in config["WEBHOOKS_ALLOWED_TEST_NETWORKS"]),
        partner_networks=tuple(ipaddress.ip_network(n) for n in config["WEBHOOKS_ALLOWED_NETWORKS"]),
        timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
        max_response_bytes=int(config["WEBHOOK_MAX_RESPONSE_BYTES"]),
        ca_file=config["WEBHOOKS_CA_FILE"],
        ca_bundle=config["WEBHOOKS_CA_BUNDLE"],
    )


def vetted(url: str, settings: Settings) -> Target:
    """The URL's target, checked by the SSRF guard under these settings (UnsafeUrlError, UnresolvableHostError).

    The deployment's own addresses (its interfaces') are refused too, public ones included."""
    return vet_url(
        url,
        allow_http=settings.allow_http,
        allowed_networks=settings.allowed_networks,
        partner_networks=settings.partner_networks,
        own_addresses=own_addresses(),
    )


def own_addresses() -> frozenset[IPAddress]:
    """Every address of this machine's network interfaces: a webhook never calls the deployment itself."""
    found: set[IPAddress] = set()
    for interface in psutil.net_if_addrs().values():
        for entry in interface:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                with suppress(ValueError):
                    found.add(ipaddress.ip_address(entry.address.split("%", 1)[0]))
    return frozenset(found)


# --- subscriptions ----------------------------------------------------------------------------------


def list_webhooks(*, active: bool | None, limit: int, cursor: str | None) -> Page[Webhook]:
    """Webhooks by id, deleted ones left out; optionally only the active or the inactive ones."""
    stmt = select(Webhook).where(Webhook.deleted_at.is_(None))
    if active is not None:
        stmt = stmt.where(Webhook.active.is_(active))
    return paginate(stmt, order_by=[Webhook.id], limit=limit, cursor=cursor, query_fingerprint={"active": active})


def get_webhook(webhook_id: int) -> Webhook:
    """The webhook with this id; NotFoundError when there is none or it was deleted."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.deleted_at is not None:
        raise NotFoundError(_("No such webhook."))
    return webhook


def create_webhook(data: Mapping[str, Any]) -> Webhook:
    """Subscribe a URL (vetted by the SSRF guard) to events; the secret is generated when none is given."""
    webhook = Webhook(
        url=_checked_url(data["url"]),
        events=_canonical_events(data["events"]),
        secret=data.get("secret") or secrets.token_urlsafe(32),
        active=data.get("active", True),
        description=data.get("description"),
        status_names=dict(data.get("status_names") or {}),
    )
    db.session.add(webhook)
    db.session.flush()
    return webhook


def update_webhook(webhook_id: int, changes: Mapping[str, Any]) -> Webhook:
    """Change a webhook's URL (vetted again), events, secret, description or state."""
    webhook = get_webhook(webhook_id)
    if "url" in changes:
        webhook.url = _checked_url(changes["url"])
    if "events" in changes:
        webhook.events = _canonical_events(changes["events"])
    if "status_names" in changes:
        webhook.status_names = dict(changes["status_names"] or {})
    for name in ("secret", "active", "description"):
        if name in changes:
            setattr(webhook, name, changes[name])
    if changes.get("active") is False:
        give_up_deliveries(webhook.id, "the webhook was paused")
    db.session.flush()
    return webhook


def delete_webhook(webhook_id: int) -> None:
    """Delete a webhook: nothing more is owed to it or sent; the row stays as a record, its secret erased."""
    webhook = get_webhook(webhook_id)
    webhook.deleted_at = utcnow()
    webhook.active = False
    webhook.secret = None
    give_up_deliveries(webhook.id, "the webhook was deleted")
    db.session.flush()


def give_up_deliveries(webhook_id: int, reason: str) -> int:
    """Every delivery still owed to the webhook is `dead` with `reason`, in the transaction of the change, so
    switching it back on later sends none of its old backlog. A delivery a worker holds loses its lease: the
    worker's outcome, recorded only under that lease, changes nothing."""
    return db.session.execute(
        update(Notification)
        .where(
            Notification.webhook_id == webhook_id,
            Notification.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
        .values(status=DeliveryStatus.DEAD, last_error=reason, lease_until=None, lease_token=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def _checked_url(url: str) -> str:
    try:
        vetted(url, current_settings())
    except (UnsafeUrlError, UnresolvableHostError) as refusal:
        raise ValidationError(_("The webhook URL is not allowed."), {"url": [str(refusal)]}) from None
    return url


def _canonical_events(events: Sequence[str]) -> list[str]:
    wanted = set(events)
    return [event for event in WEBHOOK_EVENTS if event in wanted]


# --- owing -----------------------------------------------------------------------------------------


# Asked on every ticket change: the ids and events only, not the subscriptions' secrets.
ACTIVE_SUBSCRIPTIONS = CompiledSelect(
    select(Webhook.id, Webhook.events, Webhook.status_names)
    .where(Webhook.active.is_(True), Webhook.deleted_at.is_(None))
    .order_by(Webhook.id)
)


def _active_subscriptions() -> list[tuple[Any, ...]]:
    # On the session's connection, in its transaction, as SQL text: plain columns need none of SQLAlchemy's
    # execution (kernel/compiled.py), and nothing is flushed first, as the subscriptions do not depend on the change.
    return ACTIVE_SUBSCRIPTIONS.all({})


def owe_webhooks(event: str, data: Mapping[str, Any], *, ticket_id: int | None, names_status: bool = False) -> int:
    """Write one pending outbox row per active webhook subscribed to `event`, in the caller's transaction;
    `names_status`: each row's data gets `status_name`, the subscriber's own name for `data["status"]`."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    # Through JSON: what cannot be sent fails here, in the change's transaction, not at send time.
    encoded = json.dumps(dict(data), ensure_ascii=False, allow_nan=False)
    subscribed = [
        (webhook_id, status_names or {})
        for webhook_id, events, status_names in _active_subscriptions()
        if event in events  # a handful of rows, so filtered here rather than with JSON operators
    ]
    records.append(
        Notification,
        *(
            owed_message(
                event,
                Medium.WEBHOOK,
                event,
                _in_their_words(json.loads(encoded), status_names if names_status else None),  # a copy each
                status=DeliveryStatus.PENDING,
                ticket_id=ticket_id,
                webhook_id=webhook_id,
            )
            for webhook_id, status_names in subscribed
        ),
    )
    return len(subscribed)


def _in_their_words(data: dict[str, Any], status_names: Mapping[str, str] | None) -> dict[str, Any]:
    """A ticket's data with `status_name`: the receiver's own name for its status (a 12345 platform's 受理, 办理中,
    办结), else the name residents read (已受理…). Unchanged when `status_names` is None."""
    status = data.get("status")
    if status_names is not None and isinstance(status, str):
        data["status_name"] = status_names.get(status) or names.resident_status(status)
    return data


# --- what ticket changes owe ------------------------------------------------------------------------


def owe_for_ticket_change(change: TicketChanged) -> None:
    """Subscriber of `TicketChanged`: subscribed systems learn of every change `OWED` names."""
    owed = OWED.get(str(change.action))
    if owed is not None:
        _owe_ticket(change.ticket, owed.event)


def owe_for_merge(merging: TicketsMerging) -> None:
    """Subscriber of `TicketsMerging`: subscribed systems learn which ticket the merged one went into (its
    `ticket.cancelled` follows)."""
    survivor = merging.survivor
    _owe_ticket(merging.merged, MERGED_EVENT, merged_into_id=str(survivor.id), merged_into_no=survivor.no)


def _owe_ticket(ticket: Ticket, event: str, **extra: str | None) -> None:
    """What other systems learn of a ticket: no resident's phone or address ever leaves through a webhook."""
    data = {
        "ticket_id": str(ticket.id),
        "no": ticket.no,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category_code": ticket.category_code,
        "grid_id": str(ticket.grid_id),
        "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None,
    }
    owe_webhooks(event, {**data, **extra}, ticket_id=ticket.id, names_status=True)
