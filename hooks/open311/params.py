"""Open311's parameters, read from the query or the form as the spec has them: every optional parameter that is
empty means the same as an absent one; anything malformed is a 400 naming the parameter."""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from hooks.open311.models import MEDIA_URL_MAX_LENGTH, UPDATE_ID_MAX_LENGTH
from hooks.open311.service import Comment, RequestQuery, Submission
from kernel.errors import BadRequestError
from kernel.i18n import _

DESCRIPTION_MAX_LENGTH: Final = 4000
ADDRESS_MAX_LENGTH: Final = 200
SHORT_MAX_LENGTH: Final = 255
MAX_LIST_ITEMS: Final = 100
ID_PATTERN: Final = re.compile(r"^[0-9]{1,18}$")
STATUS_PATTERN: Final = re.compile(r"^(open|closed)$")
# A date and time with its offset (the w3c profile of ISO 8601 the spec asks for), or nothing.
W3C_TIME: Final = (
    r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
# attribute[CODE]=v, or attribute[CODE][]=v1&attribute[CODE][]=v2 for a multivaluelist
ATTRIBUTE: Final = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
# What the fingerprint of a submission leaves out: the key (the integration is in it already).
UNFINGERPRINTED: Final = frozenset({"api_key"})


def submission(form: MultiDict[str, str]) -> Submission:
    """A POST /requests form."""
    return Submission(
        service_code=_value(form, "service_code"),
        lat=number(_value(form, "lat"), "lat", -90, 90),
        long=number(_value(form, "long"), "long", -180, 180),
        address_string=text(_value(form, "address_string"), "address_string", ADDRESS_MAX_LENGTH),
        address_id=text(_value(form, "address_id"), "address_id", 64),
        attributes=attributes(form),
        description=text(_value(form, "description"), "description", DESCRIPTION_MAX_LENGTH),
        first_name=text(_value(form, "first_name"), "first_name", SHORT_MAX_LENGTH),
        last_name=text(_value(form, "last_name"), "last_name", SHORT_MAX_LENGTH),
        phone=text(_value(form, "phone"), "phone", SHORT_MAX_LENGTH),
        device_id=text(_value(form, "device_id"), "device_id", SHORT_MAX_LENGTH),
        media_url=url(_value(form, "media_url"), "media_url"),
        fingerprint_source=tuple(sorted((k, v) for k, v in form.items(multi=True) if k not in UNFINGERPRINTED)),
    )


def attributes(form: MultiDict[str, str]) -> dict[str, Any]:
    """The `attribute[CODE]` answers: a list where the form marks the code `[]` or repeats it."""
    collected: dict[str, list[str]] = {}
    listed: set[str] = set()
    for key, value in form.items(multi=True):
        match = ATTRIBUTE.fullmatch(key)
        if match is None or value == "":
            continue
        collected.setdefault(match.group(1), []).append(value)
        if match.group(2):
            listed.add(match.group(1))
    return {code: values if code in listed or len(values) > 1 else values[0] for code, values in collected.items()}


def request_query(args: Mapping[str, str]) -> RequestQuery:
    """GET /requests: `service_request_id` (overrides the rest), `service_code`, the dates, `status`."""
    ids = comma_list(args.get("service_request_id"), "service_request_id", ID_PATTERN)
    return RequestQuery(
        ids=[int(item) for item in ids] if ids is not None else None,
        service_codes=comma_list(text(args.get("service_code"), "service_code", 2000), "service_code"),
        start=when(args.get("start_date"), "start_date"),
        end=when(args.get("end_date"), "end_date"),
        statuses=comma_list(args.get("status"), "status", STATUS_PATTERN),
    )


def comment(form: MultiDict[str, str]) -> Comment:
    """A POST /servicerequestupdates form."""
    status = _value(form, "status")
    return Comment(
        service_request_id=text(_value(form, "service_request_id"), "service_request_id", SHORT_MAX_LENGTH),
        update_id=text(_value(form, "update_id"), "update_id", UPDATE_ID_MAX_LENGTH),
        status=status.upper() if status else None,
        description=text(_value(form, "description"), "description", DESCRIPTION_MAX_LENGTH),
        media_url=url(_value(form, "media_url"), "media_url"),
        updated_datetime=when(_value(form, "updated_datetime"), "updated_datetime"),
    )


def _value(form: MultiDict[str, str], name: str) -> str | None:
    return form.get(name) or None


def text(value: str | None, name: str, max_length: int) -> str | None:
    """An optional text parameter: empty is absent; too long is 400."""
    if not value:
        return None
    if len(value) > max_length or "\x00" in value:
        raise BadRequestError(
            _("%(name)s is longer than %(max_length)s characters.", name=name, max_length=max_length),
            {name: [_("at most %(max_length)s", max_length=max_length)]},
        )
    return value


def number(value: str | None, name: str, low: float, high: float) -> float | None:
    if not value:
        return None
    try:
        parsed = float(value)
    except ValueError:
        parsed = float("nan")
    if not low <= parsed <= high:  # also refuses nan
        raise BadRequestError(
            _(
                "%(name)s must be a number from %(low)s to %(high)s.",
                name=name,
                low=format(low, "g"),
                high=format(high, "g"),
            ),
            {name: [_("not a valid number")]},
        )
    return parsed


def when(value: str | None, name: str) -> datetime | None:
    """A w3c date and time with its offset (2010-01-01T00:00:00Z); empty is absent."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00")) if re.fullmatch(W3C_TIME, value) else None
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequestError(
            _("%(name)s must be a date and time with an offset, e.g. 2010-01-01T00:00:00Z.", name=name),
            {name: [_("not a w3c time")]},
        )
    return moment


def comma_list(value: str | None, name: str, pattern: re.Pattern[str] | None = None) -> list[str] | None:
    """A comma-separated list; empty is absent."""
    if not value:
        return None
    items = value.split(",")
    if len(items) > MAX_LIST_ITEMS or not all(items) or not all(pattern is None or pattern.fullmatch(i) for i in items):
        raise BadRequestError(_("%(name)s is not a valid comma-separated list.", name=name), {name: [_("not valid")]})
    return items


def url(value: str | None, name: str) -> str | None:
    value = text(value, name, MEDIA_URL_MAX_LENGTH)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise BadRequestError(_("%(name)s must be an http or https URL.", name=name), {name: [_("not an http(s) URL")]})
    return value
