"""Tables of a test's own, on the app's database: for kernel helpers tested against rows no migration knows."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import MetaData

from kernel.extensions import db


@contextmanager
def scratch_tables(app: Flask, metadata: MetaData) -> Iterator[None]:
    """`metadata`'s tables created for the block (in an app context) and dropped after it, the session's
    transaction rolled back first."""
    with app.app_context():
        metadata.create_all(db.engine)
        try:
            yield
        finally:
            db.session.rollback()
            metadata.drop_all(db.engine)
