"""Idempotency-Key for POSTs: the mobile app's offline queue replays actions after a lost response.

A key is kept per account with a fingerprint of the request and, once the request succeeded, the
response. The key row is inserted in the request's own transaction, so it lands with the change or
not at all; a concurrent request with the same key waits on the unique index, then replays.
Failed requests (4xx/5xx) store nothing: they changed nothing, and a retry runs again.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import BigId, UTCDateTime
from kernel.errors import BadRequestError, IdempotencyKeyReusedError
from kernel.extensions import db
from kernel.i18n import _

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def run_idempotently(account_id: int, view: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run a POST view once per (account, Idempotency-Key); replay the stored response after that."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return view(*args, **kwargs)
    _check_key(key)
    fingerprint = _fingerprint()
    existing = _find(account_id, key)
    if existing is not None:
        return _replay(existing, fingerprint)
    record = IdempotencyKey(account_id=account_id, key=key, fingerprint=fingerprint)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request with this key committed first (we waited for it on the unique index).
        db.session.rollback()
        winner = _find(account_id, key)
        if winner is None:
            raise
        return _replay(winner, fingerprint)
    g.idempotency_record = record
    return view(*args, **kwargs)


def replay_with(body: Any) -> None:
    """What a replay of this request answers instead of its response: for a response that shows a secret once
    (a one-time password), which must not be kept in the key store."""
    g.idempotency_replay_body = body


def purge_expired(now: datetime | None = None, ttl: timedelta | None = None) -> int:
    """Delete keys older than the retention period; returns how many went."""
    cutoff = (now or utcnow()) - (ttl or current_app.config["IDEMPOTENCY_KEY_TTL"])
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return result.rowcount or 0


def register_idempotency(app: Flask) -> None:
    @app.after_request
    def remember_response(response: Response) -> Response:
        record: IdempotencyKey | None = g.pop("idempotency_record", None)
        withheld = g.pop("idempotency_replay_body", None)
        if record is not None and response.status_code < 400:
            record.status_code = response.status_code
            record.response_body = (
                response.get_data(as_text=True) if withheld is None else current_app.json.dumps(withheld)
            )
        return response


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadRequestError(
            _("The Idempotency-Key header is not valid."),
            {HEADER: [_("1 to %(MAX_KEY_LENGTH)s printable ASCII characters", MAX_KEY_LENGTH=MAX_KEY_LENGTH)]},
        )


def _fingerprint() -> str:
    digest = hashlib.sha256()
    body = _multipart_parts() if request.mimetype == "multipart/form-data" else [request.get_data()]
    for part in (request.method.encode(), request.path.encode(), request.query_string, *body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _multipart_parts() -> list[bytes]:
    """A form by its parts, not its bytes: a client that rebuilds the same upload for a replay picks a new
    boundary, and the same photo must still be the same request."""
    fields = sorted((name or "", value) for name, value in request.form.items(multi=True))
    parts = [f"{name}={value}".encode() for name, value in fields]
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0] or ""):
        content = hashlib.file_digest(upload.stream, "sha256")
        upload.stream.seek(0)
        parts.append(f"{name or ''}:{upload.filename or ''}:{upload.mimetype}:{content.hexdigest()}".encode())
    return parts


def _find(account_id: int, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    return db.session.scalars(stmt).one_or_none()


def _replay(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReusedError(
            _("This Idempotency-Key was used for a different request."), {HEADER: [_("already used with another body")]}
        )
    response = current_app.response_class(
        record.response_body or "", status=record.status_code or 200, mimetype="application/json"
    )
    response.headers[REPLAY_HEADER] = "true"
    return response
