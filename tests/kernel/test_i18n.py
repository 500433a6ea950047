"""Messages people read: Chinese by default, English on request (`Accept-Language`), from the gettext catalogue."""

import re
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kernel import names
from kernel.config import ROOT
from kernel.extensions import db
from kernel.i18n import TRANSLATIONS_DIR
from notifications.outbox.models import Medium, Notification
from notifications.outbox.service import text_of
from party.activities.models import ActivityStatus
from party.checkins.models import CheckInStatus
from party.checkins.service import REFUSALS as CHECK_IN_REFUSALS
from party.points.models import DisputeStatus
from tasks.lifecycle import ACTION_NAMES, PARTY_NAMES, REFUSALS, Action, Party, Status
from tests.support.http import assert_error

CATALOGUE = TRANSLATIONS_DIR / "zh" / "LC_MESSAGES" / "messages.po"
# The keywords `make messages` extracts (Makefile BABEL_KEYWORDS), besides gettext's own.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "N_": None}
GRAMMAR_BUGS = ("resolveed", "urgeed", "canceled", "in_progress")


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    """A client that sends no Accept-Language, unlike the suite's English one: what a Chinese user's app sends."""
    return FlaskClient(app, app.response_class, use_cookies=True)


def wrong_login(client: FlaskClient, language: str | None) -> dict[str, Any]:
    headers = {"Accept-Language": language} if language is not None else {}
    response = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong"}, headers=headers)
    return assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("language", [None, "zh-CN", "zh", "zh-CN,zh;q=0.9,en;q=0.8", "fr"])
def test_an_error_is_in_chinese_by_default_and_when_asked(browser, language):
    assert wrong_login(browser, language)["message"] == "用户名或密码错误。"


@pytest.mark.parametrize("language", ["en", "en-US,en;q=0.9", "en-GB", "fr;q=0.9,en;q=0.8"])
def test_an_error_is_in_english_when_asked(browser, language):
    error = wrong_login(browser, language)
    assert error["message"] == "Wrong username or password." and error["code"] == "unauthorized"


def test_validation_details_are_in_chinese_and_keyed_by_the_english_field_names(browser, make_account, auth):
    response = browser.post("/api/v1/auth/login", json={"password": 5, "role": "admin"})
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == "请求无效。"
    assert error["details"] == {
        "username": ["缺少必填字段。"],
        "password": ["不是有效的字符串。"],
        "role": ["未知字段。"],
    }
    admin = make_account("admin")
    paged = assert_error(browser.get("/api/v1/users?limit=0", headers=auth(admin)), 422, "validation_error")
    assert paged["details"] == {"limit": ["须大于或等于 1 且小于或等于 100。"]}


def test_validation_details_are_in_english_when_asked(browser):
    headers = {"Accept-Language": "en"}
    error = assert_error(
        browser.post("/api/v1/auth/login", json={"password": "x"}, headers=headers), 422, "validation_error"
    )
    assert error["details"] == {"username": ["Missing data for required field."]}


def test_our_own_validators_speak_chinese_too(browser, make_account, auth):
    admin = make_account("admin")
    body = {"username": "x y", "password": "123", "role": "worker"}
    error = assert_error(browser.post("/api/v1/users", json=body, headers=auth(admin)), 422, "validation_error")
    assert error["details"]["username"] == ["3 至 64 个字母、数字、“_”、“.”或“-”"]


def test_a_token_error_is_in_chinese(browser):
    error = assert_error(browser.get("/api/v1/users"), 401, "unauthorized")
    assert error["message"] == "需要身份认证：请发送 Bearer 令牌。"
    english = assert_error(browser.get("/api/v1/users", headers={"Accept-Language": "en"}), 401, "unauthorized")
    assert english["message"] == "Authentication required: send a bearer token."


def test_an_unknown_path_is_answered_in_a_sentence_not_werkzeugs_paragraph(browser):
    assert assert_error(browser.get("/api/v1/nowhere"), 404, "not_found")["message"] == "该地址不存在。"


def test_a_refused_ticket_action_names_the_status_in_words(world):
    ticket = world.ticket()
    headers = {**world.headers["supervisor"], "Accept-Language": "zh-CN"}
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/close", json={}, headers=headers)
    error = assert_error(response, 409, "invalid_transition")
    assert error["message"] == "待派单的工单不能关闭。"
    assert error["details"]["status"] == "pending"  # values stay English: clients branch on them
    english = world.act("supervisor", ticket, "close", status=409)["error"]
    assert english["message"] == "A ticket that is awaiting dispatch cannot be closed."


def test_every_ticket_refusal_in_english_is_a_whole_sentence_without_the_old_grammar_bugs(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        texts = [
            str(REFUSALS[action]) % {"status": names.ticket_status(status)} for action in Action for status in Status
        ]
        texts += [
            str(text) % {"status": names.name_of(names.CHECK_IN_STATUSES, "ended")}
            for text in CHECK_IN_REFUSALS.values()
        ]
    for text in texts:
        assert not any(bug in text for bug in GRAMMAR_BUGS), text
        assert re.fullmatch(r"A (ticket|check-in) that is [a-z ]+ (cannot|has no) [a-z ]+\.", text), text


def test_urging_and_resolving_in_the_wrong_status_read_well_in_english(world):
    closed = world.resolved()
    world.act("supervisor", closed, "close")
    for action, sentence, body in (
        ("urge", "cannot be urged", {"note": "x"}),
        ("resolve", "cannot be resolved", {"note": "x"}),
        ("cancel", "cannot be cancelled", {"reason": "x"}),
    ):
        error = world.act("supervisor", closed, action, status=409, **body)["error"]
        assert error["message"] == f"A ticket that is closed {sentence}."
        assert not any(bug in error["message"] for bug in GRAMMAR_BUGS)


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (names.TICKET_STATUSES, Status),
        (names.RESIDENT_STATUSES, Status),
        (names.CHECK_IN_STATUSES, CheckInStatus),
        (names.ACTIVITY_STATUSES, ActivityStatus),
        (names.DISPUTE_STATUSES, DisputeStatus),
        (ACTION_NAMES, Action),
        (REFUSALS, Action),
        (PARTY_NAMES, Party),
    ],
)
def test_each_names_table_covers_its_enum(table, values):
    assert set(table) == {value.value for value in values}


def test_the_ticket_statuses_have_their_chinese_names(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        shown = {status: names.ticket_status(status) for status in Status}
    assert shown["pending"] == "待派单" and shown["assigned"] == "已派单" and shown["in_progress"] == "办理中"
    assert shown["resolved"] == "已办结" and shown["closed"] == "已关闭" and shown["cancelled"] == "已撤销"
    assert len(set(shown.values())) == len(shown)  # no two statuses read alike


def _catalogue() -> dict[str, Any]:
    with CATALOGUE.open("rb") as source:
        return {message.id: message for message in read_po(source) if message.id}


def _msgids_in_the_code() -> set[str]:
    """What `make messages` extracts (babel.cfg, the same keywords), straight from the source tree."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.update(message if isinstance(message, tuple) else (message,))
    return {msgid for msgid in found if msgid}


def test_every_message_in_the_code_has_its_chinese():
    catalogue = _catalogue()
    missing = sorted(
        msgid
        for msgid in _msgids_in_the_code()
        if msgid not in catalogue or not catalogue[msgid].string or catalogue[msgid].fuzzy
    )
    assert not missing, "no Chinese (run `make messages`, translate, commit the .po):\n" + "\n".join(missing)


def test_no_message_id_carries_the_old_grammar_bugs():
    assert not [msgid for msgid in _msgids_in_the_code() if any(bug in msgid for bug in GRAMMAR_BUGS)]


def test_each_translation_keeps_its_placeholders():
    placeholder = re.compile(r"%\(\w+\)s|\{\w+\}")
    broken = [
        msgid
        for msgid, message in _catalogue().items()
        if sorted(placeholder.findall(msgid)) != sorted(placeholder.findall(message.string))
    ]
    assert not broken


def test_residents_sms_stay_chinese_whatever_the_staff_asks(world, app):
    ticket = world.ticket()  # filed by a worker whose app asks for English (the suite's client)
    with app.app_context():
        sms = db.session.scalars(select(Notification).where(Notification.medium == Medium.SMS)).all()
        texts = [text_of(notification) for notification in sms]
    assert texts == [f"您反映的问题已受理，工单号{ticket['no']}，当前状态：已受理。办理进展将短信告知。"]


def test_the_docs_page_opens_with_a_chinese_introduction(client):
    description = client.get("/api/v1/openapi.json").get_json()["info"]["description"]
    assert description.startswith("网格化社会治理平台接口")
    for told in ("POST /api/v1/auth/login", "Authorize", "Bearer", '"error": {"code"', "Accept-Language: en"):
        assert told in description
