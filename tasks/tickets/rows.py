"""Tickets read as plain rows, for the reads that only show them: one ticket's GET and the rendering of a page.

Loading a ticket as an entity with its unit, first unit, category and assignee joined (`visibility.TICKET_LOAD`)
put five mappers' loading machinery into every read of one ticket, for an object the read never changes. The same
columns read by one Core statement, built once from the tables and run on the session's connection, cost less
(docs/PERFORMANCE.md, "Third pass: the reads"). A `TicketRow` answers the attributes a `Ticket` answers to the
rules that only read one (`visibility.can_see`, `allowed_actions`, `views.view_of`, `schemas.ticket_document`).
Actions read the same row, with the category's rules, into an entity of the session (`find_ticket_to_change`).
tests/tasks/test_ticket_documents.py holds the readings equal.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, select

from auth.models import Account
from grid.models import GridUnit
from grid.service import UnitBrief
from kernel import entities
from kernel.extensions import db
from kernel.principals import Role
from kernel.token_reads import ReadWithTheToken
from tasks.categories.models import Category
from tasks.tickets.models import Ticket


@dataclass(frozen=True, slots=True)
class CategoryRow:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CategoryRules:
    """A ticket's category as its changes read it: the name, the clocks' windows, whether a suspension waits."""

    code: str
    name: str
    accept_minutes: int
    resolve_hours: int
    accept_working_hours: int | None
    resolve_working_days: int | None
    suspend_needs_approval: bool


@dataclass(frozen=True, slots=True)
class AssigneeRow:
    id: int
    display_name: str
    role: Role
    party_member: bool


class TicketRow:
    """A ticket's columns as attributes, its unit, first unit, category and assignee as rows, and the model's
    read-only properties and methods: what the read rules ask of a `Ticket`."""

    is_open = Ticket.is_open
    resolved_on_spot = Ticket.resolved_on_spot
    warned_at = Ticket.warned_at
    overdue_at = Ticket.overdue_at

    def __init__(self, row: Sequence[Any]) -> None:
        # Copied into the instance's dict at once: a document reads some forty columns, and reading each from the
        # row by name cost more than the entity's attributes did (docs/PERFORMANCE.md, "Third pass: the reads").
        self.__dict__.update(zip(_TICKET_KEYS, row, strict=False))
        self.grid = UnitBrief(*row[_GRID])
        self.first_unit = UnitBrief(*row[_FIRST_UNIT])
        self.category = CategoryRow(self.category_code, row[_CATEGORY_NAME])
        self.assignee = None if row[_ASSIGNEE.start] is None else AssigneeRow(*row[_ASSIGNEE])


_tickets, _units, _categories = Ticket.__table__, GridUnit.__table__, Category.__table__
_grid, _first_unit, _assignee = _units.alias("grid"), _units.alias("first_unit"), Account.__table__.alias("assignee")
_UNIT = ("id", "code", "name", "level", "parent_id", "path")
# The ticket's columns first (under their own names), then each related row's, labelled apart, in the order of the
# slices below.
_COLUMNS = (
    *_tickets.c,
    *(_grid.c[name].label(f"grid__{name}") for name in _UNIT),
    *(_first_unit.c[name].label(f"first_unit__{name}") for name in _UNIT),
    _categories.c.name.label("category__name"),
    *(_assignee.c[name].label(f"assignee__{name}") for name in ("id", "display_name", "role", "party_member")),
)
_TICKET_KEYS = tuple(column.key for column in _tickets.c)
_start = len(_TICKET_KEYS)
_GRID = slice(_start, _start + 6)
_FIRST_UNIT = slice(_start + 6, _start + 12)
_CATEGORY_NAME = _start + 12
_ASSIGNEE = slice(_start + 13, _start + 17)
_FROM = (
    _tickets.join(_grid, _grid.c.id == _tickets.c.grid_id)
    .join(_first_unit, _first_unit.c.id == _tickets.c.origin_grid_id)
    .join(_categories, _categories.c.code == _tickets.c.category_code)
    .outerjoin(_assignee, _assignee.c.id == _tickets.c.assignee_id)
)
TICKET_ROW = select(*_COLUMNS).select_from(_FROM).where(_tickets.c.id == bindparam("ticket_id"))
# One ticket's GET reads it with the token check (`ticket_read_with_the_token` marks the view): one round trip.
ticket_read_with_the_token = ReadWithTheToken(TICKET_ROW, "ticket_id")
TICKET_ROWS = select(*_COLUMNS).select_from(_FROM).where(_tickets.c.id.in_(bindparam("ticket_ids", expanding=True)))


# A ticket to change: the same columns and related rows, and the rest of its category's rules.
_RULES = tuple(rule.name for rule in fields(CategoryRules))[2:]  # after its code and name
# An action reads it with the token check too (`ticket_to_change_read_with_the_token` marks the action views).
ticket_to_change_read_with_the_token = ReadWithTheToken(
    select(*_COLUMNS, *(_categories.c[name].label(f"category__{name}") for name in _RULES))
    .select_from(_FROM)
    .where(_tickets.c.id == bindparam("ticket_id")),
    "ticket_id",
)
_RULES_START = _ASSIGNEE.stop
_TICKETS = Ticket.__mapper__
_ATTRIBUTES = tuple(_TICKETS.get_property_by_column(column).key for column in _tickets.c)


def find_ticket_to_change(ticket_id: int) -> Ticket | None:
    """The ticket as an entity of the session, read by one compiled select instead of the ORM's loading.

    Its unit, first unit, category and assignee are plain rows (`UnitBrief`, `CategoryRules`, `AssigneeRow`),
    set as the relationships' loaded values: the rules, the document and the subscribers of its changes only read
    them, and an action that moves the ticket sets an entity in their place as before. The entity is the session's
    like a loaded one (its changes tracked, written by `kernel.records` at commit); one the session holds already
    is returned as it is. Loading five mappers' rows through the ORM was a fifth of an action's time
    (docs/PERFORMANCE.md, "Seventh pass")."""
    key = _TICKETS.identity_key_from_primary_key((ticket_id,))
    held = db.session.identity_map.get(key)
    if held is not None:
        return held  # type: ignore[no-any-return]
    row = ticket_to_change_read_with_the_token.row(ticket_id)
    if row is None:
        return None
    ticket: Ticket = _TICKETS.class_manager.new_instance()
    values = ticket.__dict__
    values.update(zip(_ATTRIBUTES, row, strict=False))
    values["grid"] = UnitBrief(*row[_GRID])
    values["first_unit"] = UnitBrief(*row[_FIRST_UNIT])
    values["category"] = CategoryRules(values["category_code"], row[_CATEGORY_NAME], *row[_RULES_START:])
    values["assignee"] = None if row[_ASSIGNEE.start] is None else AssigneeRow(*row[_ASSIGNEE])
    return entities.adopt(ticket)


def find_ticket_row(ticket_id: int) -> TicketRow | None:
    row = ticket_read_with_the_token.row(ticket_id)
    return None if row is None else TicketRow(row)


def ticket_rows(ticket_ids: Sequence[int]) -> list[TicketRow]:
    """These tickets, in no particular order (ids that do not exist left out)."""
    return [TicketRow(row) for row in db.session.connection().execute(TICKET_ROWS, {"ticket_ids": list(ticket_ids)})]
