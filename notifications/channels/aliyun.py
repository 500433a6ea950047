"""Aliyun SMS (Dysms `SendSms`, API 2017-05-25) as a channel.

Imported only when `SMS_CHANNEL=aliyun`: the SDK is an optional extra (requirements-sms.txt), so `make run`
works without it. The adapter never raises for the provider's answer; it classifies it (see `classify`).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from alibabacloud_dysmsapi20170525 import models as dysms_models
from alibabacloud_dysmsapi20170525.client import Client as DysmsClient
from alibabacloud_tea_openapi import models as openapi_models
from darabonba.exceptions import ResponseException, UnretryableException
from darabonba.runtime import RuntimeOptions

from notifications.channels.base import (
    Outcome,
    OutgoingSms,
    SendResult,
    load_templates,
    redact,
    require_settings,
    split_endpoint,
)

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"
REQUIRED_SETTINGS = ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME")

# Temporary: throttled, over a daily/monthly cap, out of credit (a top-up fixes it), or the platform's own fault.
RETRY_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.MONTH_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "isp.SYSTEM_ERROR",
        "SignatureNonceUsed",
    }
)
RETRY_PREFIXES = ("Throttling", "ServiceUnavailable", "InternalError", "isp.")
# Permanent even though the prefix rules would say otherwise.
REJECTED_CODES = frozenset({"isp.RAM_PERMISSION_DENY"})

# isv.BUSINESS_LIMIT_CONTROL says which window was hit: "触发分钟级流控Permits:1", "触发小时级流控…", "触发天级流控…".
THROTTLE_WINDOWS = (("分钟级", 60.0), ("小时级", 3600.0))
BEIJING = timezone(timedelta(hours=8))  # Aliyun's daily quotas reset at local midnight


@dataclass(frozen=True)
class TemplateRef:
    code: str
    params: tuple[str, ...] | None  # the names the provider's template takes; None: send every parameter


class AliyunSmsChannel:
    """Sends one SMS per call through Dysms `SendSms`; `OutId` carries our message id (echoed in receipts)."""

    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: Mapping[str, Any],
        endpoint: str = DEFAULT_ENDPOINT,
        timeout_seconds: float = 5.0,
    ) -> None:
        protocol, host = split_endpoint(endpoint)
        timeout_ms = max(1, int(timeout_seconds * 1000))
        self._client = DysmsClient(
            openapi_models.Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=host,
                protocol=protocol,
                connect_timeout=timeout_ms,
                read_timeout=timeout_ms,
            )
        )
        # One attempt per call: the delivery loop owns retries (backoff, limits, dead letters).
        self._runtime = RuntimeOptions(autoretry=False, connect_timeout=timeout_ms, read_timeout=timeout_ms)
        self._sign_name = sign_name
        self._templates = dict(templates)
        self._secrets = tuple(s for s in (access_key_secret, access_key_id) if s)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "AliyunSmsChannel":
        """Build from the app config; refuses to start without credentials and a sign name."""
        require_settings(config, REQUIRED_SETTINGS, "aliyun")
        return cls(
            access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
            access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
            sign_name=config["ALIYUN_SMS_SIGN_NAME"],
            templates=load_templates(config.get("SMS_TEMPLATE_CODES")),
            endpoint=config.get("ALIYUN_SMS_ENDPOINT") or DEFAULT_ENDPOINT,
            timeout_seconds=float(config.get("SMS_TIMEOUT_SECONDS") or 5),
        )

    def send(self, message: OutgoingSms) -> SendResult:
        try:
            template = template_ref(self._templates, message.template)
            params = template_params(template, message.params)
        except LookupError as exc:
            return SendResult(Outcome.REJECTED, error=str(exc))
        request = dysms_models.SendSmsRequest(
            phone_numbers=message.phone,
            sign_name=self._sign_name,
            template_code=template.code,
            # Named values as one JSON string; Chinese kept as is (Aliyun counts characters, not escapes).
            template_param=json.dumps(params, ensure_ascii=False) if params else None,
            out_id=message.message_id,
        )
        try:
            response = self._client.send_sms_with_options(request, self._runtime)
        except ResponseException as exc:  # a 4xx/5xx answer with an error body
            return self._refused(str(exc.code or ""), str(exc.message or ""), exc.status_code)
        except UnretryableException as exc:  # the SDK's wrapper for timeouts, refused connections, unreadable bodies
            cause = inner_error(exc)
            detail = getattr(cause, "message", None) or cause
            return SendResult(Outcome.RETRY, error=self._clean(f"{type(cause).__name__}: {detail}"))
        body = response.body.to_map() if response.body else {}
        code = str(body.get("Code") or "")
        if code == "OK":
            return SendResult(Outcome.SENT, provider_id=body.get("BizId"), raw=body)
        return self._refused(code, str(body.get("Message") or ""), response.status_code, raw=body)

    def _refused(self, code: str, message: str, status: int | None, raw: dict[str, Any] | None = None) -> SendResult:
        return SendResult(
            classify(code, status),
            error=self._clean(f"{code or status}: {message}"),
            retry_after_seconds=retry_after(code, message),
            raw={"Code": code, "Status": status} if raw is None else raw,
        )

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)


def classify(code: str, status: int | None = 200) -> Outcome:
    """Aliyun's answer code (and HTTP status) → our outcome. `isv.*` is the caller's fault, `isp.*` Aliyun's."""
    if code == "OK":
        return Outcome.SENT
    if code in REJECTED_CODES:
        return Outcome.REJECTED
    if code in RETRY_CODES or code.startswith(RETRY_PREFIXES) or (status or 200) >= 500:
        return Outcome.RETRY
    if code.startswith("isv.") or 400 <= (status or 200) < 500:
        return Outcome.REJECTED  # invalid number, template, sign name, signature, credentials, parameters
    return Outcome.RETRY  # an answer we cannot place: trying again is safer than dropping the message


def retry_after(code: str, message: str, now: datetime | None = None) -> float | None:
    """How long the throttle named in the answer lasts, when it says."""
    if code != "isv.BUSINESS_LIMIT_CONTROL":
        return None
    for marker, seconds in THROTTLE_WINDOWS:
        if marker in message:
            return seconds
    if "天级" in message:
        return seconds_to_beijing_midnight(now or datetime.now(UTC))
    return None


def seconds_to_beijing_midnight(now: datetime) -> float:
    local = now.astimezone(BEIJING)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def inner_error(exc: Exception) -> Exception:
    """The SDK raises `UnretryableException` around the real cause (a timeout, a refused connection)."""
    return getattr(exc, "inner_exception", None) or exc


def template_ref(templates: Mapping[str, Any], name: str) -> TemplateRef:
    entry = templates.get(name)
    if isinstance(entry, str) and entry:
        return TemplateRef(entry, None)
    if isinstance(entry, Mapping) and entry.get("code"):
        params = entry.get("params")
        return TemplateRef(str(entry["code"]), None if params is None else tuple(params))
    raise LookupError(f"no Aliyun template code configured for {name!r} (SMS_TEMPLATE_CODES)")


def template_params(template: TemplateRef, params: Mapping[str, str]) -> dict[str, str]:
    if template.params is None:
        return {key: text(value) for key, value in params.items()}
    missing = [key for key in template.params if key not in params]
    if missing:
        raise LookupError(f"template {template.code} needs parameter(s) {', '.join(missing)}")
    return {key: text(params[key]) for key in template.params}


def text(value: object) -> str:
    """A parameter as the provider takes it: a string, empty for None (as the rendered text shows it)."""
    return "" if value is None else str(value)
