"""A need's life as data (点单-派单-接单-评单, and a 微心愿's claim): its actions, from which statuses, to which, by
whom. The endpoints, `allowed_actions` and docs/API.md all read this one table.

Who may act is a relation to the one need (`Party`), checked by `party.lists.access`; a row with no target
leaves the status as it is (a rating).
"""

import enum
from dataclasses import dataclass
from typing import Final

from party.lists.models import NeedKind, NeedStatus


class Action(enum.StrEnum):
    ASSIGN = "assign"  # 派单 to one member organisation
    PUBLISH = "publish"  # 派单 to every member organisation: the first to take it has it
    TAKE = "take"  # 接单: a member organisation takes a published need, opening its project
    OPEN_PROJECT = "open_project"  # the organisation a need was assigned to opens its project
    MEET = "meet"  # the project is done: the need is met
    REOPEN = "reopen"  # the project was abandoned: the need is open again
    WITHDRAW = "withdraw"
    CLAIM = "claim"  # a member claims a 微心愿
    FULFIL = "fulfil"  # the member says the wish is fulfilled (photo and note)
    CONFIRM = "confirm"  # the community confirms it: met
    RATE = "rate"  # 评单: a supervisor's visit, or a member organisation, rates the project


class Party(enum.StrEnum):
    """Who, relative to one need, may act."""

    DISPATCHER = "dispatcher"  # an admin, a supervisor over its unit, or whoever acts for its alliance's lead
    TAKER = "taker"  # whoever acts for an organisation that may take it (a live member of its alliance)
    OWNER = "owner"  # whoever acts for the organisation it was assigned to or taken by
    MEMBER = "member"  # a party member (with an account) in whose territory the wish is
    CLAIMER = "claimer"  # the member who claimed the wish
    COMMUNITY = "community"  # an admin, or a supervisor over its unit
    RATER = "rater"  # a supervisor over its unit (visit), or whoever acts for another member organisation


@dataclass(frozen=True)
class Transition:
    action: Action
    kinds: frozenset[NeedKind]
    sources: frozenset[NeedStatus]
    target: NeedStatus | None  # None: unchanged
    parties: frozenset[Party]
    summary: str
    by_system: bool = False  # not an endpoint of the need: a project's completion or abandonment moves it


N, W, S, P = NeedKind.NEED, NeedKind.WISH, NeedStatus, Party


def _rule(
    action: Action,
    kinds: set[NeedKind],
    sources: set[NeedStatus],
    target: NeedStatus | None,
    parties: set[Party],
    summary: str,
    **rest: bool,
) -> Transition:
    return Transition(action, frozenset(kinds), frozenset(sources), target, frozenset(parties), summary, **rest)


TRANSITIONS: Final[dict[Action, Transition]] = {
    rule.action: rule
    for rule in (
        _rule(
            Action.ASSIGN,
            {N},
            {S.OPEN, S.PUBLISHED},
            S.MATCHED,
            {P.DISPATCHER},
            "派单: assign to one organisation (a live member of its alliance, if it has one).",
        ),
        _rule(
            Action.PUBLISH,
            {N},
            {S.OPEN},
            S.PUBLISHED,
            {P.DISPATCHER},
            "派单: publish for the member organisations to take.",
        ),
        _rule(
            Action.TAKE,
            {N},
            {S.PUBLISHED},
            S.IN_PROJECT,
            {P.TAKER},
            "接单: an organisation takes it and its project opens; of several at once, one wins.",
        ),
        _rule(
            Action.OPEN_PROJECT,
            {N},
            {S.MATCHED},
            S.IN_PROJECT,
            {P.OWNER, P.DISPATCHER},
            "The organisation it was assigned to opens its project (POST /party/projects).",
        ),
        _rule(
            Action.MEET,
            {N},
            {S.IN_PROJECT},
            S.MET,
            {P.OWNER, P.DISPATCHER},
            "The project is done (POST /party/projects/{id}/complete).",
            by_system=True,
        ),
        _rule(
            Action.REOPEN,
            {N},
            {S.IN_PROJECT},
            S.OPEN,
            {P.OWNER, P.DISPATCHER},
            "The project was abandoned (POST /party/projects/{id}/abandon): open again.",
            by_system=True,
        ),
        _rule(
            Action.WITHDRAW,
            {N, W},
            {S.OPEN, S.PUBLISHED, S.MATCHED, S.CLAIMED},
            S.WITHDRAWN,
            {P.DISPATCHER},
            "Withdrawn, with a reason.",
        ),
        _rule(
            Action.CLAIM,
            {W},
            {S.OPEN},
            S.CLAIMED,
            {P.MEMBER},
            "微心愿: one member claims it; of several at once, one wins.",
        ),
        _rule(
            Action.FULFIL,
            {W},
            {S.CLAIMED},
            S.FULFILLED,
            {P.CLAIMER},
            "The claiming member fulfilled it, with a note and at least one photo.",
        ),
        _rule(
            Action.CONFIRM,
            {W},
            {S.FULFILLED},
            S.MET,
            {P.COMMUNITY},
            "The community confirms it: met, and the member earns the `wish.fulfilled` rule.",
        ),
        _rule(
            Action.RATE,
            {N},
            {S.MET},
            None,
            {P.RATER},
            "评单: a supervisor's return visit, or another member organisation, rates the project (1–5).",
        ),
    )
}

REASON_REQUIRED: Final = frozenset({Action.WITHDRAW})


def rule_of(action: Action) -> Transition:
    return TRANSITIONS[action]


def describe() -> str:
    """The table as Markdown, for the API docs."""
    lines = ["| action | kinds | from | to | who |", "|---|---|---|---|---|"]
    for rule in TRANSITIONS.values():
        kinds = ", ".join(sorted(rule.kinds))
        sources = ", ".join(sorted(rule.sources))
        target = rule.target or "unchanged"
        parties = ", ".join(sorted(rule.parties))
        lines.append(f"| `{rule.action}` | {kinds} | {sources} | {target} | {parties} |")
    return "\n".join(lines)
