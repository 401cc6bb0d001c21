"""The case lifecycle as one table: who may do what, from which states, to which state.

Each row of `TRANSITIONS` is an action (domain-rules §5, product §4): the side that may take it
(staff of the responsible office or its parents, the petitioner, or the system's timers), the
states it is allowed from, the state it leads to (None: the case stays where it is), whether it
takes a choice (an opinion, a number of days, an office) and a text (a reason, an opinion's
wording), and the clock it starts. `clock_after` says what the new deadline is. Pure data and
date arithmetic: no I/O, nothing about Telegram.

    submitted|transferred -accept-> accepted -extend-> extended -answer-> answered
    submitted|transferred -transfer-> transferred -return-> submitted
    submitted|transferred -not_accept / redirect-> (terminal)
    answered -request_review-> review_requested -decide_review-> reviewed
    reviewed -request_recheck-> recheck_requested -decide_recheck-> rechecked (final)
    answered|reviewed -lapse (window over)-> closed;   accepted suggestion -reply-> closed
    any state with the office -withdraw-> withdrawn
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot import deadlines


class State(StrEnum):
    SUBMITTED = "submitted"
    TRANSFERRED = "transferred"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    REDIRECTED = "redirected"
    EXTENDED = "extended"
    ANSWERED = "answered"
    REVIEW_REQUESTED = "review_requested"
    REVIEWED = "reviewed"
    RECHECK_REQUESTED = "recheck_requested"
    RECHECKED = "rechecked"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class By(StrEnum):
    STAFF = "staff"
    PETITIONER = "petitioner"
    SYSTEM = "system"


S = State
TERMINAL = frozenset({S.NOT_ACCEPTED, S.REDIRECTED, S.RECHECKED, S.CLOSED, S.WITHDRAWN})
# The office must act in these states; due_on is the office's deadline.
WITH_OFFICE = frozenset(
    {S.SUBMITTED, S.TRANSFERRED, S.ACCEPTED, S.EXTENDED, S.REVIEW_REQUESTED, S.RECHECK_REQUESTED}
)
# An opinion is out; due_on is the last day the petitioner may ask for the next review.
WINDOW_OPEN = frozenset({S.ANSWERED, S.REVIEWED})
EVERY_STATE = frozenset(State)

SUGGESTION = "suggestion"  # 建议意见类: replied to and closed, no review chain (§5.2)
NOT_SUGGESTION = frozenset({"accusation", "appeal"})

OPINIONS = ("support", "explain", "not_support")  # 2022 Art 32
SUGGESTION_REPLIES = ("adopted", "partly_adopted", "not_adopted")  # 2022 Art 29
DECISIONS = ("upheld", "changed", "revoked")  # review / recheck outcomes (BJ 50, SD 45)
RATINGS = ("satisfied", "basically_satisfied", "not_satisfied")
EXTENSIONS = ("10", "20", "30")  # days; at most 30 (2022 Art 34)
OFFICE_CHOICE = "office"  # the choice is another office of the deployment


class Clock(StrEnum):
    """What deadline an action starts (domain-rules §4)."""

    KEEP = "keep"
    NONE = "none"
    REGISTRATION = "registration"  # T3 after a transfer: 15 days
    FIRST_REGISTRATION = "first_registration"  # T1 from the original receipt
    HANDLING = "handling"  # T6: 60 days from acceptance (none for suggestions)
    EXTENSION = "extension"  # T7: + the chosen days from the end of T6
    WINDOW = "window"  # T8/T10: 30 days to ask for the next review
    DECISION = "decision"  # T9/T11: 30 days to decide


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    by: By
    sources: frozenset[State]
    target: State | None  # None: the case stays in its state
    clock: Clock = Clock.KEEP
    choices: tuple[str, ...] = ()
    needs_text: bool = False
    types: frozenset[str] | None = None  # petition types it applies to (None: all)
    # The responsible office changes: to the chosen one, back to the sender, or one level up.
    moves_to: str | None = None  # "choice" | "previous" | "parent"

    def allowed_from(self, state: str, petition_type: str) -> bool:
        return state in self.sources and (self.types is None or petition_type in self.types)

    def text_needed(self, arg: str | None) -> bool:
        """Rating needs a reason only when the petitioner is not satisfied."""
        if self.action == "rate":
            return arg == "not_satisfied"
        return self.needs_text


T = Transition
_TRIAGE = frozenset({S.SUBMITTED, S.TRANSFERRED})

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # --- the office ------------------------------------------------------------------
        T("accept", By.STAFF, _TRIAGE, S.ACCEPTED, Clock.HANDLING),
        T(
            "transfer",
            By.STAFF,
            _TRIAGE,
            S.TRANSFERRED,
            Clock.REGISTRATION,
            choices=(OFFICE_CHOICE,),
            moves_to="choice",
        ),
        T(
            "return",
            By.STAFF,
            frozenset({S.TRANSFERRED}),
            S.SUBMITTED,
            Clock.FIRST_REGISTRATION,
            needs_text=True,
            moves_to="previous",
        ),
        T("not_accept", By.STAFF, _TRIAGE, S.NOT_ACCEPTED, Clock.NONE, needs_text=True),
        T("redirect", By.STAFF, _TRIAGE, S.REDIRECTED, Clock.NONE, needs_text=True),
        T(
            "extend",
            By.STAFF,
            frozenset({S.ACCEPTED}),
            S.EXTENDED,
            Clock.EXTENSION,
            choices=EXTENSIONS,
            needs_text=True,
            types=NOT_SUGGESTION,
        ),
        T(
            "answer",
            By.STAFF,
            frozenset({S.ACCEPTED, S.EXTENDED}),
            S.ANSWERED,
            Clock.WINDOW,
            choices=OPINIONS,
            needs_text=True,
            types=NOT_SUGGESTION,
        ),
        T(
            "reply",
            By.STAFF,
            frozenset({S.ACCEPTED}),
            S.CLOSED,
            Clock.NONE,
            choices=SUGGESTION_REPLIES,
            needs_text=True,
            types=frozenset({SUGGESTION}),
        ),
        T(
            "decide_review",
            By.STAFF,
            frozenset({S.REVIEW_REQUESTED}),
            S.REVIEWED,
            Clock.WINDOW,
            choices=DECISIONS,
            needs_text=True,
        ),
        T(
            "decide_recheck",
            By.STAFF,
            frozenset({S.RECHECK_REQUESTED}),
            S.RECHECKED,
            Clock.NONE,
            choices=DECISIONS,
            needs_text=True,
        ),
        T("note", By.STAFF, EVERY_STATE, None, needs_text=True),
        # --- the petitioner --------------------------------------------------------------
        T("withdraw", By.PETITIONER, WITH_OFFICE, S.WITHDRAWN, Clock.NONE),
        T("follow_up", By.PETITIONER, WITH_OFFICE, None, needs_text=True),
        T(
            "rate",
            By.PETITIONER,
            frozenset({S.ANSWERED, S.REVIEWED, S.RECHECKED, S.CLOSED}),
            None,
            choices=RATINGS,
        ),
        T(
            "request_review",
            By.PETITIONER,
            frozenset({S.ANSWERED}),
            S.REVIEW_REQUESTED,
            Clock.DECISION,
            needs_text=True,
            moves_to="parent",
        ),
        T(
            "request_recheck",
            By.PETITIONER,
            frozenset({S.REVIEWED}),
            S.RECHECK_REQUESTED,
            Clock.DECISION,
            needs_text=True,
            moves_to="parent",
        ),
        # --- the timers ------------------------------------------------------------------
        T("lapse", By.SYSTEM, WINDOW_OPEN, S.CLOSED, Clock.NONE),
    )
}


def actions_for(by: By, state: str, petition_type: str) -> list[Transition]:
    """The actions `by` may take now, in table order."""
    return [t for t in TRANSITIONS.values() if t.by == by and t.allowed_from(state, petition_type)]


@dataclass(frozen=True, slots=True)
class Dates:
    """The case's dates that clocks read and write."""

    submitted_on: date
    registration_due: date
    handling_due: date | None
    due_on: date | None


def clock_after(
    transition: Transition, dates: Dates, today: date, petition_type: str, days: int | None
) -> Dates:
    """The case's deadlines after `transition` was taken on `today`."""
    clock = transition.clock
    if clock == Clock.KEEP:
        return dates
    if clock == Clock.NONE:
        return Dates(dates.submitted_on, dates.registration_due, dates.handling_due, None)
    if clock == Clock.REGISTRATION:
        due = deadlines.end_of_period(today, deadlines.REGISTRATION_DAYS)
        return Dates(dates.submitted_on, due, dates.handling_due, due)
    if clock == Clock.FIRST_REGISTRATION:
        due = deadlines.end_of_period(dates.submitted_on, deadlines.REGISTRATION_DAYS)
        return Dates(dates.submitted_on, due, dates.handling_due, due)
    if clock == Clock.HANDLING:
        if petition_type == SUGGESTION:  # no statutory limit for suggestions (§4)
            return Dates(dates.submitted_on, dates.registration_due, None, None)
        due = deadlines.end_of_period(today, deadlines.HANDLING_DAYS)
        return Dates(dates.submitted_on, dates.registration_due, due, due)
    if clock == Clock.EXTENSION:
        assert dates.handling_due is not None and days is not None
        due = deadlines.extended(dates.handling_due, days)
        return Dates(dates.submitted_on, dates.registration_due, due, due)
    span = deadlines.WINDOW_DAYS if clock == Clock.WINDOW else deadlines.DECISION_DAYS
    due = deadlines.end_of_period(today, span)
    return Dates(dates.submitted_on, dates.registration_due, dates.handling_due, due)
