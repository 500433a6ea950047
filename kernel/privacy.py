"""Residents' personal data: who reads a resident's phone number in full, and what everyone else sees of it.

Pure rules, no Flask and no database. Only whoever handles a resident's matter reads their number in full;
anyone else sees it masked. A supervisor who needs the number asks for it, and the ticket context logs each
such read (`PersonalDataRead`).
"""

import re

import phonenumbers

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def mask_phone(phone: str | None) -> str | None:
    """138****5678, or a landline with its area code 0571-****4321: enough to recognise, not enough to call."""
    if not phone:
        return phone
    landline = _landline_area_code(phone)
    if landline is not None:
        return f"0{landline}-****{phone[-4:]}"
    digits = phone[-11:] if len(phone) >= 11 else phone
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def _landline_area_code(phone: str) -> str | None:
    """The area code (without its 0) of a Chinese landline stored as its national number (57187654321)."""
    if not phone.isdigit() or MOBILE.match(phone):  # mobiles: 1[3-9] and 11 digits (Beijing's 010 is a landline)
        return None
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return None
    area = phonenumbers.length_of_national_destination_code(number)
    return phone[:area] if area and phonenumbers.is_valid_number(number) else None


def reads_phone_in_full(reader_id: int, handler_id: int | None) -> bool:
    """Whether this reader is the one handling the matter (a ticket's assignee), who may call the resident."""
    return handler_id is not None and handler_id == reader_id


def phone_as_seen(phone: str | None, reader_id: int, handler_id: int | None) -> str | None:
    """The resident's number as this reader sees it: in full for its handler, masked for anyone else."""
    return phone if reads_phone_in_full(reader_id, handler_id) else mask_phone(phone)
