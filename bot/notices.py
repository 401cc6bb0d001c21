"""The notices a case change owes, written to the outbox in the change's own transaction.

Each notice is an outbox row: the chat, a kind, and a payload of plain values (numbers, codes,
ISO dates, the texts staff and petitioners wrote) plus the locale to write it in. The words are
chosen only when the dispatcher sends it (`handlers.notices`), so nothing here is translated and
nothing is sent from inside a transaction. Alerts are rendered from the case as it is when they
are sent, so an alert and its later edits always show the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.directory import Directory
from bot.petitioners import locale_of
from storage import cases, outbox, petitioners
from storage.models import Case

RECEIPT = "receipt"
STATUS = "status"  # a state change, told to the petitioner
ALERT = "alert"  # a new alert in an office's staff group
ALERT_REFRESH = "alert_refresh"  # edit an alert to show the case as it is now
STAFF_MESSAGE = "staff_message"  # the petitioner did something the office must see
STAFF_FILE = "staff_file"  # a file the petitioner sent as a follow-up
FULL_TEXT = "full_text"  # the whole facts, asked for from an alert
CASE_FILE = "case_file"  # one of the case's attachments, asked for from an alert
REMINDER = "reminder"  # the daily list of cases due soon or overdue
LAPSED = "lapsed"  # the review window closed the case; told to the petitioner

FULL_TEXT_PART_CHARS = 3500  # one Telegram message (4096) with room for the heading


@dataclass(frozen=True, slots=True)
class Change:
    """One applied action, as the notices need it."""

    action: str
    from_state: str
    to_state: str
    detail: str | None
    text: str | None
    office_before: str


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class Notices:
    """Writes outbox rows; the caller owns the transaction."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def _petitioner(self, session: AsyncSession, case: Case) -> tuple[int, str] | None:
        row = await petitioners.get(session, case.petitioner_id)
        if row is None:
            return None
        return row.chat_id, locale_of(row, None)

    async def _group(self, office_id: str) -> tuple[int, str] | None:
        office = await self._directory.office(office_id)
        if office.group_chat_id is None:
            return None
        return office.group_chat_id, office.language

    async def _add(
        self,
        session: AsyncSession,
        chat_id: int,
        *,
        kind: str,
        payload: dict[str, Any],
        case: Case | None,
        now: datetime,
    ) -> None:
        await outbox.add(
            session,
            chat_id=chat_id,
            kind=kind,
            payload=payload,
            case_id=case.id if case else None,
            now=now,
        )

    async def submitted(self, session: AsyncSession, case: Case, now: datetime) -> None:
        """The receipt for the petitioner and the alert for the office."""
        target = await self._petitioner(session, case)
        if target is not None:
            chat_id, locale = target
            await self._add(
                session, chat_id, kind=RECEIPT, payload={"locale": locale}, case=case, now=now
            )
        await self._alert(session, case, case.office_id, now)

    async def _alert(
        self, session: AsyncSession, case: Case, office_id: str, now: datetime
    ) -> None:
        group = await self._group(office_id)
        if group is not None:
            await self._add(
                session, group[0], kind=ALERT, payload={"locale": group[1]}, case=case, now=now
            )

    async def changed(
        self, session: AsyncSession, case: Case, change: Change, now: datetime
    ) -> None:
        """What a state change (or a petitioner's act) owes the petitioner and the offices."""
        if change.action == "note":
            await self._refresh_alerts(session, case, now)
            return
        if change.to_state != change.from_state:
            target = await self._petitioner(session, case)
            if target is not None:
                chat_id, locale = target
                payload = {
                    "locale": locale,
                    "action": change.action,
                    "state": change.to_state,
                    "detail": change.detail,
                    "text": change.text,
                    "office_id": case.office_id,
                    "due": _iso(case.due_on),
                    "days": case.extension_days,
                }
                kind = LAPSED if change.action == "lapse" else STATUS
                await self._add(session, chat_id, kind=kind, payload=payload, case=case, now=now)
        await self._refresh_alerts(session, case, now, skip=case.office_id)
        if case.office_id != change.office_before:
            await self._alert(session, case, case.office_id, now)
        else:
            await self._refresh_alert(session, case, case.office_id, now)
        if change.action in {"withdraw", "follow_up", "rate"}:
            group = await self._group(case.office_id)
            if group is not None:
                payload = {
                    "locale": group[1],
                    "action": change.action,
                    "detail": change.detail,
                    "text": change.text,
                }
                await self._add(
                    session, group[0], kind=STAFF_MESSAGE, payload=payload, case=case, now=now
                )

    async def _refresh_alerts(
        self, session: AsyncSession, case: Case, now: datetime, skip: str | None = None
    ) -> None:
        for office_id in await cases.offices_involved(session, case.id):
            if office_id != skip:
                await self._refresh_alert(session, case, office_id, now)

    async def _refresh_alert(
        self, session: AsyncSession, case: Case, office_id: str, now: datetime
    ) -> None:
        group = await self._group(office_id)
        if group is not None:
            await self._add(
                session,
                group[0],
                kind=ALERT_REFRESH,
                payload={"locale": group[1]},
                case=case,
                now=now,
            )

    async def follow_up_file(
        self, session: AsyncSession, case: Case, kind: str, file_id: str, now: datetime
    ) -> None:
        group = await self._group(case.office_id)
        if group is not None:
            payload = {"locale": group[1], "media": kind, "file_id": file_id}
            await self._add(session, group[0], kind=STAFF_FILE, payload=payload, case=case, now=now)

    async def full_text(
        self, session: AsyncSession, case: Case, *, chat_id: int, locale: str, now: datetime
    ) -> int:
        parts = max(1, -(-len(case.facts_text) // FULL_TEXT_PART_CHARS))
        for part in range(parts):
            payload = {"locale": locale, "part": part, "parts": parts}
            await self._add(session, chat_id, kind=FULL_TEXT, payload=payload, case=case, now=now)
        return parts

    async def case_files(
        self,
        session: AsyncSession,
        case: Case,
        *,
        chat_id: int,
        files: list[tuple[str, str]],
        locale: str,
        now: datetime,
    ) -> None:
        for kind, file_id in files:
            payload = {"locale": locale, "media": kind, "file_id": file_id}
            await self._add(session, chat_id, kind=CASE_FILE, payload=payload, case=case, now=now)

    async def reminder(
        self,
        session: AsyncSession,
        office_id: str,
        *,
        today: date,
        items: list[Case],
        more: int,
        days: int,
        now: datetime,
    ) -> bool:
        group = await self._group(office_id)
        if group is None:
            return False
        payload = {
            "locale": group[1],
            "today": today.isoformat(),
            "days": days,
            "more": max(0, more),
            "items": [[c.number, c.state, _iso(c.due_on)] for c in items],
        }
        await self._add(session, group[0], kind=REMINDER, payload=payload, case=None, now=now)
        return True
