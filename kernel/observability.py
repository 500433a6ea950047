"""Request ids and one JSON log line per request.

The access line carries method, path (never the query string, which may hold a phone number),
status, duration, account id and request id. Bodies and headers are never logged.
"""

import itertools
import json
import logging
import os
import re
import secrets
import sys
import time
from typing import Any

from flask import Flask, Response, g, request

access_log = logging.getLogger("grid.access")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD_RECORD_KEYS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# A log line is at most this long: a client cannot fill the disk through what the service writes about it.
MAX_LINE_CHARS = 8192
_KEPT_OF_A_LONG_FIELD = 2048


class JsonFormatter(logging.Formatter):
    _second: tuple[int, str] = (-1, "")  # the last second written, and its text

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_KEYS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        return line if len(line) <= MAX_LINE_CHARS else _capped(entry)

    def _time(self, record: logging.LogRecord) -> str:
        """The record's time to the second, formatted once a second (every request writes a line)."""
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"))
        return self._second[1]


def _capped(entry: dict[str, Any]) -> str:
    """The entry with its long text fields cut (the longest first) until the line fits MAX_LINE_CHARS."""
    entry = {
        key: value if isinstance(value, str | int | float | bool | None) else str(value) for key, value in entry.items()
    }
    for key in sorted(entry, key=lambda k: -len(str(entry[k]))):
        text = str(entry[key])
        if len(text) > _KEPT_OF_A_LONG_FIELD:
            entry[key] = f"{text[:_KEPT_OF_A_LONG_FIELD]}… [{len(text) - _KEPT_OF_A_LONG_FIELD} characters cut]"
        line = json.dumps(entry, ensure_ascii=False)
        if len(line) <= MAX_LINE_CHARS:
            return line
    essentials = {key: entry[key] for key in ("time", "level", "logger", "request_id") if key in entry}
    return json.dumps({**essentials, "message": "a log line over the cap, left out"}, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the app's loggers (the web server and journald or docker collect stderr)."""
    # What the JSON lines never show is not collected for each record: the calling file, line and function (a
    # walk up the stack), the thread and the process (Python's logging HOWTO, "Optimization").
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logger = logging.getLogger("grid")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


class RequestIds:
    """Request ids: 32 hex digits, unique across processes and machines without a system call per request. Each
    process draws 64 random bits once (again in a forked worker) and counts its requests after them; an id
    correlates log lines and is no secret, so it need not be unpredictable."""

    def __init__(self) -> None:
        self._restart()
        os.register_at_fork(after_in_child=self._restart)

    def _restart(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


request_ids = RequestIds()


def register_request_logging(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        g.started_at = time.perf_counter()
        # The environ, not request.headers: werkzeug answers a missing header by building (and catching) an error.
        supplied = request.environ.get("HTTP_X_REQUEST_ID")
        g.request_id = supplied if supplied and _CLIENT_REQUEST_ID.match(supplied) else request_ids.next()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or request_ids.next()
        response.headers.add("X-Request-ID", request_id)  # no view sets it: no search for one to replace
        if not access_log.isEnabledFor(logging.INFO):  # the access line is off (LOG_LEVEL above INFO)
            return response
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started_at", time.perf_counter())) * 1000, 2),
                "account_id": g.get("account_id"),
                "request_id": request_id,
            },
        )
        return response
