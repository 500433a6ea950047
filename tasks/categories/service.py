"""Categories and their SLA: the default tree, and the rules for reading and editing it.

The tree's rules: a code is permanent (tickets and history refer to it) and nothing is deleted
(deactivate instead); a parent must exist and a move may not make a cycle; an active category sits
under an active parent, so a whole branch is deactivated leaves first and reactivated root first.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, or_, select

from kernel import entities
from kernel.errors import ConflictError, NotFoundError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, paginate
from tasks.categories.attributes import AnswerError, clean_answers, numbered
from tasks.categories.models import Category, Priority

# Upper-case parts joined by dots, a child usually extending its parent's code (CITY.GARBAGE).
CODE_PATTERN: Final = r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*$"
CODE_MIN_LENGTH, CODE_MAX_LENGTH = 2, 32
EDITABLE_FIELDS: Final = (
    "name",
    "accept_minutes",
    "resolve_hours",
    "accept_working_hours",
    "resolve_working_days",
    "suspend_needs_approval",
    "default_priority",
    "volunteer_claimable",
    "active",
    "attributes",
)


@dataclass(frozen=True)
class DefaultCategory:
    code: str
    name: str
    parent_code: str | None
    accept_minutes: int
    resolve_hours: int
    default_priority: Priority = Priority.NORMAL
    volunteer_claimable: bool = False


def _node(code: str, name: str, parent: str | None, accept: int, resolve: int, **rest: object) -> DefaultCategory:
    return DefaultCategory(code, name, parent, accept, resolve, **rest)  # type: ignore[arg-type]


URGENT = Priority.URGENT
# Urgent matters (safety, fire, a burst main) get minutes to accept and hours to resolve; everyday ones a day or more.
DEFAULT_CATEGORIES: tuple[DefaultCategory, ...] = (
    _node("CITY", "市容环境", None, 120, 72),
    _node("CITY.GARBAGE", "垃圾清运", "CITY", 60, 24, volunteer_claimable=True),
    _node("CITY.LITTER", "乱堆乱放", "CITY", 120, 48, volunteer_claimable=True),
    _node("CITY.GREEN", "绿化养护", "CITY", 240, 120),
    _node("FACILITY", "设施管理", None, 120, 72),
    _node("FACILITY.ROAD", "道路破损", "FACILITY", 120, 120),
    _node("FACILITY.LIGHT", "路灯照明", "FACILITY", 120, 48),
    _node("FACILITY.WATER", "供水排水", "FACILITY", 30, 12, default_priority=URGENT),
    _node("FACILITY.ELEVATOR", "电梯故障", "FACILITY", 15, 6, default_priority=URGENT),
    _node("DISPUTE", "矛盾纠纷", None, 60, 72),
    _node("DISPUTE.NEIGHBOR", "邻里纠纷", "DISPUTE", 60, 72),
    _node("DISPUTE.PROPERTY", "物业纠纷", "DISPUTE", 120, 120),
    _node("DISPUTE.WAGES", "劳资纠纷", "DISPUTE", 60, 72),
    _node("SECURITY", "社会治安", None, 30, 24, default_priority=URGENT),
    _node("SECURITY.FIRE", "消防隐患", "SECURITY", 15, 12, default_priority=URGENT),
    _node("SECURITY.HAZARD", "安全隐患", "SECURITY", 30, 24, default_priority=URGENT),
    _node("SERVICE", "民生服务", None, 240, 120),
    _node("SERVICE.ELDERLY", "为老服务", "SERVICE", 240, 72, volunteer_claimable=True),
    _node("SERVICE.ASSIST", "困难帮扶", "SERVICE", 240, 120, volunteer_claimable=True),
    _node("SERVICE.POLICY", "政策咨询", "SERVICE", 240, 48, volunteer_claimable=True),
    _node("OTHER", "其他", None, 240, 120),
)


def seed_defaults() -> int:
    """Insert the default tree when the table is empty (first run); returns how many were added."""
    if db.session.scalars(select(Category.code).limit(1)).first() is not None:
        return 0
    for default in DEFAULT_CATEGORIES:
        db.session.add(Category(**default.__dict__, active=True))
    db.session.flush()
    return len(DEFAULT_CATEGORIES)


def active_category(code: str, field: str = "category_code") -> Category:
    """A category new work may be filed under; 422 on the given field otherwise."""
    category = entities.get(Category, code)
    if category is None or not category.active:
        raise ValidationError(_("Unknown or inactive category."), {field: [_("no such active category")]})
    return category


def answers_for(category: Category, answers: Mapping[str, Any] | None, field: str = "attributes") -> dict[str, Any]:
    """A request's answers to the category's extra questions, as stored; 422 on `field` naming each problem."""
    try:
        return clean_answers(category.attributes or [], answers)
    except AnswerError as error:
        raise ValidationError(_("The answers do not fit the category's questions."), {field: error.errors}) from None


def codes_under(code: str) -> list[str]:
    """A category's code and all its descendants' (filters cover the subtree)."""
    children: dict[str | None, list[str]] = {}
    for child, parent in db.session.execute(select(Category.code, Category.parent_code)):
        children.setdefault(parent, []).append(child)
    found, frontier = [code], [code]
    while frontier:
        # `found` guards against a cycle, which the rules below refuse but a hand-edited table could hold.
        frontier = [child for parent in frontier for child in children.get(parent, []) if child not in found]
        found.extend(frontier)
    return found


def is_valid_code(code: str) -> bool:
    """Whether `code` could name a category (so malformed codes never reach the database)."""
    return CODE_MIN_LENGTH <= len(code) <= CODE_MAX_LENGTH and re.fullmatch(CODE_PATTERN, code) is not None


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryFilters:
    parent_code: str | None = None
    active: bool | None = None
    q: str | None = None
    updated_since: datetime | None = None


def list_categories(filters: CategoryFilters, *, limit: int, cursor: str | None) -> Page[Category]:
    """Categories by code; `updated_since` gives what changed for the app's delta sync (deactivations too)."""
    stmt = select(Category)
    if filters.parent_code is not None:
        stmt = stmt.where(Category.parent_code == filters.parent_code)
    if filters.active is not None:
        stmt = stmt.where(Category.active == filters.active)
    if filters.updated_since is not None:
        stmt = stmt.where(Category.updated_at >= filters.updated_since)
    if filters.q:
        text = filters.q.lower()
        stmt = stmt.where(
            or_(
                func.lower(Category.code).contains(text, autoescape=True),
                func.lower(Category.name).contains(text, autoescape=True),
            )
        )
    return paginate(stmt, order_by=[Category.code], limit=limit, cursor=cursor, query_fingerprint=filters.__dict__)


def find_category(code: str) -> Category | None:
    return db.session.get(Category, code) if is_valid_code(code) else None


def get_category(code: str) -> Category:
    """The category with this code, active or not; NotFoundError otherwise."""
    category = find_category(code)
    if category is None:
        raise NotFoundError(_("No such category."))
    return category


# --- changing ------------------------------------------------------------------------------------
# Writes lock the rows they check (the category, its new parent and that parent's ancestors), so on
# PostgreSQL two concurrent moves cannot build a cycle between them, nor a deactivation race a new
# active child. SQLite ignores FOR UPDATE; there these admin-only edits are left to its single writer.


def create_category(data: Mapping[str, Any]) -> Category:
    """Add a category under an existing parent (or as a root); 409 when the code is taken."""
    if _locked(data["code"]) is not None:
        raise ConflictError(_("A category with that code exists."), {"code": [_("already used")]})
    parent = _parent(data.get("parent_code"))
    category = Category(
        code=data["code"],
        name=data["name"],
        parent_code=parent.code if parent is not None else None,
        accept_minutes=data["accept_minutes"],
        resolve_hours=data["resolve_hours"],
        accept_working_hours=data.get("accept_working_hours"),
        resolve_working_days=data.get("resolve_working_days"),
        suspend_needs_approval=data.get("suspend_needs_approval", False),
        default_priority=data.get("default_priority", Priority.NORMAL),
        volunteer_claimable=data.get("volunteer_claimable", False),
        active=data.get("active", True),
        attributes=numbered(data.get("attributes") or []),
    )
    _check_active_parent(category, parent, field="parent_code")
    db.session.add(category)
    # A concurrent create of the same code fails here on the primary key: the kernel answers 409.
    db.session.flush()
    return category


def update_category(code: str, changes: Mapping[str, Any]) -> Category:
    """Change a category's name, SLA or flags, or move it; deactivating one with active children is 409."""
    category = _locked(code)
    if category is None:
        raise NotFoundError(_("No such category."))
    if "parent_code" in changes and changes["parent_code"] != category.parent_code:
        _move(category, changes["parent_code"])
    for name in EDITABLE_FIELDS:
        if name in changes:
            setattr(category, name, numbered(changes[name]) if name == "attributes" else changes[name])
    parent = _locked(category.parent_code) if category.parent_code is not None else None
    _check_active_parent(category, parent, field="parent_code" if "parent_code" in changes else "active")
    if not category.active:
        _check_no_active_children(category)
    db.session.flush()
    return category


def _move(category: Category, parent_code: str | None) -> None:
    """Re-hang a category (its subtree follows by `parent_code`); under itself or a descendant is refused."""
    parent = _parent(parent_code)
    if parent is not None and _is_within(parent, category):
        raise ValidationError(
            _("A category cannot move under itself or its own subcategory."),
            {"parent_code": [_("would create a cycle")]},
        )
    category.parent_code = parent.code if parent is not None else None


def _parent(code: str | None) -> Category | None:
    if code is None:
        return None
    parent = _locked(code)
    if parent is None:
        raise ValidationError(_("No such parent category."), {"parent_code": [_("no such category")]})
    return parent


def _is_within(node: Category, ancestor: Category) -> bool:
    """Whether `node` is `ancestor` or below it, walking up from `node` (each row on the way locked)."""
    seen = {node.code}
    while node.code != ancestor.code and node.parent_code is not None:
        if node.parent_code == ancestor.code:
            return True
        if node.parent_code in seen:  # a cycle already stored: nothing this walk can fix
            return False
        node = _locked(node.parent_code)  # type: ignore[assignment]  # the foreign key guarantees it
        seen.add(node.code)
    return node.code == ancestor.code


def _check_active_parent(category: Category, parent: Category | None, *, field: str) -> None:
    if category.active and parent is not None and not parent.active:
        raise ValidationError(
            _("The parent category %(code)s is inactive; activate it first.", code=parent.code),
            {field: [_("an active category needs an active parent (%(code)s is inactive)", code=parent.code)]},
        )


def _check_no_active_children(category: Category) -> None:
    children = db.session.scalars(
        select(Category.code).where(Category.parent_code == category.code, Category.active.is_(True))
    ).all()
    if children:
        raise ConflictError(
            _("%(code)s still has active subcategories; deactivate them first.", code=category.code),
            {"children": sorted(children)},
        )


def _locked(code: str) -> Category | None:
    """The row, freshly read (not from the identity map) and locked until this transaction ends."""
    if not is_valid_code(code):
        return None
    stmt = select(Category).where(Category.code == code).with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(stmt).one_or_none()
