"""Messages people read: Simplified Chinese by default, English when the client asks (`Accept-Language: en`).

A message id is the English text, wrapped where it is written: `_("No such grid unit.")` inside a request,
`_l(...)` for a text defined at import time. Its Chinese lives in `translations/zh/LC_MESSAGES/messages.po`
(gettext, through Flask-Babel), compiled to `.mo` by `make run` and `make test`. With no catalogue compiled, or in
English, the id itself is answered. Error codes, field names and enum values are never translated: clients branch
on them.
"""

from functools import cache

from babel.support import NullTranslations, Translations
from flask import Flask, Response, has_request_context, request
from flask_babel import Babel, gettext, lazy_gettext, ngettext

from kernel.config import ROOT

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
TRANSLATIONS_DIR = ROOT / "translations"

_ = gettext
_l = lazy_gettext
__all__ = ["N_", "_", "_l", "current_locale", "in_chinese", "install", "ngettext"]


def N_(msgid: str) -> str:
    """Marks a text for the catalogue without translating it: whoever shows it translates it then (`_(msgid)`)."""
    return msgid


def in_chinese(msgid: str) -> str:
    """The Chinese of a message whoever asks, in or out of a request: what residents' SMS and staff's inbox say."""
    return _chinese_catalogue().gettext(msgid)


@cache
def _chinese_catalogue() -> NullTranslations:
    return Translations.load(str(TRANSLATIONS_DIR), [DEFAULT_LOCALE])


def current_locale() -> str:
    """The caller's language: `en` only when asked for before Chinese; Chinese otherwise (and outside requests)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return request.accept_languages.best_match(LOCALES, default=DEFAULT_LOCALE) or DEFAULT_LOCALE


def install(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=current_locale)
    app.after_request(_vary_by_language)


def _vary_by_language(response: Response) -> Response:
    """What a response says depends on Accept-Language: a cache must not hand one language's answer to another.
    Most responses carry no Vary yet: the header is then written as it is, without parsing a header set."""
    if any(key.lower() == "vary" for key, _value in response.headers):
        response.vary.add("Accept-Language")
    else:
        response.headers.add("Vary", "Accept-Language")
    return response
