"""kernel.records.insert_now: a new entity's row inserted at once by one statement, the entity then the session's as
if loaded (defaults filled, the key and server defaults read back, its later changes written with the version
check), on both databases."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, Integer, MetaData, String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from kernel import records
from kernel.db import UTCDateTime
from kernel.extensions import db
from tests.support.scratch import scratch_tables

MOMENT = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


class _Scratch(DeclarativeBase):
    metadata = MetaData()  # not the app's: no migration knows this table


class Note(_Scratch):
    __tablename__ = "scratch_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kind: Mapped[str] = mapped_column(String(10), server_default="plain")  # the database's default only
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: MOMENT)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


@pytest.fixture
def notes(app):
    with scratch_tables(app, _Scratch.metadata):
        yield


def _stored(note_id: int) -> dict:
    row = db.session.execute(text("SELECT * FROM scratch_notes WHERE id = :id"), {"id": note_id}).mappings().one()
    return dict(row)


def test_a_new_entity_is_written_with_its_defaults_and_read_back_keys(app, notes):
    note = Note(body="井盖松动")
    records.insert_now(note)
    assert note.id is not None and note.version == 1
    assert (note.tags, note.count, note.kind, note.seen_at, note.written_at) == ([], 0, "plain", None, MOMENT)
    note_id = note.id
    assert db.session.get(Note, note_id) is note  # the session's, without a query
    db.session.commit()
    db.session.expunge_all()
    reloaded = db.session.get(Note, note_id)
    assert (reloaded.body, reloaded.tags, reloaded.count, reloaded.kind) == ("井盖松动", [], 0, "plain")
    assert (reloaded.seen_at, reloaded.written_at, reloaded.version) == (None, MOMENT, 1)


def test_given_values_are_written_as_given(app, notes):
    note = Note(body="路灯", tags=["夜间"], count=3, kind="urgent", seen_at=MOMENT)
    records.insert_now(note)
    note_id = note.id
    db.session.commit()
    stored = _stored(note_id)
    assert (stored["body"], stored["count"], stored["kind"], stored["version"]) == ("路灯", 3, "urgent", 1)
    db.session.expunge_all()
    assert db.session.get(Note, note_id).tags == ["夜间"]


def test_its_later_changes_are_written_with_the_version_check(app, notes):
    note = Note(body="积水")
    records.insert_now(note)
    note.count = 2
    db.session.flush()
    assert note.version == 2 and _stored(note.id)["count"] == 2
    db.session.execute(text("UPDATE scratch_notes SET version = 9 WHERE id = :id"), {"id": note.id})
    note.count = 3
    with pytest.raises(StaleDataError):
        db.session.flush()


def test_the_insert_commits_or_rolls_back_with_the_transaction(app, notes):
    note = Note(body="噪音")
    records.insert_now(note)
    assert records.pending(db.session)  # the transaction has written: it is committed, not dropped as a read
    note_id = note.id
    db.session.rollback()
    assert db.session.scalars(select(Note.id).where(Note.id == note_id)).first() is None


def test_an_entity_a_session_holds_is_refused(app, notes):
    note = Note(body="占道")
    db.session.add(note)
    with pytest.raises(ValueError, match="new entity"):
        records.insert_now(note)
    db.session.flush()
    with pytest.raises(ValueError, match="new entity"):
        records.insert_now(note)
