"""HTTP endpoints for hooks in: integrations (admins), requests pushed by them, SMS provider callbacks."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, g, request
from werkzeug.routing import AnyConverter, Map

from hooks import integrations, sms
from hooks.integrations import KEY_HEADER, KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Created, Pushed
from hooks.models import Integration, SmsReply, SmsReport
from hooks.schemas import (
    CALLBACK_BODY,
    AckSchema,
    CallbackQuerySchema,
    IntegrationCreatedSchema,
    IntegrationCreateSchema,
    IntegrationPageSchema,
    IntegrationQuerySchema,
    IntegrationSchema,
    IntegrationUpdateSchema,
    PushedRequestCreateSchema,
    PushedSchema,
    SmsReplyPageSchema,
    SmsReplyQuerySchema,
    SmsReportPageSchema,
    SmsReportQuerySchema,
)
from kernel.api import Blueprint, document_responses, documents
from kernel.etag import check_if_match
from kernel.extensions import api
from kernel.pagination import Page
from kernel.principals import Role
from kernel.security import requires_role

F = TypeVar("F", bound=Callable[..., Any])
API_KEY_SCHEME, SIGNATURE_SCHEME = "integrationApiKey", "integrationSignature"
PROVIDER = "<provider:provider>"


class ProviderConverter(AnyConverter):
    """`<provider:provider>`: one of the SMS providers, anything else a 404 (documented as an enum)."""

    def __init__(self, url_map: Map, *_items: str) -> None:
        super().__init__(url_map, *sms.PROVIDERS)


integrations_blp = Blueprint(
    "integrations",
    __name__,
    url_prefix="/api/v1/integrations",
    description="Integrations: other systems allowed to push resident requests in (admins only)",
)
hooks_blp = Blueprint(
    "hooks",
    __name__,
    url_prefix="/api/v1/hooks",
    description="Hooks in: requests pushed by integrations; SMS providers' reply and delivery-report callbacks",
)


def register(app: Flask) -> None:
    app.url_map.converters["provider"] = ProviderConverter
    api.spec.components.security_scheme(
        API_KEY_SCHEME,
        {"type": "apiKey", "in": "header", "name": KEY_HEADER, "description": "the key shown when it was created"},
    )
    api.spec.components.security_scheme(
        SIGNATURE_SCHEME,
        {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": f'sha256=<hex HMAC-SHA256(secret, "<{TIMESTAMP_HEADER}>.<body>")>, with {KEY_ID_HEADER} '
            f"and {TIMESTAMP_HEADER} (unix seconds, within 5 minutes); each signature is accepted once",
        },
    )
    api.register_blueprint(integrations_blp)
    api.register_blueprint(hooks_blp)


# --- integrations (admins) -----------------------------------------------------------------------------------


@integrations_blp.route("", methods=["GET"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(IntegrationQuerySchema, location="query")
@integrations_blp.response(200, IntegrationPageSchema)
def list_integrations(query: dict[str, Any]) -> Page[Integration]:
    """Integrations by id (deleted ones left out); filter `active`. Credentials are never shown."""
    return integrations.list_integrations(active=query.get("active"), limit=query["limit"], cursor=query.get("cursor"))


@integrations_blp.route("", methods=["POST"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(IntegrationCreateSchema)
@integrations_blp.response(201, IntegrationCreatedSchema)
def create_integration(data: dict[str, Any]) -> Created:
    """Allow a system to push requests: the response shows its credential, once. `auth_method` `api_key` (the
    default) gives an API key for `X-Api-Key`; `hmac` a secret (given or generated) for `X-Grid-Signature`.
    `grid_id` limits it to a subtree: its requests must land there."""
    return integrations.create_integration(data)


@integrations_blp.route("/<id:integration_id>", methods=["GET"])
@requires_role(Role.ADMIN)
@integrations_blp.response(200, IntegrationSchema)
@documents(304, 404)
def get_integration(integration_id: int) -> Integration:
    """One integration, without its credential."""
    return integrations.get_integration(integration_id)


@integrations_blp.route("/<id:integration_id>", methods=["PATCH"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(IntegrationUpdateSchema)
@integrations_blp.response(200, IntegrationSchema)
@documents(404, 412)
def update_integration(changes: dict[str, Any], integration_id: int) -> Integration:
    """Rename, describe, move to another subtree, pause (`active` false), or rotate an `hmac` secret."""
    check_if_match(IntegrationSchema().dump(integrations.get_integration(integration_id)))
    return integrations.update_integration(integration_id, changes)


@integrations_blp.route("/<id:integration_id>", methods=["DELETE"])
@requires_role(Role.ADMIN)
@integrations_blp.response(204)
@documents(404)
def delete_integration(integration_id: int) -> None:
    """Delete an integration: its pushes are refused from now on; the record stays, its credential is erased."""
    integrations.delete_integration(integration_id)


@integrations_blp.after_request
def _not_stored(response: Response) -> Response:
    # A creation response (first or replayed by Idempotency-Key) carries the credential.
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response


# --- requests pushed in ----------------------------------------------------------------------------------------


def requires_integration(view: F) -> F:
    """401 unless the request carries an active integration's credential (before the body is parsed)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.integration = integrations.authenticate(request.headers, request.get_data())
        return view(*args, **kwargs)

    apidoc = dict(getattr(wrapper, "_apidoc", {}))
    manual = dict(apidoc.get("manual_doc", {}))
    manual["security"] = [{API_KEY_SCHEME: []}, {SIGNATURE_SCHEME: []}]
    manual["parameters"] = [
        *manual.get("parameters", []),
        _header(KEY_ID_HEADER, "signed requests: the integration's key_id"),
        _header(TIMESTAMP_HEADER, "signed requests: unix seconds when signed"),
    ]
    apidoc["manual_doc"] = manual
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return document_responses(wrapper, 401)  # type: ignore[return-value]


def _header(name: str, description: str) -> dict[str, Any]:
    return {"in": "header", "name": name, "required": False, "description": description, "schema": {"type": "string"}}


@hooks_blp.route("/requests", methods=["POST"])
@requires_integration
@hooks_blp.arguments(PushedRequestCreateSchema)
@hooks_blp.response(201, PushedSchema)
@hooks_blp.alt_response(200, schema=PushedSchema, description="A repeated external_id: the request filed first.")
@documents(422)
def push_request(data: dict[str, Any]) -> Pushed | tuple[Pushed, int]:
    """Another system files a resident request (the intake body plus its own `external_id`): 201 with the
    request and its ticket. The same `external_id` again answers 200 with the request filed first, as it
    stands now, and files nothing. A request that lands outside the integration's subtree is 422."""
    pushed = integrations.push_request(g.integration, data)
    return pushed if pushed.created else (pushed, 200)


# --- SMS provider callbacks -------------------------------------------------------------------------------------


@hooks_blp.route(f"/sms/{PROVIDER}", methods=["POST"])
@hooks_blp.arguments(CallbackQuerySchema, location="query")
@hooks_blp.doc(requestBody=CALLBACK_BODY)
@hooks_blp.response(200, AckSchema)
@documents(400, 401, 404, 422)
def receive_replies(query: dict[str, Any], provider: str) -> dict[str, Any]:
    """A provider pushes residents' SMS replies (Aliyun SmsUp, Tencent 回复短信, or the http format). A digit 1–5
    rates the resolved ticket the phone was asked about; other text is a comment on its ticket; a reply that
    matches no single ticket is kept and the resident asked for the number. Replays change nothing. 404 while
    the provider has no callback token configured; 401 for a wrong `token`."""
    return dict(sms.receive_replies(provider, query.get("token"), request.get_data()).ack)


@hooks_blp.route(f"/sms/{PROVIDER}/reports", methods=["POST"])
@hooks_blp.arguments(CallbackQuerySchema, location="query")
@hooks_blp.doc(requestBody=CALLBACK_BODY)
@hooks_blp.response(200, AckSchema)
@documents(400, 401, 404, 422)
def receive_reports(query: dict[str, Any], provider: str) -> dict[str, Any]:
    """A provider pushes delivery reports (Aliyun SmsReport, Tencent 短信下发状态, or the http format): a sent
    SMS becomes delivered or failed. Reports for unknown or unsent messages, and replays, change nothing."""
    return dict(sms.receive_reports(provider, query.get("token"), request.get_data()).ack)


@hooks_blp.route("/sms/inbound", methods=["GET"])
@requires_role(Role.ADMIN)
@hooks_blp.arguments(SmsReplyQuerySchema, location="query")
@hooks_blp.response(200, SmsReplyPageSchema)
def list_replies(query: dict[str, Any]) -> Page[SmsReply]:
    """Residents' SMS replies, newest first, with what became of each; `status=unmatched` lists those no ticket
    took. Phone numbers are masked."""
    return sms.list_replies(
        status=query.get("status"), provider=query.get("provider"), limit=query["limit"], cursor=query.get("cursor")
    )


@hooks_blp.route("/sms/reports", methods=["GET"])
@requires_role(Role.ADMIN)
@hooks_blp.arguments(SmsReportQuerySchema, location="query")
@hooks_blp.response(200, SmsReportPageSchema)
def list_reports(query: dict[str, Any]) -> Page[SmsReport]:
    """Delivery reports received, newest first; `outcome=ignored` lists those that moved no SMS, and why."""
    return sms.list_reports(
        outcome=query.get("outcome"), provider=query.get("provider"), limit=query["limit"], cursor=query.get("cursor")
    )
