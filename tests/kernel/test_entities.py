"""kernel.entities.get: the entity `Session.get` answers, read by a compiled select, on both databases."""

from sqlalchemy import inspect, select

from grid.models import GridUnit
from kernel import entities
from kernel.extensions import db
from tasks.categories.models import Category
from tests.support.statements import statements_sent


def _columns(entity) -> dict:
    return {attribute.key: getattr(entity, attribute.key) for attribute in inspect(type(entity)).column_attrs}


def test_every_unit_and_category_reads_as_the_orm_loads_it(app, tree, categories):
    with app.app_context():
        keys = [(GridUnit, unit_id) for unit_id in db.session.scalars(select(GridUnit.id))]
        keys += [(Category, code) for code in db.session.scalars(select(Category.code))]
        assert len(keys) > 10
        loaded = {key: _columns(db.session.get(*key)) for key in keys}
        db.session.expunge_all()
        for model, key in keys:
            entity = entities.get(model, key)
            assert _columns(entity) == loaded[(model, key)], (model, key)
            assert inspect(entity).persistent and not inspect(entity).modified


def test_a_held_entity_is_answered_without_a_query_and_a_missing_one_is_none(app, tree):
    with app.app_context():
        first = entities.get(GridUnit, tree["G1a"].id)
        with statements_sent(app) as seen:
            again = entities.get(GridUnit, tree["G1a"].id)
        assert again is first and seen == []
        assert db.session.get(GridUnit, tree["G1a"].id) is first
        assert entities.get(GridUnit, -1) is None


def test_its_relationships_load_when_read_and_its_changes_are_written(app, tree):
    with app.app_context():
        cell = entities.get(GridUnit, tree["G1a"].id)
        assert cell.parent.id == tree["C1"].id
        cell.name = "改名的网格"
        db.session.commit()
        db.session.expunge_all()
        assert db.session.get(GridUnit, tree["G1a"].id).name == "改名的网格"
