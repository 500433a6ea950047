"""Residents' personal data: who reads a resident's phone number in full, and what everyone else sees of it.

Pure rules, no Flask and no database. Only whoever handles a resident's matter reads their number in full;
anyone else sees it masked. A supervisor who needs the number asks for it, and the ticket context logs each
such read (`PersonalDataRead`).
"""


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough to recognise, not enough to call."""
    if not phone:
        return phone
    digits = phone[-11:] if len(phone) >= 11 else phone
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def reads_phone_in_full(reader_id: int, handler_id: int | None) -> bool:
    """Whether this reader is the one handling the matter (a ticket's assignee), who may call the resident."""
    return handler_id is not None and handler_id == reader_id


def phone_as_seen(phone: str | None, reader_id: int, handler_id: int | None) -> str | None:
    """The resident's number as this reader sees it: in full for its handler, masked for anyone else."""
    return phone if reads_phone_in_full(reader_id, handler_id) else mask_phone(phone)
