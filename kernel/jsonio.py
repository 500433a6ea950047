"""JSON responses written by orjson: a page of twenty tickets took longer to encode with the standard
library than to read from the database.

The output is what Flask's own provider writes (sorted keys, UTF-8 text as it is, dates as HTTP dates
through Flask's `default`), so ETags stay stable. What orjson will not write (integers past 64 bits) goes
to Flask's provider unchanged, and so does the indented output of debug mode.
"""

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
