"""Ratings residents are asked for by SMS about what one of their tickets led to (a need's done project: 评单).

A higher context owes the asking SMS itself (a template of its own, about the ticket, through the outbox) and
installs here, under that template's name, what applies the reply (`bootstrap.provide`): the SMS replies service
finds the asks that reached a phone within the reply window in the outbox, and hands the digit to the installed
`AskedRating`. Hooks know no party rule; the party layer knows no SMS format.
"""

from collections.abc import Mapping
from typing import Protocol

from flask import Flask, current_app

ASKS_EXTENSION = "sms_rating_asks"


class AskedRating(Protocol):
    """What a resident's reply to an ask rates, as the context that asked applies it."""

    def rate(self, ticket_id: int, rating: int, *, reply_id: int) -> str | None:
        """Apply the resident's rating 1–5 given about the ticket; None once applied, otherwise why nothing
        changed (the reply is then kept as ignored with that reason)."""


def install_ask(app: Flask, template: str, asked: AskedRating) -> None:
    app.extensions.setdefault(ASKS_EXTENSION, {})[template] = asked


def installed_asks() -> Mapping[str, AskedRating]:
    """The asks installed, by template name (none in an app built without the party layer)."""
    asks: Mapping[str, AskedRating] = current_app.extensions.get(ASKS_EXTENSION, {})
    return asks
