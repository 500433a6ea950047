"""An entity by its key, read by a compiled select: `Session.get` without the ORM's loading machinery.

An intake reads its category and its cell by key; `Session.get` put a query's whole loading path (an ORM
execution, a result, the loading of a row into an identity) around a one-row select: 8 % of an intake's
instructions (docs/PERFORMANCE.md, "Tenth pass"). `get` answers the same entity: the one the session holds, else one
made from a row of the mapper's own columns and added to the session as if loaded (its changes tracked and
flushed as a loaded entity's). Relationships are left unloaded, loaded when first read, whatever loading they are
configured with. Mappers with inheritance are left to `Session.get`.
"""

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Mapper, make_transient_to_detached

from kernel.compiled import CompiledSelect
from kernel.extensions import db

T = TypeVar("T")


def get(model: type[T], key: Any) -> T | None:
    """The session's `model` with primary key `key`, or None when no row has it."""
    mapper: Mapper[Any] = inspect(model)
    held = db.session.identity_map.get(mapper.identity_key_from_primary_key((key,)))
    if held is not None:
        return held  # type: ignore[no-any-return]
    by_key = _select_by_key(mapper)
    if by_key is None:
        return db.session.get(model, key)
    row = by_key.first({"entity_key": key})
    if row is None:
        return None
    entity = mapper.class_manager.new_instance()
    entity.__dict__.update(zip(_attribute_keys(mapper), row, strict=True))
    return adopt(entity)  # type: ignore[no-any-return]


def adopt(entity: T) -> T:
    """`entity`, made from its row's values (set in its `__dict__`), the session's as if the ORM had loaded it:
    those values its loaded state, its later changes tracked and flushed."""
    make_transient_to_detached(entity)
    db.session.add(entity)
    return entity


@cache
def _attribute_keys(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(column).key for column in mapper.local_table.columns)


@cache
def _select_by_key(mapper: Mapper[Any]) -> CompiledSelect | None:
    if mapper.inherits is not None or mapper.polymorphic_on is not None or len(mapper.primary_key) != 1:
        return None
    table = mapper.local_table
    [key] = mapper.primary_key
    return CompiledSelect(select(*table.columns).where(key == bindparam("entity_key")))
