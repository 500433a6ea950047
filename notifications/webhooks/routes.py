"""HTTP endpoints for webhooks out: admins subscribe other systems' URLs to ticket events."""

from typing import Any

from flask import Flask, Response, request

from kernel.api import Blueprint, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page
from kernel.principals import Role
from kernel.security import requires_role
from notifications.webhooks import service
from notifications.webhooks.models import Webhook
from notifications.webhooks.schemas import (
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookQuerySchema,
    WebhookSchema,
    WebhookUpdateSchema,
)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Signed webhooks out: other systems receive ticket events (admins only)",
)


def register(app: Flask) -> None:
    api.register_blueprint(blp)


@blp.route("", methods=["GET"])
@requires_role(Role.ADMIN)
@blp.arguments(WebhookQuerySchema, location="query")
@blp.response(200, WebhookPageSchema)
def list_webhooks(query: dict[str, Any]) -> Page[Webhook]:
    """Webhooks by id (deleted ones left out); filter `active`. Secrets are never shown."""
    return service.list_webhooks(active=query.get("active"), limit=query["limit"], cursor=query.get("cursor"))


@blp.route("", methods=["POST"])
@requires_role(Role.ADMIN)
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookCreatedSchema)
def create_webhook(data: dict[str, Any]) -> Webhook:
    """Subscribe a URL to events; the response shows the signing secret, once (given, or generated).

    The URL is refused (422) unless it is https and its host resolves to public addresses only.
    """
    return service.create_webhook(data)


@blp.route("/<id:webhook_id>", methods=["GET"])
@requires_role(Role.ADMIN)
@blp.response(200, WebhookSchema)
@documents(304, 404)
def get_webhook(webhook_id: int) -> Webhook:
    """One webhook, without its secret."""
    return service.get_webhook(webhook_id)


@blp.route("/<id:webhook_id>", methods=["PATCH"])
@requires_role(Role.ADMIN)
@blp.arguments(WebhookUpdateSchema)
@checks_if_match(lambda webhook_id: WebhookSchema().dump(service.get_webhook(webhook_id)))
@blp.response(200, WebhookSchema)
@documents(404, 412)
def update_webhook(changes: dict[str, Any], webhook_id: int) -> Webhook:
    """Change the URL (checked again), events, description, state, or rotate the secret (write-only)."""
    return service.update_webhook(webhook_id, changes)


@blp.route("/<id:webhook_id>", methods=["DELETE"])
@requires_role(Role.ADMIN)
@blp.response(204)
@documents(404)
def delete_webhook(webhook_id: int) -> None:
    """Delete a webhook: its pending deliveries are given up; the record of it stays, its secret is erased."""
    service.delete_webhook(webhook_id)


@blp.after_request
def _not_stored(response: Response) -> Response:
    # A creation response (first or replayed by Idempotency-Key) carries the secret: nothing on the way may keep it.
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response
