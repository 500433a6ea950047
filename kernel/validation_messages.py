"""marshmallow's and webargs' own validation messages, in the caller's language.

Those libraries write their fixed English texts into the 422's details (`"Missing data for required field."`,
`"Must be greater than or equal to 1 and less than or equal to 100."`). Each template below is their text with the
library's placeholders; `localize` recognises a rendered text by its template and renders our catalogue's
translation with the same values. Texts we write ourselves are translated where they are written, not here.
"""

import re
from collections.abc import Mapping
from typing import Any

from kernel.i18n import N_, _

_TEMPLATES: tuple[str, ...] = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid input."),
    N_("Invalid input type."),
    N_("Invalid type."),
    N_("Invalid value."),
    N_("Unknown field."),
    N_("Invalid JSON body."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Not a valid boolean."),
    N_("Not a valid list."),
    N_("Not a valid tuple."),
    N_("Not a valid mapping type."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid time."),
    N_("Not a valid aware datetime."),
    N_("Not a valid naive datetime."),
    N_("Not a valid period of time."),
    N_("Not a valid email address."),
    N_("Not a valid URL."),
    N_("Not a valid UUID."),
    N_("Not a valid IP address."),
    N_("Not a valid IPv4 address."),
    N_("Not a valid IPv6 address."),
    N_("Not a valid id."),
    N_("Not a valid time with an offset (Z or +08:00)."),
    N_("Not a valid mainland China mobile number."),
    N_("Not a valid mainland China phone number."),
    N_("Given more than once; it takes one value."),
    N_("Not a number of hours."),
    N_("More than 0 and at most 24."),
    N_("At most two decimals."),
    N_("contains a NUL character or invalid Unicode"),
    N_("Not a valid enum."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    N_("String does not match expected pattern."),
    N_("Must be one of: %(choices)s."),
    N_("Must be equal to %(other)s."),
    N_("Length must be between %(min)s and %(max)s."),
    N_("Length must be %(equal)s."),
    N_("Shorter than minimum length %(min)s."),
    N_("Longer than maximum length %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than %(min)s and less than %(max)s."),
    N_("Must be greater than or equal to %(min)s."),
    N_("Must be greater than %(min)s."),
    N_("Must be less than or equal to %(max)s."),
    N_("Must be less than %(max)s."),
    N_("One or more of the choices you made was not in: %(choices)s."),
    N_('"%(input)s" cannot be formatted as a date.'),
    N_('"%(input)s" cannot be formatted as a datetime.'),
    N_('"%(input)s" cannot be formatted as a time.'),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(msgid: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(msgid)  # literal, name, literal, name, ..., literal
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex, re.DOTALL)


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((_pattern(template), template) for template in _TEMPLATES)


def localize_text(text: str) -> str:
    """A library's English validation text in the caller's language; any other text unchanged."""
    for pattern, template in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            return _(template, **match.groupdict())
    return text


def localize(details: Any) -> Any:
    """The same structure (field names untouched) with every library text translated."""
    if isinstance(details, str):
        return localize_text(details)
    if isinstance(details, Mapping):
        return {key: localize(value) for key, value in details.items()}
    if isinstance(details, list | tuple):
        return [localize(item) for item in details]
    return details
