"""HTTP endpoints of integrations: admins manage them (`/integrations`), they push requests (`/hooks/requests`)."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, g, request

from hooks.blueprint import hooks_blp
from hooks.integrations import service
from hooks.integrations.models import Integration
from hooks.integrations.schemas import (
    CategoryMapSchema,
    IntegrationCreatedSchema,
    IntegrationCreateSchema,
    IntegrationPageSchema,
    IntegrationQuerySchema,
    IntegrationSchema,
    IntegrationUpdateSchema,
    PushedFeedbackSchema,
    PushedRequestCreateSchema,
    PushedSchema,
)
from hooks.integrations.service import KEY_HEADER, KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Created, Pushed
from kernel.api import Blueprint, document_responses, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import requires_role
from tasks.tickets.schemas import TicketSchema

F = TypeVar("F", bound=Callable[..., Any])
API_KEY_SCHEME, SIGNATURE_SCHEME = "integrationApiKey", "integrationSignature"


integrations_blp = Blueprint(
    "integrations",
    __name__,
    url_prefix="/api/v1/integrations",
    description="Integrations: other systems allowed to push resident requests in (admins only)",
)


def register(app: Flask) -> None:
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


# --- integrations (admins) -----------------------------------------------------------------------------------


@integrations_blp.route("", methods=["GET"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(IntegrationQuerySchema, location="query")
@cursor_list(service.IntegrationFilters)
@integrations_blp.response(200, IntegrationPageSchema)
def list_integrations(filters: service.IntegrationFilters, *, limit: int, cursor: str | None) -> Page[Integration]:
    """Integrations by id (deleted ones left out); filter `active`. Credentials are never shown."""
    return service.list_integrations(filters, limit=limit, cursor=cursor)


@integrations_blp.route("", methods=["POST"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(IntegrationCreateSchema)
@integrations_blp.response(201, IntegrationCreatedSchema)
def create_integration(data: dict[str, Any]) -> Created:
    """Allow a system to push requests: the response shows its credential, once. `auth_method` `api_key` (the
    default) gives an API key for `X-Api-Key`; `hmac` a secret (given or generated) for `X-Grid-Signature`.
    `grid_id` limits it to a subtree: its requests must land there."""
    return service.create_integration(data)


@integrations_blp.route("/<id:integration_id>", methods=["GET"])
@requires_role(Role.ADMIN)
@integrations_blp.response(200, IntegrationSchema)
@documents(304, 404)
def get_integration(integration_id: int) -> Integration:
    """One integration, without its credential."""
    return service.get_integration(integration_id)


@integrations_blp.route("/<id:integration_id>", methods=["PATCH"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(IntegrationUpdateSchema)
@checks_if_match(lambda integration_id: IntegrationSchema().dump(service.get_integration(integration_id)))
@integrations_blp.response(200, IntegrationSchema)
@documents(404, 412)
def update_integration(changes: dict[str, Any], integration_id: int) -> Integration:
    """Rename, describe, move to another subtree, pause (`active` false), or rotate an `hmac` secret."""
    return service.update_integration(integration_id, changes)


@integrations_blp.route("/<id:integration_id>/category-map", methods=["PUT"])
@requires_role(Role.ADMIN)
@integrations_blp.arguments(CategoryMapSchema)
@integrations_blp.response(200, IntegrationSchema)
@documents(404)
def set_category_map(pairs: dict[str, str], integration_id: int) -> Integration:
    """Replace the integration's map of its own category codes to ours (`{"环境卫生": "CITY.GARBAGE"}`): its pushes
    may then name its codes. Each of ours must be an active category (422 naming the pair otherwise)."""
    return service.set_category_map(integration_id, pairs)


@integrations_blp.route("/<id:integration_id>", methods=["DELETE"])
@requires_role(Role.ADMIN)
@integrations_blp.response(204)
@documents(404)
def delete_integration(integration_id: int) -> None:
    """Delete an integration: its pushes are refused from now on; the record stays, its credential is erased."""
    service.delete_integration(integration_id)


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
        g.integration = service.authenticate(request.headers, request.get_data())
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
    stands now, and files nothing. A request that lands outside the integration's subtree is 422. Its own
    category codes are mapped (`category-map`, else `default_category`); a push with no location nor `grid_id`
    waits in the triage queue of the integration's unit (`ticket` null) until a supervisor routes it."""
    pushed = service.push_request(g.integration, data)
    return pushed if pushed.created else (pushed, 200)


@hooks_blp.route("/feedback", methods=["POST"])
@requires_integration
@hooks_blp.arguments(PushedFeedbackSchema)
@hooks_blp.response(200, TicketSchema)
@documents(404, 409, 422)
def push_feedback(data: dict[str, Any]) -> Any:
    """The resident's rating the integration collected (回访) for the request it pushed as `external_id`: the rules
    of `/tickets/{id}/feedback` (1–2 reopen the ticket, 3–5 close it; 409 unless resolved and not yet rated). 404
    for an external_id it never pushed; 409 while the request waits in triage."""
    return service.push_feedback(g.integration, data)
