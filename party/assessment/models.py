"""The assessment's rollups (issue 21): the needs and wishes raised per unit, Beijing day and kind, by where they
stand now (`party_stats_daily`), and the other figures per unit, day and name (`party_stats_figures`). A row
counts in every unit on its path (its unit and each ancestor), so a subtree's figures are the rows of one unit,
as the tickets' `stats_daily`; kept by `party.assessment.rollups` in the change's transaction.
"""

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import BigId
from kernel.extensions import db

# The counters of a cohort (party.assessment.figures.NeedCohort's fields, in its order).
NEED_COUNTERS: tuple[str, ...] = ("raised", "withdrawn", "matched", "met", "met_on_time")


class PartyStatsDaily(db.Model):
    __tablename__ = "party_stats_daily"

    unit_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the Beijing day the need was raised
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # need, wish
    raised: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    met_on_time: Mapped[int] = mapped_column(Integer, default=0)


class PartyStatsFigure(db.Model):
    """The other figures per unit and Beijing day, one row per figure (`name`, as `projects.done`,
    `points.awarded`, `ratings.visit.total`): narrow, so a figure added later needs no migration, and a
    subtree's period is one grouped sum over one unit's rows (names in `party.assessment.rollups`)."""

    __tablename__ = "party_stats_figures"

    unit_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
