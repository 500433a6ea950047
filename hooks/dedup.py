"""Inserting once: how hooks in make a repeated push, a replayed signature or callback item a no-op."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from kernel.extensions import db


def insert_once(model: type[db.Model], values: Mapping[str, Any], *, unique: list[str]) -> int | None:  # type: ignore[name-defined]
    """Insert a row unless one with the same `unique` columns exists (or is being inserted by a concurrent
    transaction that then commits): its id, or None when it was already there. Race-free on both engines."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(model.id)  # type: ignore[attr-defined]
    )
    return db.session.execute(statement).scalar_one_or_none()
