"""HTTP endpoints of SMS providers' callbacks (`/hooks/sms/<provider>`) and of what admins read of them."""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from werkzeug.routing import AnyConverter, Map

from hooks.blueprint import hooks_blp
from hooks.sms import reports, service
from hooks.sms.formats import PROVIDERS
from hooks.sms.models import SmsReply, SmsReport
from hooks.sms.schemas import (
    CALLBACK_BODY,
    AckSchema,
    CallbackQuerySchema,
    SmsReplyPageSchema,
    SmsReplyQuerySchema,
    SmsReportPageSchema,
    SmsReportQuerySchema,
)
from kernel.api import documents
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import requires_role

F = TypeVar("F", bound=Callable[..., Any])
PROVIDER = "<provider:provider>"


class ProviderConverter(AnyConverter):
    """`<provider:provider>`: one of the SMS providers, anything else a 404 (documented as an enum)."""

    def __init__(self, url_map: Map, *_items: str) -> None:
        super().__init__(url_map, *PROVIDERS)


def callback(path: str) -> Callable[[F], F]:
    """A provider's callback: POST with `?token=`, its own JSON body, answered with the provider's acknowledgement."""

    def decorator(view: F) -> F:
        view = documents(400, 401, 404, 422)(view)
        view = hooks_blp.response(200, AckSchema)(view)
        view = hooks_blp.doc(requestBody=CALLBACK_BODY)(view)
        view = hooks_blp.arguments(CallbackQuerySchema, location="query")(view)
        return hooks_blp.route(path, methods=["POST"])(view)  # type: ignore[no-any-return]

    return decorator


def register(app: Flask) -> None:
    # Before the hooks blueprint (hooks.blueprint) is registered: its rules name the converter.
    app.url_map.converters["provider"] = ProviderConverter


@callback(f"/sms/{PROVIDER}")
def receive_replies(query: dict[str, Any], provider: str) -> dict[str, Any]:
    """A provider pushes residents' SMS replies (Aliyun SmsUp, Tencent 回复短信, or the http format). A digit 1–5
    rates the resolved ticket the phone was asked about; other text is a comment on its ticket; a reply that
    matches no single ticket is kept and the resident asked for the number. Replays change nothing. 404 while
    the provider has no callback token configured; 401 for a wrong `token`."""
    return dict(service.receive_replies(provider, query.get("token"), request.get_data()).ack)


@callback(f"/sms/{PROVIDER}/reports")
def receive_reports(query: dict[str, Any], provider: str) -> dict[str, Any]:
    """A provider pushes delivery reports (Aliyun SmsReport, Tencent 短信下发状态, or the http format): a sent
    SMS becomes delivered or failed. Reports for unknown or unsent messages, and replays, change nothing."""
    return dict(reports.receive_reports(provider, query.get("token"), request.get_data()).ack)


@hooks_blp.route("/sms/inbound", methods=["GET"])
@requires_role(Role.ADMIN)
@hooks_blp.arguments(SmsReplyQuerySchema, location="query")
@cursor_list(service.ReplyFilters)
@hooks_blp.response(200, SmsReplyPageSchema)
def list_replies(filters: service.ReplyFilters, *, limit: int, cursor: str | None) -> Page[SmsReply]:
    """Residents' SMS replies, newest first, with what became of each; `status=unmatched` lists those no ticket
    took. Phone numbers are masked."""
    return service.list_replies(filters, limit=limit, cursor=cursor)


@hooks_blp.route("/sms/reports", methods=["GET"])
@requires_role(Role.ADMIN)
@hooks_blp.arguments(SmsReportQuerySchema, location="query")
@cursor_list(reports.ReportFilters)
@hooks_blp.response(200, SmsReportPageSchema)
def list_reports(filters: reports.ReportFilters, *, limit: int, cursor: str | None) -> Page[SmsReport]:
    """Delivery reports received, newest first; `outcome=ignored` lists those that moved no SMS, and why."""
    return reports.list_reports(filters, limit=limit, cursor=cursor)
