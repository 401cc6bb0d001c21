"""Cases as the petitioner sees them: numbers, states, and reading one's own cases.

The lifecycle transitions (staff actions, deadlines after registration) belong to the case
lifecycle issue; this module holds what intake and status need now: the state names, the case
number format, and read-only views that never reveal another person's case.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from storage import cases
from storage.db import Database
from storage.models import Case


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


TERMINAL = (State.NOT_ACCEPTED, State.REDIRECTED, State.RECHECKED, State.CLOSED, State.WITHDRAWN)

NUMBER_RE = re.compile(r"^XF(\d{4})-(\d{6})$", re.ASCII)  # ASCII digits only: canonical
_QUERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def case_number(year: int, seq: int) -> str:
    """`XF` + year + `-` + six-digit sequence, e.g. XF2026-000042."""
    return f"XF{year:04d}-{seq:06d}"


def parse_case_number(text: str) -> str | None:
    """The canonical case number in `text` (case-insensitive, full-width tolerant), or None."""
    candidate = text.strip().upper().replace("－", "-").replace("—", "-")
    candidate = candidate.translate({ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９ＸＦ"})
    return candidate if NUMBER_RE.match(candidate) else None


def new_query_code() -> str:
    return "".join(secrets.choice(_QUERY_ALPHABET) for _ in range(8))


@dataclass(frozen=True, slots=True)
class CaseSummary:
    number: str
    state: str
    submitted_at: datetime
    registration_due: date
    office_id: str
    place_code: str
    category_code: str


def summary(case: Case) -> CaseSummary:
    return CaseSummary(
        case.number,
        case.state,
        case.submitted_at,
        case.registration_due,
        case.office_id,
        case.place_code,
        case.category_code,
    )


class Cases:
    """Read-only case views for their petitioner."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def mine(self, user_id: int, *, page: int = 0, per_page: int = 5) -> list[CaseSummary]:
        async with self._db.sessions() as session:
            rows = await cases.list_for_petitioner(
                session, user_id, offset=page * per_page, limit=per_page + 1
            )
        return [summary(c) for c in rows]

    async def status(self, user_id: int, number: str) -> CaseSummary | None:
        """The case if `user_id` filed it; None otherwise — the same as for no such case."""
        async with self._db.sessions() as session:
            case = await cases.by_number(session, number)
        if case is None or case.petitioner_id != user_id:
            return None
        return summary(case)
