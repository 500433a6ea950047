"""What the organisation tree tells the rest of the app, inside the request's transaction.

An organisation's place (its parent, or the grid unit it is built on) decides where its members' points count in
the assessment (party.assessment.rollups), for itself and every organisation below it: `OrgPlaceChanging` is
published before such a change, `OrgPlaceChanged` after it, both naming the organisation whose subtree moves.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrgPlaceChanging:
    org_id: int


@dataclass(frozen=True, slots=True)
class OrgPlaceChanged:
    org_id: int
