"""Keyset (cursor) pagination: stable while rows are inserted, cursors opaque and tamper-checked."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache, wraps
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import Integer, Select, bindparam, literal_column, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from kernel.compiled import CompiledSelect
from kernel.errors import BadRequestError
from kernel.extensions import db
from kernel.i18n import _

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def filters_from(filters_type: type[T], query: Mapping[str, Any]) -> T:
    """The list filters a dataclass declares, taken by name from a parsed query (absent ones keep their default)."""
    return filters_type(**{name: query[name] for name in _field_names(filters_type) if name in query})


@cache
def _field_names(filters_type: type[Any]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(filters_type))


def cursor_list(filters_type: type[Any]) -> Callable[[F], F]:
    """A list view takes `(filters, *path_args, limit=, cursor=)` instead of the parsed query: the filters as
    `filters_type` (a dataclass), and the page's `limit` and `cursor`. Put it below `@blp.arguments`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(query: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
            filters = filters_from(filters_type, query)
            return view(filters, *args, limit=query["limit"], cursor=query.get("cursor"), **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def paginate(
    stmt: Select[Any],
    *,
    order_by: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    cursor: str | None,
    query_fingerprint: Mapping[str, Any],
    descending: bool = False,
    whole_rows: bool = False,
) -> Page[Any]:
    """Run `stmt` for one page ordered by `order_by` (unique together, e.g. ending with the id).

    `query_fingerprint` is the list's filters: a cursor only continues the query that made it. The items
    are the first column of each row (an entity), or with `whole_rows` the rows, whose columns must then
    include `order_by`'s under their own names.
    """
    binding = _binding(query_fingerprint)
    if cursor is not None:
        after = decode_cursor(cursor, binding, len(order_by))
        key = tuple_(*order_by) if len(order_by) > 1 else order_by[0]
        value = tuple_(*after) if len(order_by) > 1 else after[0]
        stmt = stmt.where(key < value if descending else key > value)
    result = db.session.execute(stmt.order_by(*_ordering(order_by, descending)).limit(_page_rows(limit + 1)))
    rows = (result if whole_rows else result.scalars()).unique().all()
    return _page_of(rows, limit, lambda item: [getattr(item, column.key) for column in order_by], binding)


def _page_rows(rows: int) -> Any:
    """A page's row count written into the statement, not bound: PostgreSQL plans a prepared statement whose
    LIMIT is a parameter afresh on every execution (see `PreparedKeyset._statement`). 2 to 101 rows: as many
    forms of a list's statement at most."""
    return literal_column(str(int(rows)), Integer)


class PreparedKeyset:
    """A list query built once, with its filters as bound parameters, and paged without rebuilding it.

    For a small indexed page, building a statement (filters, keyset condition, order, limit) and computing its
    cache key cost more than running it. A prepared query builds the statements for the first page and for the
    pages after a cursor once; each request only binds values. It pages like `paginate` with `whole_rows`
    (same cursors), and runs them as SQL text on the session's connection (`kernel.compiled`): its rows are
    plain tuples, in the select's column order.
    """

    def __init__(self, stmt: Select[Any], *, order_by: Sequence[InstrumentedAttribute[Any]], descending: bool) -> None:
        self.order_by = order_by
        ordering = _ordering(order_by, descending)
        key = tuple_(*order_by)
        after = tuple_(*(bindparam(f"after_{n}", type_=column.type) for n, column in enumerate(order_by)))
        self._first_page = stmt.order_by(*ordering)
        self._next_page = stmt.where(key < after if descending else key > after).order_by(*ordering)
        self._by_limit: dict[tuple[bool, int], CompiledSelect] = {}
        keys = list(stmt.selected_columns.keys())
        self._key_positions = [keys.index(column.key) for column in order_by]

    def page(
        self, params: Mapping[str, Any], *, limit: int, cursor: str | None, query_fingerprint: Mapping[str, Any]
    ) -> Page[tuple[Any, ...]]:
        binding = _binding(query_fingerprint)
        values = dict(params)
        if cursor is not None:
            after = decode_cursor(cursor, binding, len(self.order_by))
            values.update({f"after_{n}": value for n, value in enumerate(after)})
        rows = self._statement(after_cursor=cursor is not None, rows=limit + 1).all(values)
        return _page_of(rows, limit, lambda row: [row[position] for position in self._key_positions], binding)

    def _statement(self, *, after_cursor: bool, rows: int) -> CompiledSelect:
        """The statement for pages of this many rows, the number written into it: PostgreSQL's plan of a
        prepared statement whose LIMIT is a parameter cannot know it, so it costs the generic plan as if for many
        rows and plans every execution afresh (0.7 ms of planning for a 0.14 ms queue page at ten million
        tickets); with the number in the text it keeps one plan. A page size is 1 to 100: so many statements
        at most."""
        found = self._by_limit.get((after_cursor, rows))
        if found is None:
            stmt = self._next_page if after_cursor else self._first_page
            found = self._by_limit[(after_cursor, rows)] = CompiledSelect(stmt.limit(_page_rows(rows)))
        return found


def _ordering(order_by: Sequence[InstrumentedAttribute[Any]], descending: bool) -> list[Any]:
    return [column.desc() if descending else column.asc() for column in order_by]


def _page_of(rows: Sequence[Any], limit: int, key_of: Callable[[Any], list[Any]], binding: str) -> Page[Any]:
    items, has_more = rows[:limit], len(rows) > limit
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = encode_cursor([_plain(value) for value in key_of(last)], binding)
    return Page(items, next_cursor)


def encode_cursor(values: Sequence[Any], binding: str) -> str:
    payload = json.dumps({"k": list(values), "b": binding}, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return f"{body.decode()}.{_sign(body)}"


def decode_cursor(cursor: str, binding: str, width: int) -> list[Any]:
    """The key values in a cursor; 400 `bad_request` when it is forged, damaged or from another list."""
    body, _dot, signature = cursor.partition(".")
    if not cursor.isascii() or not signature or not hmac.compare_digest(signature, _sign(body.encode())):
        raise BadRequestError(_("The cursor is not valid."), {"cursor": [_("not a cursor issued by this list")]})
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    values = payload.get("k")
    if payload.get("b") != binding or not isinstance(values, list) or len(values) != width:
        raise BadRequestError(_("The cursor is not valid."), {"cursor": [_("the cursor belongs to another query")]})
    try:
        return [_restore(value) for value in values]
    except ValueError:
        raise BadRequestError(_("The cursor is not valid."), {"cursor": [_("damaged cursor")]}) from None


def _sign(body: bytes) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return base64.urlsafe_b64encode(hmac.new(key, b"cursor:" + body, hashlib.sha256).digest()[:18]).decode()


def _binding(fingerprint: Mapping[str, Any]) -> str:
    canonical = json.dumps(fingerprint, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return getattr(value, "value", value)


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(str(value.get("t")))
    return value
