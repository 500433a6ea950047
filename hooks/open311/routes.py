"""HTTP endpoints of Open311 GeoReport v2 (`/open311/v2/*.{xml|json}`) and FixMyStreet's `servicerequestupdates`.

Every answer, errors included, comes in the format the path asks for (XML for an unknown one): errors are the
spec's `[{"code", "description"}]` / `<errors><error>`, with 404 for an unknown service, request or format, 403 for
a missing or wrong `api_key`, 429 past a rate limit and 400 for anything else.
"""

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, NotFound

from hooks.open311 import brakes, formats, openapi, params, service
from kernel.api import Blueprint
from kernel.errors import AppError, NotFoundError
from kernel.extensions import api
from kernel.i18n import _
from kernel.transaction import accepts

FORM = "application/x-www-form-urlencoded"

blp = Blueprint(
    "open311",
    __name__,
    url_prefix="/open311/v2",
    operation_id_prefix="open311",
    description="Open311 GeoReport v2 (XML or JSON by the path's extension) and FixMyStreet's servicerequestupdates: "
    "services are categories, service requests are resident requests filed through the normal intake",
)


def register(app: Flask) -> None:
    for name, schema in openapi.SCHEMAS.items():
        api.spec.components.schema(name, schema)
    api.register_blueprint(blp)


def _format() -> str:
    return formats.format_of((request.view_args or {}).get("response_format"))


def _checked_format(response_format: str) -> str:
    if response_format not in formats.FORMATS:
        raise NotFoundError(
            _("The format %(response_format)s is not served: use xml or json.", response_format=repr(response_format)),
            {"format": ["unknown"]},
        )
    service.check_jurisdiction(request.values.get("jurisdiction_id"))
    return response_format


# --- brakes and errors -------------------------------------------------------------------------------------------


@blp.before_request
def _count_the_address() -> None:
    brakes.check_address(request.remote_addr or "")


@blp.errorhandler(AppError)
def _app_error(error: AppError) -> Response:
    status = error.status if error.status in (403, 404, 429) else 400
    response = _errors(status, _describe(error.message, error.details))
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    if isinstance(error, NotFound):
        return _errors(404, "Not found.")
    if error.code == 415:
        return _errors(400, f"Send the body as {FORM}.")
    return _errors(400, (error.description or error.name or "Bad request.").strip())


def _errors(status: int, description: str) -> Response:
    return formats.render([{"code": status, "description": description}], "errors", _format(), status)


def _describe(message: str, details: Mapping[str, Any]) -> str:
    """The message, and what it says of each parameter (answers to questions as `attribute[CODE]`)."""
    parts = []
    for name, problems in details.items():
        if isinstance(problems, Mapping):  # answers by question code
            parts.extend(f"attribute[{code}]: {_joined(problem)}" for code, problem in problems.items())
        elif name not in message:
            parts.append(f"{name}: {_joined(problems)}")
    return f"{message} ({'; '.join(parts)})" if parts else message


def _joined(problems: Any) -> str:
    return "; ".join(map(str, problems)) if isinstance(problems, list | tuple) else str(problems)


# --- discovery and services --------------------------------------------------------------------------------------


@blp.route("/discovery.<response_format>", methods=["GET"], parameters=[openapi.FORMAT_PARAMETER])
@blp.doc(parameters=[openapi.JURISDICTION], **openapi.operation(openapi.ref("Open311Discovery"), "the discovery"))
def discovery(response_format: str) -> Response:
    """Service discovery: this server's GeoReport v2 endpoint, its formats, and where to ask for a key."""
    response_format = _checked_format(response_format)
    return formats.render(service.discovery(request.url_root + "open311/v2"), "discovery", response_format)


@blp.route("/services.<response_format>", methods=["GET"], parameters=[openapi.FORMAT_PARAMETER])
@blp.doc(
    parameters=[openapi.JURISDICTION],
    **openapi.operation(openapi.list_of("Open311Service", "services"), "the services"),
)
def list_services(response_format: str) -> Response:
    """The services: active categories without active subcategories; `group` is the parent's name, `metadata`
    says whether it has extra questions."""
    response_format = _checked_format(response_format)
    return formats.render(service.list_services(), "services", response_format)


@blp.route(
    "/services/<service_code>.<response_format>",
    methods=["GET"],
    parameters=[openapi.SERVICE_CODE_PARAMETER, openapi.FORMAT_PARAMETER],
)
@blp.doc(
    parameters=[openapi.JURISDICTION],
    **openapi.operation(openapi.ref("Open311ServiceDefinition"), "the service definition"),
)
def get_service_definition(service_code: str, response_format: str) -> Response:
    """A service's definition: its extra questions (attributes), as admins defined them on the category."""
    response_format = _checked_format(response_format)
    return formats.render(service.service_definition(service_code), "service_definition", response_format)


# --- requests ----------------------------------------------------------------------------------------------------


@blp.route("/requests.<response_format>", methods=["GET"], parameters=[openapi.FORMAT_PARAMETER])
@blp.doc(
    parameters=openapi.REQUEST_FILTERS,
    **openapi.operation(openapi.list_of("Open311Request", "service_requests"), "the requests"),
)
def list_requests(response_format: str) -> Response:
    """Requests filed between `start_date` and `end_date` (by default the last 90 days, up to now; at most 90 days),
    newest first, at most 1000; or those named by `service_request_id`. Never a resident's name or phone."""
    response_format = _checked_format(response_format)
    query = params.request_query(request.args)
    return formats.render(service.list_requests(query), "service_requests", response_format)


@blp.route("/requests.<response_format>", methods=["POST"], parameters=[openapi.FORMAT_PARAMETER])
@accepts(FORM)
@blp.doc(
    **openapi.REQUEST_FORM,
    **openapi.operation(openapi.list_of("Open311Created", "service_requests"), "the request filed", forbidden=True),
)
def create_request(response_format: str) -> Response:
    """File a request with an integration's `api_key`: through the normal intake (routing, duplicates,
    notifications). A location is `lat` and `long` (WGS-84), `address_string` (the key's area takes it) or
    `address_id` (a grid unit's code); `attribute[CODE]` answers the service's questions. The same form again with
    the same `device_id` within minutes answers with the request filed first."""
    response_format = _checked_format(response_format)
    integration = service.integration_for(request.form.get("api_key"))
    brakes.check_key(integration.id)
    filed = service.submit(integration, params.submission(request.form))
    return formats.render([filed], "service_requests", response_format)


@blp.route(
    "/requests/<service_request_id>.<response_format>",
    methods=["GET"],
    parameters=[openapi.REQUEST_ID_PARAMETER, openapi.FORMAT_PARAMETER],
)
@blp.doc(
    parameters=[openapi.JURISDICTION],
    **openapi.operation(openapi.list_of("Open311Request", "service_requests"), "the request, in a list of one"),
)
def get_request(service_request_id: str, response_format: str) -> Response:
    """One request, in the same shape as the list, as a list of one."""
    response_format = _checked_format(response_format)
    return formats.render(service.get_request(service_request_id), "service_requests", response_format)


# --- updates (FixMyStreet) ---------------------------------------------------------------------------------------


@blp.route("/servicerequestupdates.<response_format>", methods=["GET"], parameters=[openapi.FORMAT_PARAMETER])
@blp.doc(
    parameters=openapi.UPDATE_FILTERS,
    **openapi.operation(openapi.list_of("Open311Update", "service_request_updates"), "the updates"),
)
def list_updates(response_format: str) -> Response:
    """FixMyStreet's updates: each request's status changes (FIXED, IN_PROGRESS, ACTION_SCHEDULED, …) and comments
    between `start_date` and `end_date` (the same 90-day window as requests), oldest first, at most 1000."""
    response_format = _checked_format(response_format)
    start, end = (
        params.when(request.args.get("start_date"), "start_date"),
        params.when(request.args.get("end_date"), "end_date"),
    )
    return formats.render(service.list_updates(start, end), "service_request_updates", response_format)


@blp.route("/servicerequestupdates.<response_format>", methods=["POST"], parameters=[openapi.FORMAT_PARAMETER])
@accepts(FORM)
@blp.doc(
    **openapi.UPDATE_FORM,
    **openapi.operation(
        openapi.list_of("Open311UpdateCreated", "service_request_updates"), "the update filed", forbidden=True
    ),
)
def create_update(response_format: str) -> Response:
    """A resident's comment (FixMyStreet) onto the ticket's record, once per the client's `update_id`; the status it
    names is recorded with it, not applied."""
    response_format = _checked_format(response_format)
    integration = service.integration_for(request.form.get("api_key"))
    brakes.check_key(integration.id)
    filed = service.post_update(integration, params.comment(request.form))
    return formats.render([filed], "service_request_updates", response_format)
