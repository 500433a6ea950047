"""Integrations: other systems that push resident requests in (`POST /api/v1/hooks/requests`).

**Who acts.** The ticket service files requests for an account (`tasks.tickets.intake.intake(actor, data)`), and the
record (`created_by_id`, the `create` event's actor) points at accounts. So each integration owns a *service
account*, created with it: inactive (an inactive account cannot log in or use a token, is never notified and
never counted among the supervisors of a unit), with a password hash nothing verifies, named after the
integration, and placed where the integration may file: a supervisor of `grid_id`, or an admin when the
integration covers the whole territory. The intake applies that account's scope; a request routed outside it
is refused with 422, like any intake outside one's scope. The `create` event also names the integration and
its `external_id`, so the timeline says where the ticket came from.

**Authentication**, one method per integration, chosen at creation:

- `api_key`: `X-Api-Key: <key_id>.<random>`. The key is shown once; the server keeps its SHA-256 (the key is
  256 random bits: no salt or slow hash needed), finds the row by the public `key_id` and compares digests in
  constant time.
- `hmac`: `X-Grid-Key-Id: <key_id>`, `X-Grid-Timestamp: <unix seconds>` and
  `X-Grid-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the scheme of the webhooks we
  send (kernel.signing). A timestamp more than `HOOKS_SIGNATURE_TOLERANCE_SECONDS` away is refused,
  and so is a signature already accepted (kept twice that long), so a captured request cannot be replayed.

Every failure is the same 401, whatever was wrong, so a caller learns nothing about which keys exist.

**Their own codes.** An integration speaks its own category codes (a 12345 hotline's "环境卫生"): its
`category_map` turns them into ours; a code neither mapped nor ours goes to its `default_category_code` (422 as
any intake without one). A push with no location and no `grid_id` (an address only) waits in the triage queue of
the integration's own unit (`tasks.tickets.intake.file_for_triage`) for a supervisor to route it; an integration
covering the whole territory has no unit of its own, and such a push stays 422.

**Repeats.** An `external_id` is filed once per integration: the `integration_requests` row is claimed (a
unique insert) before the intake, so of two concurrent pushes one files and the other waits, then answers with
the request the first one filed (200 instead of 201). A request that fails (422, 401…) leaves nothing behind,
claim included: the request is one transaction.
"""

import hashlib
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from auth.models import Account
from grid import service as grid_service
from hooks.dedup import insert_once
from hooks.integrations.models import AuthMethod, Integration, PushedRequest, UsedSignature
from kernel.clock import utcnow
from kernel.errors import ConflictError, NotFoundError, UnauthorizedError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from kernel.principals import Role
from kernel.privacy import mask_phone
from kernel.signing import equal, verify
from tasks.categories.models import Category
from tasks.tickets import actions as ticket_actions
from tasks.tickets import intake as ticket_intake
from tasks.tickets import views as ticket_views
from tasks.tickets.models import FeedbackChannel, ResidentRequest, Ticket
from tasks.tickets.visibility import Viewer

KEY_HEADER = "X-Api-Key"
KEY_ID_HEADER = "X-Grid-Key-Id"
TIMESTAMP_HEADER = "X-Grid-Timestamp"
SIGNATURE_HEADER = "X-Grid-Signature"
UNUSABLE_PASSWORD = "!integration"  # noqa: S105 - not a hash: argon2 refuses it, so no password ever matches


# --- managing integrations (admins; routes check the role) -----------------------------------------------------


@dataclass(frozen=True)
class Created:
    """A new integration and its credential, shown only in the creation response."""

    integration: Integration
    api_key: str | None = None
    secret: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.integration, name)


@dataclass(frozen=True)
class IntegrationFilters:
    active: bool | None = None


def list_integrations(filters: IntegrationFilters, *, limit: int, cursor: str | None) -> Page[Integration]:
    """Integrations by id, deleted ones left out; optionally only the active or the inactive ones."""
    stmt = select(Integration).where(Integration.deleted_at.is_(None))
    if filters.active is not None:
        stmt = stmt.where(Integration.active.is_(filters.active))
    fingerprint = {"integrations": filters.active}
    return paginate(stmt, order_by=[Integration.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint)


def get_integration(integration_id: int) -> Integration:
    """The integration with this id; NotFoundError when there is none or it was deleted."""
    integration = db.session.get(Integration, integration_id)
    if integration is None or integration.deleted_at is not None:
        raise NotFoundError(_("No such integration."))
    return integration


def create_integration(data: Mapping[str, Any]) -> Created:
    """A new integration with its service account and credential (an API key, or the HMAC secret given)."""
    method = AuthMethod(data.get("auth_method") or AuthMethod.API_KEY)
    if method is AuthMethod.API_KEY and data.get("secret"):
        raise ValidationError(
            _("An API key integration takes no secret."), {"secret": [_("only for auth_method hmac")]}
        )
    grid_id = _checked_grid(data.get("grid_id"))
    default_category = _checked_default(data.get("default_category"))
    key_id = "ik" + secrets.token_hex(6)
    account = Account(
        username=f"integration-{key_id}",
        display_name=data["name"],
        role=Role.SUPERVISOR if grid_id is not None else Role.ADMIN,
        scope_grid_id=grid_id,
        password_hash=UNUSABLE_PASSWORD,
        active=False,
    )
    integration = Integration(
        name=data["name"],
        description=data.get("description"),
        auth_method=method,
        key_id=key_id,
        grid_id=grid_id,
        account=account,
        active=data.get("active", True),
        category_map={},
        default_category_code=default_category,
    )
    api_key = secret = None
    if method is AuthMethod.API_KEY:
        api_key = f"{key_id}.{secrets.token_urlsafe(32)}"
        integration.key_hash = _digest(api_key)
    else:
        secret = data.get("secret") or secrets.token_urlsafe(32)
        integration.secret = secret
    db.session.add_all([account, integration])
    db.session.flush()
    return Created(integration, api_key=api_key, secret=secret)


def update_integration(integration_id: int, changes: Mapping[str, Any]) -> Integration:
    """Rename, describe, move (its service account follows), pause, or give a signed integration a new secret."""
    integration = get_integration(integration_id)
    if "secret" in changes and integration.auth_method is not AuthMethod.HMAC:
        raise ValidationError(
            _("An API key integration takes no secret."), {"secret": [_("only for auth_method hmac")]}
        )
    if "grid_id" in changes:
        integration.grid_id = _checked_grid(changes["grid_id"])
        integration.account.scope_grid_id = integration.grid_id
        integration.account.role = Role.SUPERVISOR if integration.grid_id is not None else Role.ADMIN
    if "name" in changes:
        integration.account.display_name = changes["name"]
    if "default_category" in changes:
        integration.default_category_code = _checked_default(changes["default_category"])
    for name in ("name", "description", "active", "secret"):
        if name in changes:
            setattr(integration, name, changes[name])
    db.session.flush()
    return integration


def delete_integration(integration_id: int) -> None:
    """Delete an integration: it can no longer push; the row stays (the tickets it filed point at its account)
    with its credentials erased."""
    integration = get_integration(integration_id)
    integration.deleted_at = utcnow()
    integration.active = False
    integration.key_hash = None
    integration.secret = None
    db.session.flush()


def set_category_map(integration_id: int, pairs: Mapping[str, str]) -> Integration:
    """Replace the integration's map of its own category codes to ours; every one of ours must be active."""
    integration = get_integration(integration_id)
    wrong = {external: [_("no such active category")] for external, ours in pairs.items() if not _is_active(ours)}
    if wrong:
        raise ValidationError(_("Each code must map to an active category."), wrong)
    integration.category_map = dict(pairs)
    db.session.flush()
    return integration


def _checked_default(code: str | None) -> str | None:
    if code is not None and not _is_active(code):
        raise ValidationError(_("Unknown or inactive category."), {"default_category": [_("no such active category")]})
    return code


def _is_active(code: str) -> bool:
    category = db.session.get(Category, code)
    return category is not None and category.active


def category_for(integration: Integration, code: str | None) -> str | None:
    """Our category for the integration's code: mapped, else ours as it is, else its default (None: none fits)."""
    if code is not None and code in (integration.category_map or {}):
        return integration.category_map[code]
    if code is not None and _is_active(code):
        return code
    return integration.default_category_code


def _checked_grid(grid_id: int | None) -> int | None:
    if grid_id is None:
        return None
    if grid_service.find_unit(grid_id) is None:
        raise ValidationError(_("No such grid unit."), {"grid_id": [_("no such unit")]})
    return grid_id


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- authenticating a push ---------------------------------------------------------------------------------------


def authenticate(headers: Mapping[str, str], body: bytes) -> Integration:
    """The active integration whose credential these headers carry; UnauthorizedError otherwise."""
    if headers.get(KEY_HEADER) is not None:
        integration = _by_api_key(headers[KEY_HEADER])
    elif headers.get(SIGNATURE_HEADER) is not None:
        integration = _by_signature(headers, body)
    else:
        raise UnauthorizedError(
            _(
                "Send %(KEY_HEADER)s, or %(KEY_ID_HEADER)s with %(TIMESTAMP_HEADER)s and %(SIGNATURE_HEADER)s.",
                KEY_HEADER=KEY_HEADER,
                KEY_ID_HEADER=KEY_ID_HEADER,
                TIMESTAMP_HEADER=TIMESTAMP_HEADER,
                SIGNATURE_HEADER=SIGNATURE_HEADER,
            ),
            {"authentication": ["missing"]},
        )
    integration.last_used_at = utcnow()
    return integration


def _refused() -> UnauthorizedError:
    return UnauthorizedError(_("The integration's credential is not valid."), {"authentication": [_("not valid")]})


def _active(key_id: str, method: AuthMethod) -> Integration | None:
    if not (0 < len(key_id) <= 16 and all(c in string.ascii_lowercase + string.digits for c in key_id)):
        return None
    stmt = select(Integration).where(Integration.key_id == key_id)
    integration = db.session.scalars(stmt).one_or_none()
    if integration is None or not integration.active or integration.deleted_at is not None:
        return None
    return integration if integration.auth_method is method else None


def _by_api_key(key: str) -> Integration:
    key_id = key.partition(".")[0]
    integration = _active(key_id, AuthMethod.API_KEY)
    # Compared even when there is no such integration, so an unknown key id costs what a wrong key costs.
    expected = integration.key_hash if integration is not None and integration.key_hash else "0" * 64
    if not equal(_digest(key), expected) or integration is None:
        raise _refused()
    return integration


def _by_signature(headers: Mapping[str, str], body: bytes) -> Integration:
    integration = _active(headers.get(KEY_ID_HEADER) or "", AuthMethod.HMAC)
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    given = headers.get(SIGNATURE_HEADER) or ""
    secret = integration.secret if integration is not None and integration.secret else secrets.token_hex(16)
    if not verify(secret, timestamp, body, given) or integration is None:
        raise _refused()
    tolerance = int(current_app.config["HOOKS_SIGNATURE_TOLERANCE_SECONDS"])
    now = utcnow()
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > tolerance:
        raise UnauthorizedError(
            _(
                "The %(TIMESTAMP_HEADER)s is more than %(tolerance)s seconds away from now: sign the request again.",
                TIMESTAMP_HEADER=TIMESTAMP_HEADER,
                tolerance=tolerance,
            ),
            {TIMESTAMP_HEADER: ["stale"]},
        )
    scope = f"integration:{integration.id}"
    # What can no longer pass the timestamp check need not be remembered.
    db.session.execute(
        delete(UsedSignature).where(
            UsedSignature.scope == scope, UsedSignature.created_at < now - timedelta(seconds=2 * tolerance)
        )
    )
    if (
        insert_once(
            UsedSignature, {"scope": scope, "signature": given, "created_at": now}, unique=["scope", "signature"]
        )
        is None
    ):
        raise UnauthorizedError(
            _("This signed request was already received: sign each request anew."), {SIGNATURE_HEADER: ["replayed"]}
        )
    return integration


# --- pushing a request ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pushed:
    """The intake's answer, as the integration sees it: no actions offered (it may not act on tickets)."""

    external_id: str
    request: ticket_intake.RequestView
    ticket: ticket_views.TicketView | None  # None while the request waits in triage
    possible_duplicates: list[ticket_views.TicketView] = field(default_factory=list)
    created: bool = True


def push_request(integration: Integration, data: Mapping[str, Any]) -> Pushed:
    """File a pushed resident request once per `external_id`; a repeat answers with the request filed first."""
    external_id = data["external_id"]
    earlier = _pushed(integration.id, external_id)
    if earlier is not None:
        return earlier
    claim_id = insert_once(
        PushedRequest,
        {"integration_id": integration.id, "external_id": external_id, "created_at": utcnow()},
        unique=["integration_id", "external_id"],
    )
    if claim_id is None:  # a concurrent push of the same id filed it while we waited
        winner = _pushed(integration.id, external_id)
        if winner is None:
            raise RuntimeError("a claimed external_id without its request")
        return winner
    account = integration.account
    category = category_for(integration, data.get("category_code"))
    if data.get("location") is None and data.get("grid_id") is None and integration.grid_id is not None:
        request = ticket_intake.file_for_triage(account.id, integration.grid_id, data, category_code=category)
        db.session.get(PushedRequest, claim_id).request_id = request.id  # type: ignore[union-attr]
        db.session.flush()
        return Pushed(
            external_id=external_id,
            request=ticket_intake.RequestView(request, mask_phone(request.reporter_phone)),
            ticket=None,
        )
    fields_ = {name: value for name, value in data.items() if name != "external_id"}
    intake = ticket_intake.intake(
        account,
        {**fields_, "category_code": category or data["category_code"]},
        source={"integration_id": str(integration.id), "integration": integration.name, "external_id": external_id},
    )
    ticket = intake.ticket.ticket
    if integration.grid_id is not None and not Viewer.of(account).scope.covers(ticket.grid.path):
        raise ValidationError(
            _("The request belongs to a grid cell outside this integration's area."),
            {"location": [_("outside the integration's area")]},
        )
    db.session.get(PushedRequest, claim_id).request_id = intake.request.id  # type: ignore[union-attr]
    db.session.flush()
    return Pushed(
        external_id=external_id,
        request=ticket_intake.RequestView(intake.request.request, mask_phone(intake.request.request.reporter_phone)),
        ticket=replace(intake.ticket, allowed_actions=[]),
        possible_duplicates=[replace(view, allowed_actions=[]) for view in intake.possible_duplicates],
    )


def _pushed(integration_id: int, external_id: str) -> Pushed | None:
    """What an earlier push of this external id filed, as it stands now."""
    stmt = (
        select(ResidentRequest)
        .join(PushedRequest, PushedRequest.request_id == ResidentRequest.id)
        .where(PushedRequest.integration_id == integration_id, PushedRequest.external_id == external_id)
    )
    request = db.session.scalars(stmt).one_or_none()
    if request is None:
        return None
    integration = db.session.get(Integration, integration_id)
    view = (
        replace(ticket_views.view_of(Viewer.of(integration.account), request.ticket), allowed_actions=[])  # type: ignore[union-attr]
        if request.ticket is not None
        else None
    )
    return Pushed(
        external_id=external_id,
        request=ticket_intake.RequestView(request, mask_phone(request.reporter_phone)),
        ticket=view,
        created=False,
    )


# --- 回访 results pushed in ------------------------------------------------------------------------------------


def push_feedback(integration: Integration, data: Mapping[str, Any]) -> ticket_views.TicketView:
    """The resident's rating the integration collected (回访) for the request it pushed as `external_id`: the rules
    of `/tickets/{id}/feedback` (1–2 reopen, 3–5 close, once per resolution), recorded by its service account."""
    stmt = (
        select(ResidentRequest)
        .join(PushedRequest, PushedRequest.request_id == ResidentRequest.id)
        .where(PushedRequest.integration_id == integration.id, PushedRequest.external_id == data["external_id"])
    )
    request = db.session.scalars(stmt).one_or_none()
    if request is None:
        raise NotFoundError(_("No request was pushed with that external_id."), {"external_id": [_("not found")]})
    ticket = request.ticket
    if ticket is None:
        raise ConflictError(
            _("The request waits in triage: it has no ticket to rate yet."), {"external_id": [_("not yet a ticket")]}
        )
    if ticket.merged_into_id is not None:
        ticket = db.session.get(Ticket, ticket.merged_into_id) or ticket
    feedback = {"rating": data["rating"], "comment": data.get("comment"), "channel": FeedbackChannel.HOTLINE}
    view = ticket_actions.record_feedback(integration.account, ticket.id, feedback)
    return replace(view, allowed_actions=[])
