"""The Aliyun and Tencent SMS channels, through their real SDKs, against local stubs of the providers' APIs.

The stubs (tests/support/sms_stubs.py) check each request's signature with the test credentials, so a success here
also proves the SDK signed what the adapter built; a wrong secret gets the provider's own refusal.
"""

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from kernel.config import load_settings
from notifications.channels import aliyun, create_channel, tencent
from notifications.channels.aliyun import AliyunSmsChannel
from notifications.channels.base import Outcome, OutgoingSms, split_endpoint
from notifications.channels.tencent import TencentSmsChannel
from tests.support.sms_stubs import AliyunStub, TencentStub

TIMEOUT = 1.0
MESSAGE = OutgoingSms(
    message_id="0b9c6f0e-5d1a-4c8e-9f55-3a1d2c7e8f10",
    phone="13812345678",
    template="sms_ticket_resolved",
    params={"no": "GD20261123-0042", "status": "已办结", "note": "已清运"},
    text="【某某街道】您的诉求GD20261123-0042已办结，回复1-5评价。",
)

ALIYUN_KEY_ID, ALIYUN_SECRET = "LTAI5tStubAccessKeyId", "aliyun-stub-secret-0123456789abcdef"
ALIYUN_CONFIG = {
    "ALIYUN_SMS_ACCESS_KEY_ID": ALIYUN_KEY_ID,
    "ALIYUN_SMS_ACCESS_KEY_SECRET": ALIYUN_SECRET,
    "ALIYUN_SMS_SIGN_NAME": "某某街道",
    "SMS_TEMPLATE_CODES": {"sms_ticket_resolved": "SMS_470512345"},
    "SMS_TIMEOUT_SECONDS": TIMEOUT,
}
TENCENT_SECRET_ID, TENCENT_SECRET_KEY = "AKIDStubSecretId0123456789", "tencent-stub-secret-key-0123456789"
TENCENT_CONFIG = {
    "TENCENT_SMS_SECRET_ID": TENCENT_SECRET_ID,
    "TENCENT_SMS_SECRET_KEY": TENCENT_SECRET_KEY,
    "TENCENT_SMS_SDK_APP_ID": "1400654321",
    "TENCENT_SMS_SIGN_NAME": "某某街道",
    "SMS_TEMPLATE_CODES": {"sms_ticket_resolved": "2134567"},  # the order the template declares
    "SMS_TIMEOUT_SECONDS": TIMEOUT,
}


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Overrides the suite's table cleaning: these tests touch no database, so they need no app either."""


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both SDKs honour proxy variables: the stubs are on this machine."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aliyun_stub() -> Iterator[AliyunStub]:
    with AliyunStub(ALIYUN_KEY_ID, ALIYUN_SECRET) as stub:
        yield stub


@pytest.fixture
def tencent_stub() -> Iterator[TencentStub]:
    with TencentStub(TENCENT_SECRET_ID, TENCENT_SECRET_KEY) as stub:
        yield stub


def aliyun_channel(endpoint: str, **overrides: Any) -> AliyunSmsChannel:
    return AliyunSmsChannel.from_config({**ALIYUN_CONFIG, "ALIYUN_SMS_ENDPOINT": endpoint, **overrides})


def tencent_channel(endpoint: str, **overrides: Any) -> TencentSmsChannel:
    return TencentSmsChannel.from_config({**TENCENT_CONFIG, "TENCENT_SMS_ENDPOINT": endpoint, **overrides})


def settings_from_environment(**environ: str) -> dict[str, Any]:
    """What the app reads from these variables (the app's own secrets given, so none is generated on disk)."""
    return load_settings({"SECRET_KEY": "s" * 48, "JWT_SECRET_KEY": "j" * 48, "SMS_TIMEOUT_SECONDS": "1", **environ})


def closed_port_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# Aliyun


def test_aliyun_channel_is_built_from_environment_settings(aliyun_stub: AliyunStub) -> None:
    settings = settings_from_environment(
        SMS_CHANNEL="aliyun",
        ALIYUN_SMS_ACCESS_KEY_ID=ALIYUN_KEY_ID,
        ALIYUN_SMS_ACCESS_KEY_SECRET=ALIYUN_SECRET,
        ALIYUN_SMS_SIGN_NAME="某某街道",
        ALIYUN_SMS_ENDPOINT=aliyun_stub.endpoint,
        SMS_TEMPLATE_CODES='{"sms_ticket_resolved": "SMS_470512345"}',
    )

    channel = create_channel(settings)

    assert channel.name == "aliyun"
    assert channel.send(MESSAGE).outcome is Outcome.SENT


def test_aliyun_sends_phone_template_code_params_and_message_id(aliyun_stub: AliyunStub) -> None:
    result = aliyun_channel(aliyun_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.SENT
    received = aliyun_stub.last()
    assert received.headers["x-acs-action"] == "SendSms"
    assert received.params["PhoneNumbers"] == "13812345678"
    assert received.params["SignName"] == "某某街道"
    assert received.params["TemplateCode"] == "SMS_470512345"
    assert json.loads(received.params["TemplateParam"]) == MESSAGE.params
    assert received.params["OutId"] == MESSAGE.message_id


def test_aliyun_success_gives_the_biz_id(aliyun_stub: AliyunStub) -> None:
    result = aliyun_channel(aliyun_stub.endpoint).send(MESSAGE)

    assert result.provider_id == result.raw["BizId"]
    assert result.provider_id.endswith("^0")
    assert result.error is None


def test_aliyun_sends_only_the_parameters_the_template_names(aliyun_stub: AliyunStub) -> None:
    templates = {"sms_ticket_resolved": {"code": "SMS_470512345", "params": ["no"]}}

    aliyun_channel(aliyun_stub.endpoint, SMS_TEMPLATE_CODES=json.dumps(templates)).send(MESSAGE)

    assert json.loads(aliyun_stub.last().params["TemplateParam"]) == {"no": "GD20261123-0042"}


@pytest.mark.parametrize(
    ("message", "seconds"), [("触发分钟级流控Permits:1", 60.0), ("触发小时级流控Permits:5", 3600.0)]
)
def test_aliyun_throttled_is_retried_after_the_window(aliyun_stub: AliyunStub, message: str, seconds: float) -> None:
    aliyun_stub.answer_code("isv.BUSINESS_LIMIT_CONTROL", message)

    result = aliyun_channel(aliyun_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert result.retry_after_seconds == seconds
    assert result.error.startswith("isv.BUSINESS_LIMIT_CONTROL")


def test_aliyun_api_throttling_is_retried(aliyun_stub: AliyunStub) -> None:
    aliyun_stub.answer_code("Throttling.User", "Request was denied due to user flow control.", status=400)

    assert aliyun_channel(aliyun_stub.endpoint).send(MESSAGE).outcome is Outcome.RETRY


def test_aliyun_invalid_number_is_rejected(aliyun_stub: AliyunStub) -> None:
    aliyun_stub.answer_code("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")

    result = aliyun_channel(aliyun_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error.startswith("isv.MOBILE_NUMBER_ILLEGAL")


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("isv.SMS_TEMPLATE_ILLEGAL", Outcome.REJECTED),
        ("isv.SMS_SIGNATURE_ILLEGAL", Outcome.REJECTED),
        ("isv.TEMPLATE_MISSING_PARAMETERS", Outcome.REJECTED),
        ("isp.RAM_PERMISSION_DENY", Outcome.REJECTED),
        ("isv.DAY_LIMIT_CONTROL", Outcome.RETRY),
        ("isv.AMOUNT_NOT_ENOUGH", Outcome.RETRY),
        ("isp.SYSTEM_ERROR", Outcome.RETRY),
    ],
)
def test_aliyun_business_answers_are_classified(aliyun_stub: AliyunStub, code: str, outcome: Outcome) -> None:
    aliyun_stub.answer_code(code, "refused")

    assert aliyun_channel(aliyun_stub.endpoint).send(MESSAGE).outcome is outcome


def test_aliyun_wrong_secret_is_rejected_by_the_signature_check(aliyun_stub: AliyunStub) -> None:
    result = aliyun_channel(aliyun_stub.endpoint, ALIYUN_SMS_ACCESS_KEY_SECRET="not-the-secret").send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error.startswith("SignatureDoesNotMatch")
    assert "not-the-secret" not in result.error


def test_aliyun_unknown_access_key_is_rejected(aliyun_stub: AliyunStub) -> None:
    result = aliyun_channel(aliyun_stub.endpoint, ALIYUN_SMS_ACCESS_KEY_ID="LTAI5tSomeoneElse").send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error.startswith("InvalidAccessKeyId.NotFound")


def test_aliyun_error_never_carries_a_credential(aliyun_stub: AliyunStub) -> None:
    aliyun_stub.answer_code("isv.INVALID_PARAMETERS", f"bad request from {ALIYUN_KEY_ID} signed with {ALIYUN_SECRET}")

    result = aliyun_channel(aliyun_stub.endpoint).send(MESSAGE)

    assert ALIYUN_SECRET not in result.error
    assert ALIYUN_KEY_ID not in result.error


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, b"<html><body>500 Internal Server Error</body></html>", "text/html"),
        (500, b'{"Code": "InternalError", "Message": "The request processing has failed."}', "application/json"),
        (503, b'{"Code": "ServiceUnavailable", "Message": "The service is unavailable."}', "application/json"),
    ],
)
def test_aliyun_server_error_is_retried(aliyun_stub: AliyunStub, status: int, body: bytes, content_type: str) -> None:
    aliyun_stub.answer_status(status, body, content_type)

    assert aliyun_channel(aliyun_stub.endpoint).send(MESSAGE).outcome is Outcome.RETRY


def test_aliyun_hanging_provider_is_retried_within_the_timeout(aliyun_stub: AliyunStub) -> None:
    aliyun_stub.hang()
    started = time.monotonic()

    result = aliyun_channel(aliyun_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert time.monotonic() - started < TIMEOUT + 1.0  # the timeout, not the stub's 30 s hang limit
    assert "timed out" in result.error


def test_aliyun_unreachable_provider_is_retried() -> None:
    result = aliyun_channel(closed_port_endpoint()).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert "Connection refused" in result.error
    assert MESSAGE.phone not in result.error


def test_aliyun_unconfigured_template_is_rejected_without_a_request(aliyun_stub: AliyunStub) -> None:
    result = aliyun_channel(aliyun_stub.endpoint, SMS_TEMPLATE_CODES={}).send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert "sms_ticket_resolved" in result.error
    assert aliyun_stub.received == []


def test_aliyun_needs_credentials_and_a_sign_name() -> None:
    config = {**ALIYUN_CONFIG, "ALIYUN_SMS_ACCESS_KEY_SECRET": "", "ALIYUN_SMS_SIGN_NAME": ""}

    with pytest.raises(ValueError, match="ALIYUN_SMS_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME") as refused:
        AliyunSmsChannel.from_config(config)
    assert ALIYUN_KEY_ID not in str(refused.value)


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        ("OK", 200, Outcome.SENT),
        ("isv.BUSINESS_LIMIT_CONTROL", 200, Outcome.RETRY),
        ("isv.MOBILE_NUMBER_ILLEGAL", 200, Outcome.REJECTED),
        ("isv.SOMETHING_NEW", 200, Outcome.REJECTED),
        ("isp.GATEWAY_ERROR", 200, Outcome.RETRY),
        ("Throttling.Api", 400, Outcome.RETRY),
        ("SignatureDoesNotMatch", 400, Outcome.REJECTED),
        ("IncompleteSignature", 400, Outcome.REJECTED),
        ("Forbidden.RAM", 403, Outcome.REJECTED),
        ("", 502, Outcome.RETRY),
        ("SomethingNew", 200, Outcome.RETRY),
    ],
)
def test_aliyun_classify(code: str, status: int, outcome: Outcome) -> None:
    assert aliyun.classify(code, status) is outcome


def test_aliyun_daily_throttle_lasts_until_beijing_midnight() -> None:
    half_past_eleven_in_beijing = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)

    seconds = aliyun.retry_after("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", half_past_eleven_in_beijing)

    assert seconds == 1800


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("dysmsapi.aliyuncs.com", ("https", "dysmsapi.aliyuncs.com")),
        ("http://127.0.0.1:8080", ("http", "127.0.0.1:8080")),
        ("https://dysmsapi.aliyuncs.com/", ("https", "dysmsapi.aliyuncs.com")),
    ],
)
def test_a_provider_endpoint_setting_names_protocol_and_host(endpoint: str, expected: tuple[str, str]) -> None:
    assert split_endpoint(endpoint) == expected


# Tencent


def test_tencent_channel_is_built_from_environment_settings(tencent_stub: TencentStub) -> None:
    settings = settings_from_environment(
        SMS_CHANNEL="tencent",
        TENCENT_SMS_SECRET_ID=TENCENT_SECRET_ID,
        TENCENT_SMS_SECRET_KEY=TENCENT_SECRET_KEY,
        TENCENT_SMS_SDK_APP_ID="1400654321",
        TENCENT_SMS_SIGN_NAME="某某街道",
        TENCENT_SMS_ENDPOINT=tencent_stub.endpoint,
        SMS_TEMPLATE_CODES='{"sms_ticket_resolved": "2134567"}',
    )

    channel = create_channel(settings)

    assert channel.name == "tencent"
    assert channel.send(MESSAGE).outcome is Outcome.SENT


def test_tencent_sends_phone_template_params_in_declared_order_and_message_id(tencent_stub: TencentStub) -> None:
    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.SENT
    received = tencent_stub.last()
    assert received.headers["x-tc-action"] == "SendSms"
    assert received.params["PhoneNumberSet"] == ["+8613812345678"]
    assert received.params["SmsSdkAppId"] == "1400654321"
    assert received.params["SignName"] == "某某街道"
    assert received.params["TemplateId"] == "2134567"
    assert received.params["TemplateParamSet"] == ["GD20261123-0042", "已办结", "已清运"]
    assert received.params["SessionContext"] == MESSAGE.message_id


def test_tencent_success_gives_the_serial_number(tencent_stub: TencentStub) -> None:
    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert result.provider_id == result.raw["SerialNo"]
    assert result.provider_id.startswith("2645:")
    assert result.raw["SessionContext"] == MESSAGE.message_id


def test_tencent_template_unknown_to_the_app_takes_no_parameters(tencent_stub: TencentStub) -> None:
    message = OutgoingSms(MESSAGE.message_id, MESSAGE.phone, "sms_custom", {"no": "GD1"}, MESSAGE.text)

    tencent_channel(tencent_stub.endpoint, SMS_TEMPLATE_CODES={"sms_custom": "2999999"}).send(message)

    assert tencent_stub.last().params["TemplateParamSet"] == []


def test_tencent_parameter_order_comes_from_configuration(tencent_stub: TencentStub) -> None:
    templates = {"sms_ticket_resolved": {"code": "2134567", "params": ["status", "no"]}}

    tencent_channel(tencent_stub.endpoint, SMS_TEMPLATE_CODES=json.dumps(templates)).send(MESSAGE)

    assert tencent_stub.last().params["TemplateParamSet"] == ["已办结", "GD20261123-0042"]


@pytest.mark.parametrize(
    ("code", "seconds"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", 30.0),
        ("LimitExceeded.PhoneNumberOneHourLimit", 3600.0),
        ("LimitExceeded.DeliveryFrequencyLimit", None),
    ],
)
def test_tencent_throttled_number_is_retried(tencent_stub: TencentStub, code: str, seconds: float | None) -> None:
    tencent_stub.answer_number_status(code, "单个手机号发送频率超过限制")

    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert result.retry_after_seconds == seconds
    assert result.error.startswith(code)


def test_tencent_daily_limit_is_retried_after_beijing_midnight(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_number_status("LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发条数超过限制")

    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert 0 < result.retry_after_seconds <= 86400


def test_tencent_api_throttling_is_retried(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_error("RequestLimitExceeded", "请求的次数超过了频率限制。")

    assert tencent_channel(tencent_stub.endpoint).send(MESSAGE).outcome is Outcome.RETRY


def test_tencent_invalid_number_is_rejected(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_number_status("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误")

    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error.startswith("InvalidParameterValue.IncorrectPhoneNumber")


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("FailedOperation.TemplateIncorrectOrUnapproved", Outcome.REJECTED),
        ("FailedOperation.SignatureIncorrectOrUnapproved", Outcome.REJECTED),
        ("FailedOperation.PhoneNumberInBlacklist", Outcome.REJECTED),
        ("FailedOperation.InsufficientBalanceInSmsPackage", Outcome.RETRY),
        ("InternalError.Timeout", Outcome.RETRY),
    ],
)
def test_tencent_number_statuses_are_classified(tencent_stub: TencentStub, code: str, outcome: Outcome) -> None:
    tencent_stub.answer_number_status(code, "refused")

    assert tencent_channel(tencent_stub.endpoint).send(MESSAGE).outcome is outcome


def test_tencent_wrong_secret_is_rejected_by_the_signature_check(tencent_stub: TencentStub) -> None:
    result = tencent_channel(tencent_stub.endpoint, TENCENT_SMS_SECRET_KEY="not-the-secret").send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error.startswith("AuthFailure.SignatureFailure")
    assert "not-the-secret" not in result.error


def test_tencent_unknown_secret_id_is_rejected(tencent_stub: TencentStub) -> None:
    result = tencent_channel(tencent_stub.endpoint, TENCENT_SMS_SECRET_ID="AKIDSomeoneElse").send(MESSAGE)

    assert result.outcome is Outcome.REJECTED
    assert result.error.startswith("AuthFailure.SecretIdNotFound")


def test_tencent_error_never_carries_a_credential(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_error("InvalidParameter", f"bad request from {TENCENT_SECRET_ID} with {TENCENT_SECRET_KEY}")

    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert TENCENT_SECRET_KEY not in result.error
    assert TENCENT_SECRET_ID not in result.error


def test_tencent_server_error_is_retried(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_status(500, b"<html><body>500 Internal Server Error</body></html>")

    assert tencent_channel(tencent_stub.endpoint).send(MESSAGE).outcome is Outcome.RETRY


def test_tencent_internal_error_answer_is_retried(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_error("InternalError", "内部错误。")

    assert tencent_channel(tencent_stub.endpoint).send(MESSAGE).outcome is Outcome.RETRY


def test_tencent_answer_without_a_number_status_is_retried(tencent_stub: TencentStub) -> None:
    tencent_stub.answer_status(200, b'{"Response": {"SendStatusSet": [], "RequestId": "r"}}', "application/json")

    assert tencent_channel(tencent_stub.endpoint).send(MESSAGE).outcome is Outcome.RETRY


def test_tencent_hanging_provider_is_retried_within_the_timeout(tencent_stub: TencentStub) -> None:
    tencent_stub.hang()
    started = time.monotonic()

    result = tencent_channel(tencent_stub.endpoint).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert time.monotonic() - started < TIMEOUT + 1.0  # the timeout, not the stub's 30 s hang limit
    assert "timed out" in result.error


def test_tencent_unreachable_provider_is_retried() -> None:
    result = tencent_channel(closed_port_endpoint()).send(MESSAGE)

    assert result.outcome is Outcome.RETRY
    assert "Connection refused" in result.error
    assert MESSAGE.phone not in result.error


def test_tencent_missing_template_parameter_is_rejected_without_a_request(tencent_stub: TencentStub) -> None:
    message = OutgoingSms(MESSAGE.message_id, MESSAGE.phone, MESSAGE.template, {"no": "GD1"}, MESSAGE.text)

    result = tencent_channel(tencent_stub.endpoint).send(message)

    assert result.outcome is Outcome.REJECTED
    assert "status" in result.error
    assert tencent_stub.received == []


def test_tencent_needs_credentials_app_id_and_a_sign_name() -> None:
    config = {key: value for key, value in TENCENT_CONFIG.items() if key != "TENCENT_SMS_SDK_APP_ID"}

    with pytest.raises(ValueError, match="TENCENT_SMS_SDK_APP_ID"):
        TencentSmsChannel.from_config(config)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("+85261234567", "+85261234567"),
    ],
)
def test_tencent_phone_numbers_are_e164(phone: str, expected: str) -> None:
    assert tencent.e164(phone) == expected


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("Ok", Outcome.SENT),
        ("LimitExceeded.PhoneNumberDailyLimit", Outcome.RETRY),
        ("RequestLimitExceeded.UinLimitExceeded", Outcome.RETRY),
        ("ClientNetworkError", Outcome.RETRY),
        ("ServerNetworkError", Outcome.RETRY),
        ("InvalidParameterValue.IncorrectPhoneNumber", Outcome.REJECTED),
        ("AuthFailure.SignatureExpire", Outcome.REJECTED),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", Outcome.REJECTED),
        ("FailedOperation.TemplateIncorrectOrUnapproved", Outcome.REJECTED),
        ("SomethingNew", Outcome.RETRY),
    ],
)
def test_tencent_classify(code: str, outcome: Outcome) -> None:
    assert tencent.classify(code) is outcome
