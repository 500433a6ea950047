"""The assessment's rollup (issue 21): the needs and wishes raised per unit, Beijing day and kind, by where they
stand now. A need counts in every unit on its path (its unit and each ancestor), so a subtree's figures are the
rows of one unit, as the tickets' `stats_daily`; kept by `party.assessment.rollups` in the change's transaction.
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
