"""What SMS providers send, read into one shape: no database, no request, tested through the callbacks.

**Formats** (HTTP push, JSON; what each provider documents):

- Aliyun replies (SmsUp, "HTTP批量推送"): an array of `{phone_number, content, send_time ("2017-09-01 00:00:00",
  Beijing), dest_code, sequence_id, sign_name?}`; delivery reports (SmsReport): an array of `{phone_number,
  send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id}` (`out_id` echoes our message
  id). Acknowledged with `{"code": 0, "msg": "接收成功"}`; anything but HTTP 200 is pushed again later.
- Tencent replies ("回复短信"): one object `{extend, mobile, nationcode, sign, text, time (unix seconds)}`, which
  carries no id; delivery reports ("短信下发状态"): an array of `{user_receive_time, nationcode, mobile,
  report_status (SUCCESS|FAIL), errmsg, description, sid}` (`sid` is SendSms's SerialNo). Acknowledged with
  `{"result": 0, "errmsg": "OK"}`.
- `http` (the generic gateway, our own format): replies `{id, phone, text, sent_at?}` and reports
  `{message_id?, provider_id?, status: delivered|failed, error?, reported_at?}`, each one object or an array.
  Acknowledged with `{"code": 0, "msg": "OK"}`.

An item that cannot be read raises `Malformed` (the callback keeps it as ignored); a body that is not JSON is a
400 and one that is not the provider's shape a 422.
"""

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kernel.clock import BEIJING
from kernel.errors import BadRequestError, ValidationError
from kernel.i18n import _
from kernel.jsonio import load_client_json
from notifications.outbox import service as notify

PROVIDERS: Final = ("aliyun", "tencent", "http")
MAX_ITEMS = 1000  # per callback; providers push batches of tens
TEXT_LIMIT = 2000
ACKS: Final[Mapping[str, Mapping[str, Any]]] = {
    "aliyun": {"code": 0, "msg": "接收成功"},
    "tencent": {"result": 0, "errmsg": "OK"},
    "http": {"code": 0, "msg": "OK"},
}
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Malformed(Exception):
    """One item of a callback that cannot be read; it is kept as ignored with this reason."""


# --- what providers send, read into one shape --------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    dedup_key: str
    phone: str | None  # national mobile digits; None when not a mainland number
    text: str
    sent_at: datetime | None


@dataclass(frozen=True)
class Report:
    dedup_key: str
    message_ref: str | None  # our message id, echoed
    provider_ref: str | None  # the provider's id for the message
    delivered: bool
    error: str | None
    reported_at: datetime | None


def items(body: bytes, *, single_allowed: bool) -> list[Any]:
    """The items of a callback's raw JSON body: an array, or (where the provider sends one) a single object."""
    return _items(_json(body), single_allowed=single_allowed)


def _json(body: bytes) -> Any:
    try:
        return load_client_json(body)
    except ValueError:  # UnicodeDecodeError included; nesting or numbers past kernel.jsonio's limits too
        raise BadRequestError(_("The callback body is not valid JSON."), {"_body": [_("not JSON")]}) from None


def _items(payload: Any, *, single_allowed: bool) -> list[Any]:
    if isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict) and single_allowed:
        items = [payload]
    else:
        shape = "a JSON array or object" if single_allowed else "a JSON array"
        raise ValidationError(_("The callback body must be %(shape)s.", shape=shape), {"_body": [f"expected {shape}"]})
    if len(items) > MAX_ITEMS:
        raise ValidationError(
            _("At most %(MAX_ITEMS)s items per callback.", MAX_ITEMS=MAX_ITEMS),
            {"_body": [_("more than %(MAX_ITEMS)s items", MAX_ITEMS=MAX_ITEMS)]},
        )
    return items


def _text(item: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"no {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{name} is not text")
    return _UNSTORABLE.sub("", str(value))[:limit]


def _beijing_time(value: str | None) -> datetime | None:
    """Providers' local times ("2017-09-01 00:00:00", also without separators) in UTC; None when unreadable."""
    if not value:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    return None


def _iso_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _unix_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def mainland_mobile(number: str | None, nationcode: str | None = None) -> str | None:
    """The 11 national digits of a mainland mobile number (+86, 86 and 0086 prefixes dropped); None otherwise."""
    if not number or (nationcode not in (None, "", "86", "+86")):
        return None
    digits = re.sub(r"[\s-]", "", number)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    return digits if notify.is_mobile(digits) else None


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()


def _aliyun_reply(item: Mapping[str, Any]) -> Reply:
    sequence = _text(item, "sequence_id", limit=64)
    return Reply(
        dedup_key=f"seq:{sequence}",
        phone=mainland_mobile(_text(item, "phone_number", limit=32)),
        text=_text(item, "content", required=False, limit=TEXT_LIMIT) or "",
        sent_at=_beijing_time(_text(item, "send_time", required=False)),
    )


def _tencent_reply(item: Mapping[str, Any]) -> Reply:
    mobile = _text(item, "mobile", limit=32)
    nationcode = _text(item, "nationcode", required=False, limit=8)
    text = _text(item, "text", required=False, limit=TEXT_LIMIT) or ""
    if "time" not in item:
        raise Malformed("no time")
    return Reply(
        dedup_key="sha:" + _digest(nationcode, mobile, item.get("time"), text),
        phone=mainland_mobile(mobile, nationcode),
        text=text,
        sent_at=_unix_time(item.get("time")),
    )


def _http_reply(item: Mapping[str, Any]) -> Reply:
    return Reply(
        dedup_key=f"id:{_text(item, 'id', limit=100)}",
        phone=mainland_mobile(_text(item, "phone", limit=32)),
        text=_text(item, "text", required=False, limit=TEXT_LIMIT) or "",
        sent_at=_iso_time(_text(item, "sent_at", required=False, limit=40)),
    )


def _aliyun_report(item: Mapping[str, Any]) -> Report:
    success = item.get("success")
    if not isinstance(success, bool):
        raise Malformed("success is not true or false")
    biz_id = _text(item, "biz_id", required=False, limit=64)
    out_id = _text(item, "out_id", required=False, limit=64)
    if biz_id is None and out_id is None:
        raise Malformed("neither biz_id nor out_id")
    code = _text(item, "err_code", required=False, limit=64)
    message = _text(item, "err_msg", required=False, limit=100)
    return Report(
        dedup_key="sha:" + _digest(biz_id, out_id, success, code),
        message_ref=out_id,
        provider_ref=biz_id,
        delivered=success,
        error=None if success else ": ".join(part for part in (code, message) if part) or "not delivered",
        reported_at=_beijing_time(_text(item, "report_time", required=False)),
    )


def _tencent_report(item: Mapping[str, Any]) -> Report:
    sid = _text(item, "sid", limit=64)
    status = _text(item, "report_status", limit=16)
    if status not in ("SUCCESS", "FAIL"):
        raise Malformed("report_status is neither SUCCESS nor FAIL")
    code = _text(item, "errmsg", required=False, limit=64)
    description = _text(item, "description", required=False, limit=100)
    return Report(
        dedup_key="sha:" + _digest(sid, status, code),
        message_ref=None,
        provider_ref=sid,
        delivered=status == "SUCCESS",
        error=None if status == "SUCCESS" else ": ".join(part for part in (code, description) if part) or "FAIL",
        reported_at=_beijing_time(_text(item, "user_receive_time", required=False)),
    )


def _http_report(item: Mapping[str, Any]) -> Report:
    message_id = _text(item, "message_id", required=False, limit=64)
    provider_id = _text(item, "provider_id", required=False, limit=64)
    if message_id is None and provider_id is None:
        raise Malformed("neither message_id nor provider_id")
    status = _text(item, "status", limit=16)
    if status not in ("delivered", "failed"):
        raise Malformed("status is neither delivered nor failed")
    return Report(
        dedup_key="sha:" + _digest(message_id, provider_id, status),
        message_ref=message_id,
        provider_ref=provider_id,
        delivered=status == "delivered",
        error=None if status == "delivered" else _text(item, "error", required=False) or "failed",
        reported_at=_iso_time(_text(item, "reported_at", required=False, limit=40)),
    )


_REPLY_READERS: Final[Mapping[str, Callable[[Mapping[str, Any]], Reply]]] = {
    "aliyun": _aliyun_reply,
    "tencent": _tencent_reply,
    "http": _http_reply,
}
_REPORT_READERS: Final[Mapping[str, Callable[[Mapping[str, Any]], Report]]] = {
    "aliyun": _aliyun_report,
    "tencent": _tencent_report,
    "http": _http_report,
}


def read_reply(provider: str, item: Any) -> Reply:
    """One reply as this provider sends it; Malformed when it cannot be read."""
    return _read(_REPLY_READERS[provider], item)


def read_report(provider: str, item: Any) -> Report:
    """One delivery report as this provider sends it; Malformed when it cannot be read."""
    return _read(_REPORT_READERS[provider], item)


def _read(reader: Callable[[Mapping[str, Any]], Any], item: Any) -> Any:
    if not isinstance(item, dict):
        raise Malformed("not an object")
    return reader(item)


def malformed_key(item: Any) -> str:
    """The key that keeps a malformed item once per provider."""
    return "bad:" + _digest(item)


def as_text(item: Any) -> str:
    """A malformed item as storable text."""
    return _UNSTORABLE.sub("", json.dumps(item, ensure_ascii=False, default=str))[:TEXT_LIMIT]
