"""A category's extra questions (attributes): what an admin may ask residents beyond the description, and how an
answer is checked at intake. The datatypes are Open311 GeoReport v2's, so a service definition is these as they are.

Pure rules, no Flask and no database: the definitions are a list of plain dicts stored on the category (JSON),
the answers a dict by question code stored on the resident request.
"""

import enum
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from kernel.i18n import _

CODE_PATTERN: Final = r"^[A-Za-z0-9_]{1,32}$"
MAX_ATTRIBUTES: Final = 30
MAX_VALUES: Final = 100
STRING_MAX_LENGTH: Final = 200
TEXT_MAX_LENGTH: Final = 4000


class Datatype(enum.StrEnum):
    STRING = "string"  # one line
    NUMBER = "number"
    DATETIME = "datetime"  # ISO 8601 with an offset
    TEXT = "text"  # may hold line breaks
    SINGLEVALUELIST = "singlevaluelist"  # one key of `values`
    MULTIVALUELIST = "multivaluelist"  # one or more keys of `values`


LISTS: Final = frozenset({Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST})


class AnswerError(ValueError):
    """Answers that do not fit the questions: messages by question code."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{code}: {', '.join(messages)}" for code, messages in errors.items()))
        self.errors = dict(errors)


def numbered(attributes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Definitions as stored: each with its `order` (its position, 1-based, when not given), sorted by it."""
    stored = [
        {**attribute, "order": attribute.get("order") or position} for position, attribute in enumerate(attributes, 1)
    ]
    return sorted(stored, key=lambda attribute: attribute["order"])


def definition_problems(attributes: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with a list of definitions as a whole (each one is checked by the schema)."""
    problems = []
    codes = [attribute["code"] for attribute in attributes]
    if len(set(codes)) != len(codes):
        problems.append(_("question codes must be unique"))
    orders = [attribute["order"] for attribute in numbered(attributes)]
    if len(set(orders)) != len(orders):
        problems.append(_("orders must be unique"))
    return problems


def clean_answers(attributes: Sequence[Mapping[str, Any]], answers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The answers as stored (numbers as numbers, times in UTC, lists as lists of keys); AnswerError names each
    unknown question, missing required answer and answer that does not fit its datatype."""
    answers = dict(answers or {})
    questions = {attribute["code"]: attribute for attribute in attributes if attribute.get("variable", True)}
    errors: dict[str, list[str]] = {}
    for code in answers:
        if code not in questions:
            errors[code] = [_("no such question for this category")]
    cleaned: dict[str, Any] = {}
    for code, question in questions.items():
        value = answers.get(code)
        if _is_empty(value):
            if question.get("required"):
                errors[code] = [_("an answer is required")]
            continue
        try:
            cleaned[code] = _clean(question, value)
        except ValueError as error:
            errors[code] = [str(error)]
    if errors:
        raise AnswerError(errors)
    return cleaned


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _clean(question: Mapping[str, Any], value: Any) -> Any:
    datatype = Datatype(question["datatype"])
    if datatype is Datatype.NUMBER:
        return _number(value)
    if datatype is Datatype.DATETIME:
        return _datetime(value)
    if datatype in LISTS:
        keys = {item["key"] for item in question.get("values") or []}
        chosen = value if isinstance(value, list) else [value]
        if datatype is Datatype.SINGLEVALUELIST and len(chosen) != 1:
            raise ValueError(_("exactly one value"))
        if not all(isinstance(key, str) and key in keys for key in chosen):
            raise ValueError(_("one of: %(keys)s", keys=", ".join(sorted(keys))))
        return chosen[0] if datatype is Datatype.SINGLEVALUELIST else list(dict.fromkeys(chosen))
    if not isinstance(value, str):
        raise ValueError(_("text expected"))
    if datatype is Datatype.STRING and ("\n" in value or "\r" in value or len(value) > STRING_MAX_LENGTH):
        raise ValueError(_("one line of at most %(count)s characters", count=STRING_MAX_LENGTH))
    if len(value) > TEXT_MAX_LENGTH:
        raise ValueError(_("at most %(count)s characters", count=TEXT_MAX_LENGTH))
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(_("a number expected"))
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise ValueError(_("a number expected")) from None
    if not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(_("a number expected"))
    return value


def _datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(_("a date and time expected"))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(_("an ISO 8601 date and time with an offset expected")) from None
    if moment.tzinfo is None:
        raise ValueError(_("an ISO 8601 date and time with an offset expected"))
    try:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except OverflowError:  # year 1 at +05:00 has no UTC time
        raise ValueError(_("a date and time within range expected")) from None
