"""Tencent Cloud SMS (`SendSms`, API 2021-01-11) as a channel.

Imported only when `SMS_CHANNEL=tencent`: the SDK is an optional extra (requirements-sms.txt), so `make run`
works without it. The adapter never raises for the provider's answer; it classifies it (see `classify`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from notifications.channels.base import (
    Outcome,
    OutgoingSms,
    SendResult,
    load_templates,
    redact,
    require_settings,
    split_endpoint,
)
from notifications.outbox.templates import TEMPLATES

DEFAULT_ENDPOINT = "sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
REQUIRED_SETTINGS = (
    "TENCENT_SMS_SECRET_ID",
    "TENCENT_SMS_SECRET_KEY",
    "TENCENT_SMS_SDK_APP_ID",
    "TENCENT_SMS_SIGN_NAME",
)

# Temporary: throttled, the network or Tencent's side, or an empty SMS package (a top-up fixes it).
RETRY_PREFIXES = ("LimitExceeded", "RequestLimitExceeded", "InternalError", "ResourceUnavailable")
RETRY_CODES = frozenset(
    {
        "ClientNetworkError",  # the SDK's name for refused connections and timeouts
        "ServerNetworkError",  # the SDK's name for any non-200 answer
        "FailedOperation.InsufficientBalanceInSmsPackage",
    }
)
# Permanent: credentials and signature, parameters (the phone number among them), template, sign name, blacklist.
REJECTED_PREFIXES = (
    "AuthFailure",
    "InvalidParameter",
    "MissingParameter",
    "UnauthorizedOperation",
    "UnsupportedOperation",
    "FailedOperation",
)
# Per-number windows Tencent names in the code; the daily one resets at local midnight.
THROTTLE_WINDOWS = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
}
DAILY_LIMITS = frozenset({"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit"})
BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class TemplateRef:
    code: str
    params: tuple[str, ...]  # Tencent's parameters are positional: this is their order (may be empty)


class TencentSmsChannel:
    """Sends one SMS per call through Tencent `SendSms`; `SessionContext` carries our message id (echoed back)."""

    name = "tencent"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        templates: Mapping[str, Any],
        endpoint: str = DEFAULT_ENDPOINT,
        region: str = DEFAULT_REGION,
        timeout_seconds: float = 5.0,
    ) -> None:
        protocol, host = split_endpoint(endpoint)
        # The SDK hands reqTimeout to requests as one number: the connect and the read timeout alike.
        http_profile = HttpProfile(protocol=protocol, endpoint=host, reqMethod="POST", reqTimeout=timeout_seconds)
        # No region breaker: it would switch to a backup endpoint on its own, past our endpoint setting.
        profile = ClientProfile(httpProfile=http_profile, disable_region_breaker=True)
        self._client = SmsClient(credential.Credential(secret_id, secret_key), region, profile)
        self._sdk_app_id = sdk_app_id
        self._sign_name = sign_name
        self._templates = dict(templates)
        self._secrets = tuple(s for s in (secret_key, secret_id) if s)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TencentSmsChannel":
        """Build from the app config; refuses to start without credentials, an SDK app id and a sign name."""
        require_settings(config, REQUIRED_SETTINGS, "tencent")
        return cls(
            secret_id=config["TENCENT_SMS_SECRET_ID"],
            secret_key=config["TENCENT_SMS_SECRET_KEY"],
            sdk_app_id=str(config["TENCENT_SMS_SDK_APP_ID"]),
            sign_name=config["TENCENT_SMS_SIGN_NAME"],
            templates=load_templates(config.get("SMS_TEMPLATE_CODES")),
            endpoint=config.get("TENCENT_SMS_ENDPOINT") or DEFAULT_ENDPOINT,
            region=config.get("TENCENT_SMS_REGION") or DEFAULT_REGION,
            timeout_seconds=float(config.get("SMS_TIMEOUT_SECONDS") or 5),
        )

    def send(self, message: OutgoingSms) -> SendResult:
        try:
            template = template_ref(self._templates, message.template)
            params = template_params(template, message.params)
        except LookupError as exc:
            return SendResult(Outcome.REJECTED, error=str(exc))
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [e164(message.phone)]
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = self._sign_name
        request.TemplateId = template.code
        request.TemplateParamSet = params
        request.SessionContext = message.message_id
        try:
            response = self._client.SendSms(request)
        except TencentCloudSDKException as exc:  # an API error, a non-200 answer, a timeout, a refused connection
            return self._refused(str(exc.code or ""), str(exc.message or ""))
        statuses = response.SendStatusSet or []
        if not statuses:  # an answer without a per-number status: we cannot know it was taken
            return SendResult(Outcome.RETRY, error="no SendStatusSet in the answer")
        status = statuses[0]
        raw = {"SerialNo": status.SerialNo, "Code": status.Code, "SessionContext": status.SessionContext}
        if status.Code == "Ok":
            return SendResult(Outcome.SENT, provider_id=status.SerialNo, raw=raw)
        return self._refused(str(status.Code or ""), str(status.Message or ""), raw=raw)

    def _refused(self, code: str, message: str, raw: dict[str, Any] | None = None) -> SendResult:
        return SendResult(
            classify(code),
            error=self._clean(f"{code}: {message}"),
            retry_after_seconds=retry_after(code),
            raw={"Code": code} if raw is None else raw,
        )

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)


def classify(code: str) -> Outcome:
    """Tencent's error (or per-number status) code → our outcome."""
    if code == "Ok":
        return Outcome.SENT
    if code in RETRY_CODES or code.startswith(RETRY_PREFIXES):
        return Outcome.RETRY
    if code.startswith(REJECTED_PREFIXES):
        return Outcome.REJECTED
    return Outcome.RETRY  # an answer we cannot place: trying again is safer than dropping the message


def retry_after(code: str, now: datetime | None = None) -> float | None:
    """How long the per-number throttle named in the code lasts."""
    if code in THROTTLE_WINDOWS:
        return THROTTLE_WINDOWS[code]
    if code in DAILY_LIMITS:
        local = (now or datetime.now(UTC)).astimezone(BEIJING)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - local).total_seconds()
    return None


def e164(phone: str) -> str:
    """Our national digits (13812345678) → +8613812345678; numbers already in E.164 pass unchanged."""
    digits = phone.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("86") and len(digits) == 13:  # mainland mobile numbers have 11 digits
        return "+" + digits
    return "+86" + digits


def template_ref(templates: Mapping[str, Any], name: str) -> TemplateRef:
    """The template id, and the parameters' order: the configured one, else the order the template declares."""
    entry = templates.get(name)
    if isinstance(entry, str) and entry:
        return TemplateRef(entry, declared_params(name))
    if isinstance(entry, Mapping) and entry.get("code"):
        params = entry.get("params")
        return TemplateRef(str(entry["code"]), declared_params(name) if params is None else tuple(params))
    raise LookupError(f"no Tencent template id configured for {name!r} (SMS_TEMPLATE_CODES)")


def declared_params(name: str) -> tuple[str, ...]:
    template = TEMPLATES.get(name)
    return template.params if template is not None else ()


def template_params(template: TemplateRef, params: Mapping[str, str]) -> list[str]:
    missing = [key for key in template.params if key not in params]
    if missing:
        raise LookupError(f"template {template.code} needs parameter(s) {', '.join(missing)}")
    return [text(params[key]) for key in template.params]


def text(value: object) -> str:
    """A parameter as the provider takes it: a string, empty for None (as the rendered text shows it)."""
    return "" if value is None else str(value)
