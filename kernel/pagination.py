"""Keyset (cursor) pagination: stable while rows are inserted, cursors opaque and tamper-checked."""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from kernel.errors import BadRequestError
from kernel.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def paginate(
    stmt: Select[Any],
    *,
    order_by: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    cursor: str | None,
    query_fingerprint: Mapping[str, Any],
    descending: bool = False,
) -> Page[Any]:
    """Run `stmt` for one page ordered by `order_by` (unique together, e.g. ending with the id).

    `query_fingerprint` is the list's filters: a cursor only continues the query that made it.
    """
    binding = _binding(query_fingerprint)
    if cursor is not None:
        after = decode_cursor(cursor, binding, len(order_by))
        key = tuple_(*order_by) if len(order_by) > 1 else order_by[0]
        value = tuple_(*after) if len(order_by) > 1 else after[0]
        stmt = stmt.where(key < value if descending else key > value)
    ordering = [column.desc() if descending else column.asc() for column in order_by]
    rows = db.session.scalars(stmt.order_by(*ordering).limit(limit + 1)).unique().all()
    items, has_more = rows[:limit], len(rows) > limit
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = encode_cursor([_plain(getattr(last, column.key)) for column in order_by], binding)
    return Page(items, next_cursor)


def encode_cursor(values: Sequence[Any], binding: str) -> str:
    payload = json.dumps({"k": list(values), "b": binding}, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return f"{body.decode()}.{_sign(body)}"


def decode_cursor(cursor: str, binding: str, width: int) -> list[Any]:
    """The key values in a cursor; 400 `bad_request` when it is forged, damaged or from another list."""
    body, _, signature = cursor.partition(".")
    if not cursor.isascii() or not signature or not hmac.compare_digest(signature, _sign(body.encode())):
        raise BadRequestError("The cursor is not valid.", {"cursor": ["not a cursor issued by this list"]})
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    values = payload.get("k")
    if payload.get("b") != binding or not isinstance(values, list) or len(values) != width:
        raise BadRequestError("The cursor is not valid.", {"cursor": ["the cursor belongs to another query"]})
    try:
        return [_restore(value) for value in values]
    except ValueError:
        raise BadRequestError("The cursor is not valid.", {"cursor": ["damaged cursor"]}) from None


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
