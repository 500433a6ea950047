"""JSON in and out. Responses are written by orjson: a page of twenty tickets took longer to encode with the
standard library than to read from the database. Request bodies are read with limits (`load_client_json`).

The output is what Flask's own provider writes (sorted keys, UTF-8 text as it is, dates as HTTP dates
through Flask's `default`), so ETags stay stable. What orjson will not write (integers past 64 bits) goes
to Flask's provider unchanged, and so does the indented output of debug mode.
"""

import json
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME  # to Flask's default: HTTP dates, as before
    | orjson.OPT_APPEND_NEWLINE
)


class FastJSONProvider(DefaultJSONProvider):
    ensure_ascii = False  # Chinese text as it is

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        content = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(content, default=self.default, option=OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


# What a client's JSON may hold: deeper nesting or longer numbers serve no request of this API, and unbounded they
# reach the interpreter's recursion limit or the integer parser's digit limit (a 500 with a traceback each time).
MAX_DEPTH = 64
MAX_NUMBER_LENGTH = 100


def load_client_json(body: bytes | str) -> Any:
    """A request body's JSON, nested at most MAX_DEPTH deep with no number longer than MAX_NUMBER_LENGTH
    characters; `json.JSONDecodeError` (a 400 for the parser) for anything else."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        value = json.loads(text, parse_int=_bounded(int), parse_float=_bounded(float))
    except RecursionError:
        raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, 0) from None
    if _deeper_than(value, MAX_DEPTH):
        raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, 0)
    return value


def _bounded(parse: type[int] | type[float]) -> Any:
    def parse_number(token: str) -> int | float:
        if len(token) > MAX_NUMBER_LENGTH:
            raise json.JSONDecodeError(f"a number longer than {MAX_NUMBER_LENGTH} characters", token, 0)
        return parse(token)

    return parse_number


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit`, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
