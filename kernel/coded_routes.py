"""The four endpoints every coded list has (list, add, one, change), registered from one description of the list.

Each list (member classes, service areas, activity kinds, alliance themes, need categories) differs only in its
schemas, its words and its view names, which are the operationIds clients were generated with; the rules (who
reads, who edits, `{code}` is 404 when malformed, If-Match on a change) are the same and live here once.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from kernel.api import Blueprint, documents
from kernel.codes import ActiveFilter, CodedList, code_parameter
from kernel.etag import checks_if_match
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import requires_role


@dataclass(frozen=True)
class CodedListSchemas:
    """The wire format of one list: a row, a page of rows, the list's query, a new row, a change."""

    row: type[Schema]
    page: type[Schema]
    query: type[Schema]
    create: type[Schema]
    update: type[Schema]


@dataclass(frozen=True)
class CodedListSummaries:
    """What the OpenAPI document says each endpoint does (the views' docstrings)."""

    list: str
    create: str
    get: str
    update: str


@dataclass(frozen=True)
class CodedListRoutes:
    """One coded list over HTTP. `singular` and `plural` name the views (`list_<plural>`, `create_<singular>`,
    `get_<singular>`, `update_<singular>`), hence the operationIds; `path` is where the list sits under the
    blueprint's prefix; `readers` empty: every signed-in account reads it."""

    rows: CodedList[Any]
    singular: str
    plural: str
    schemas: CodedListSchemas
    summaries: CodedListSummaries
    code_description: str
    path: str = ""
    readers: Sequence[Role] = ()
    editors: Sequence[Role] = (Role.ADMIN,)


def register_coded_list(blp: Blueprint, routes: CodedListRoutes) -> None:
    """Add the list's `GET` and `POST` on `path`, and `GET` (with its ETag) and `PATCH` (honouring If-Match) on
    `path/{code}`, to `blp`."""
    rows, schemas, summaries = routes.rows, routes.schemas, routes.summaries
    one = f"{routes.path}/<code>"
    parameters = [code_parameter(routes.code_description)]
    reads, edits = requires_role(*routes.readers), requires_role(*routes.editors)

    def list_rows(filters: ActiveFilter, *, limit: int, cursor: str | None) -> Page[Any]:
        return rows.list(filters, limit=limit, cursor=cursor)

    def create_row(data: dict[str, Any]) -> Any:
        return rows.create(data)

    def get_row(code: str) -> Any:
        return rows.get(code)

    def update_row(changes: dict[str, Any], code: str) -> Any:
        return rows.update(code, changes)

    def current(code: str) -> Any:
        return schemas.row().dump(rows.get(code))

    _stacked(
        _named(list_rows, f"list_{routes.plural}", summaries.list),
        blp.route(routes.path, methods=["GET"]),
        reads,
        blp.arguments(schemas.query, location="query"),
        cursor_list(ActiveFilter),
        blp.response(200, schemas.page),
    )
    _stacked(
        _named(create_row, f"create_{routes.singular}", summaries.create),
        blp.route(routes.path, methods=["POST"]),
        edits,
        blp.arguments(schemas.create),
        blp.response(201, schemas.row),
        documents(409),
    )
    _stacked(
        _named(get_row, f"get_{routes.singular}", summaries.get),
        blp.route(one, methods=["GET"], parameters=parameters),
        reads,
        blp.response(200, schemas.row),
        documents(304, 404),
    )
    _stacked(
        _named(update_row, f"update_{routes.singular}", summaries.update),
        blp.route(one, methods=["PATCH"], parameters=parameters),
        edits,
        blp.arguments(schemas.update),
        checks_if_match(current),
        blp.response(200, schemas.row),
        documents(404, 412),
    )


def _stacked(view: Callable[..., Any], *decorators: Callable[[Any], Any]) -> None:
    """Decorate `view` as if the decorators were written above it in this order (the last one applies first)."""
    for decorator in reversed(decorators):
        view = decorator(view)


def _named(view: Callable[..., Any], name: str, summary: str) -> Callable[..., Any]:
    """The view under its public name (the endpoint and operationId) and docstring (the OpenAPI summary)."""
    view.__name__ = view.__qualname__ = name
    view.__doc__ = summary
    return view
