"""the units' outlines (issue 28): every unit above the cells with the union of its cells' boundaries, stored and
kept by every change of the grid (grid.outlines), so no map reader merges cells

And an index serving a subtree's units by path prefix on PostgreSQL (`text_pattern_ops`: the unique index on
path serves no `LIKE '/1/2/%'` unless the collation is C; a district's subtree was a scan of all 100,000 units).

Filled here bottom-up (each unit from its children: a cell's boundary, a unit's outline), as grid.outlines draws
them; a city of 100,000 cells takes seconds.

Revision ID: 0028_grid_outlines
Revises: 0027_city_scale
Create Date: 2026-12-06 22:40:00.000000
"""

import json
from collections import defaultdict

import shapely
import sqlalchemy as sa
from alembic import op
from shapely.geometry import mapping

# revision identifiers, used by Alembic.
revision = "0028_grid_outlines"
down_revision = "0027_city_scale"
branch_labels = None
depends_on = None


def upgrade():
    outlines = op.create_table(
        "grid_outlines",
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["grid_units.id"], name=op.f("fk_grid_outlines_unit_id_grid_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_grid_outlines")),
    )
    _fill(op.get_bind(), outlines)
    op.create_index(
        "ix_grid_units_path_prefix", "grid_units", ["path"], unique=False, postgresql_ops={"path": "text_pattern_ops"}
    )


def downgrade():
    op.drop_index("ix_grid_units_path_prefix", table_name="grid_units")
    op.drop_table("grid_outlines")


def _fill(connection, outlines):
    units = sa.table(
        "grid_units", sa.column("id"), sa.column("parent_id"), sa.column("path"), sa.column("level"),
        sa.column("boundary"),
    )  # fmt: skip
    children = defaultdict(list)  # unit id: its children's shapes (GeoJSON text)
    by_depth = defaultdict(list)
    for unit_id, parent_id, path, level, boundary in connection.execute(
        sa.select(units.c.id, units.c.parent_id, units.c.path, units.c.level, units.c.boundary)
    ):
        if level == "grid":
            if boundary is not None and parent_id is not None:
                children[parent_id].append(boundary)
        else:
            by_depth[path.count("/")].append((unit_id, parent_id))
    rows = []
    for depth in sorted(by_depth, reverse=True):
        for unit_id, parent_id in by_depth[depth]:
            shapes = children.pop(unit_id, [])
            union = shapely.union_all(shapely.from_geojson(shapes)).simplify(0) if shapes else None
            drawn = None if union is None or union.is_empty else json.dumps(mapping(union), separators=(",", ":"))
            rows.append({"unit_id": unit_id, "geometry": drawn, "version": 1})
            if drawn is not None and parent_id is not None:
                children[parent_id].append(drawn)
    for start in range(0, len(rows), 1000):
        connection.execute(sa.insert(outlines), rows[start : start + 1000])
