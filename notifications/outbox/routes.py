"""HTTP endpoints for notifications: the outbox for admins, and each account's inbox."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import current_principal, requires_role
from notifications.outbox import service
from notifications.outbox.models import Notification
from notifications.outbox.schemas import (
    InboxPageSchema,
    InboxQuerySchema,
    MarkReadResultSchema,
    MarkReadSchema,
    NotificationPageSchema,
    NotificationQuerySchema,
    NotificationSchema,
)

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Notifications: the outbox of SMS and inbox messages owed by ticket changes, and your inbox",
)
EVERYONE = (Role.ADMIN, Role.SUPERVISOR, Role.WORKER, Role.VOLUNTEER)


def register(app: Flask) -> None:
    api.register_blueprint(blp)


@blp.route("", methods=["GET"])
@requires_role(Role.ADMIN)
@blp.arguments(NotificationQuerySchema, location="query")
@cursor_list(service.NotificationFilters)
@blp.response(200, NotificationPageSchema)
def list_notifications(filters: service.NotificationFilters, *, limit: int, cursor: str | None) -> Page[Notification]:
    """Every notification, newest first, with its delivery state; `status=dead` lists what gave up. Phone
    numbers are masked."""
    return service.list_notifications(filters, limit=limit, cursor=cursor)


@blp.route("/<id:notification_id>/retry", methods=["POST"])
@requires_role(Role.ADMIN)
@blp.response(200, NotificationSchema)
@documents(404, 409)
def retry_notification(notification_id: int) -> Notification:
    """Send a dead, held or failed notification again: back to pending, due now, with its attempts reset.
    409 for any other status."""
    return service.retry(notification_id)


@blp.route("/me", methods=["GET"])
@requires_role(*EVERYONE)
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxPageSchema)
def my_inbox(query: dict[str, Any]) -> Page[Notification]:
    """Your inbox, newest first: tickets dispatched to you, urged, warned, overdue or reopened. `unread=true`
    lists only what you have not read."""
    return service.inbox(
        current_principal(), unread=query.get("unread"), limit=query["limit"], cursor=query.get("cursor")
    )


@blp.route("/me/read", methods=["POST"])
@requires_role(*EVERYONE)
@blp.arguments(MarkReadSchema)
@blp.response(200, MarkReadResultSchema)
def mark_read(data: dict[str, Any]) -> dict[str, int]:
    """Mark your messages read, `{"ids": [...]}` or `{"all": true}`; returns how many were newly marked."""
    count = service.mark_read(current_principal(), ids=data.get("ids"), everything=data.get("all", False))
    return {"count": count}
