"""The monthly partitions as the migration leaves them, for the partition tests (PostgreSQL).

Their `partitions ensure` runs create months ahead, and months far off when a test travels in time; those stay in
the test database for every test that follows. Without this, a test expecting to create a month, or a row of a
later month to wait in the default partition, depended on which partition tests had run before it."""

from datetime import timedelta

from flask import Flask
from sqlalchemy import text

from kernel import clock
from kernel.extensions import db
from kernel.partitions import PARTITIONED, ROLLUPS, add_months, existing, is_partitioned

MIGRATIONS_MONTHS_AHEAD = 3


def as_migrated(app: Flask) -> None:
    """Today again, and only this month's partitions up to three months ahead (and the older ones)."""
    clock.travel(timedelta(0))
    last = add_months(clock.utcnow().date().replace(day=1), MIGRATIONS_MONTHS_AHEAD)
    with app.app_context():
        connection = db.session.connection()
        for table in (*PARTITIONED, *ROLLUPS):
            if is_partitioned(connection, table):
                for partition in existing(connection, table):
                    if partition.month > last:
                        connection.execute(text(f'DROP TABLE "{partition.name}"'))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["partitions", "ensure", "--months-ahead", str(MIGRATIONS_MONTHS_AHEAD)])
    assert result.exit_code == 0, result.output
