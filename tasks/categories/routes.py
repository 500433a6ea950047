"""HTTP endpoints for categories: everyone reads the tree (and syncs it offline), admins edit it."""

from typing import Any

from flask import Flask

from kernel.api import Blueprint, documents
from kernel.etag import checks_if_match
from kernel.extensions import api
from kernel.pagination import Page, cursor_list
from kernel.principals import Role
from kernel.security import requires_auth, requires_role
from tasks.categories import service as categories
from tasks.categories.models import Category
from tasks.categories.schemas import (
    CategoryCreateSchema,
    CategoryPageSchema,
    CategoryQuerySchema,
    CategorySchema,
    CategoryUpdateSchema,
)

blp = Blueprint(
    "categories", __name__, url_prefix="/api/v1/categories", description="Categories of problems and their SLA"
)


# Documented on the path so clients and fuzzers know a code's shape; a malformed one is simply 404.
CODE_PARAMETER = {
    "in": "path",
    "name": "code",
    "description": "the category's code, e.g. CITY.GARBAGE",
    "schema": {
        "type": "string",
        "minLength": categories.CODE_MIN_LENGTH,
        "maxLength": categories.CODE_MAX_LENGTH,
        "pattern": categories.CODE_PATTERN,
    },
}


def register(app: Flask) -> None:
    api.register_blueprint(blp)


@blp.route("", methods=["GET"])
@requires_auth
@blp.arguments(CategoryQuerySchema, location="query")
@cursor_list(categories.CategoryFilters)
@blp.response(200, CategoryPageSchema)
def list_categories(filters: categories.CategoryFilters, *, limit: int, cursor: str | None) -> Page[Category]:
    """Categories by code, inactive ones included; filters `parent_code`, `active`, `q`, `updated_since`."""
    return categories.list_categories(filters, limit=limit, cursor=cursor)


@blp.route("", methods=["POST"])
@requires_role(Role.ADMIN)
@blp.arguments(CategoryCreateSchema)
@blp.response(201, CategorySchema)
@documents(409)
def create_category(data: dict[str, Any]) -> Category:
    """Create a category under an existing parent (or as a root); its code is permanent."""
    return categories.create_category(data)


@blp.route("/<code>", methods=["GET"], parameters=[CODE_PARAMETER])
@requires_auth
@blp.response(200, CategorySchema)
@documents(304, 404)
def get_category(code: str) -> Category:
    """One category, active or not (old tickets still name inactive ones)."""
    return categories.get_category(code)


@blp.route("/<code>", methods=["PATCH"], parameters=[CODE_PARAMETER])
@requires_role(Role.ADMIN)
@blp.arguments(CategoryUpdateSchema)
@checks_if_match(lambda code: CategorySchema().dump(categories.get_category(code)))
@blp.response(200, CategorySchema)
@documents(404, 409, 412)
def update_category(changes: dict[str, Any], code: str) -> Category:
    """Change a category's name, SLA or flags, or move it; deactivate it once its subcategories are inactive.

    New SLA values apply to tickets filed afterwards. Categories are never deleted: history refers to them.
    """
    return categories.update_category(code, changes)
