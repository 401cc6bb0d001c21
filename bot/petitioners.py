"""Petitioners: who is talking, in which language, and whether this update is new.

`begin_turn` opens every state-changing use case: it loads (or creates) the petitioner row,
locked for the rest of the transaction, and refuses an update that was already applied, which
makes redelivered updates harmless. The language choice is stored here too.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import DuplicateUpdate
from bot.i18n import SUPPORTED, negotiate
from storage import petitioners
from storage.db import Database
from storage.models import Petitioner

REMEMBERED = 20_000  # people whose language choice is kept in memory (SQLite only)


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind an update: Telegram user id, their private chat, the update id."""

    user_id: int
    chat_id: int
    update_id: int
    language_code: str | None = None


async def begin_turn(session: AsyncSession, actor: Actor, now: datetime) -> Petitioner:
    """Lock (or create) the actor's row and claim this update; raise DuplicateUpdate if seen."""
    row = await petitioners.get(session, actor.user_id, for_update=True)
    if row is None:  # a new person; a concurrent first update may be inserting them too
        await petitioners.add_if_missing(
            session,
            user_id=actor.user_id,
            chat_id=actor.chat_id,
            telegram_language=actor.language_code,
            last_update_id=0,
            created_at=now,
            updated_at=now,
        )
        row = await petitioners.get(session, actor.user_id, for_update=True)
        assert row is not None
    if actor.update_id <= row.last_update_id:
        raise DuplicateUpdate
    row.last_update_id = actor.update_id
    row.chat_id = actor.chat_id
    if actor.language_code:
        row.telegram_language = actor.language_code
    row.updated_at = now
    return row


def locale_of(row: Petitioner | None, language_code: str | None) -> str:
    """The explicit choice if there is one, else the negotiated Telegram language."""
    if row is not None and row.language in SUPPORTED:
        return row.language
    return negotiate(language_code or (row.telegram_language if row else None))


class Petitioners:
    """Use cases about the person rather than a petition."""

    def __init__(self, db: Database, *, remembered: int = REMEMBERED) -> None:
        self._db = db
        # The language each person chose, for the locale of every update without a read of
        # its own. Only on SQLite, where this process is the only one (docs/deployment.md) and
        # a choice changes only through `set_language` here; with PostgreSQL another process
        # may change it, so it is read each time. The most recent `remembered` people are kept.
        self._choices: OrderedDict[int, str | None] | None = OrderedDict() if db.is_sqlite else None
        self._remembered = remembered

    async def locale_for(self, user_id: int, language_code: str | None) -> str:
        choices = self._choices
        if choices is not None and user_id in choices:
            choices.move_to_end(user_id)
            choice = choices[user_id]
        else:
            async with self._db.reads() as session:
                choice = await petitioners.language_of(session, user_id)
            self._remember(user_id, choice)
        if choice in SUPPORTED:
            return choice
        return negotiate(language_code)

    async def set_language(self, actor: Actor, locale: str) -> str:
        if locale not in SUPPORTED:
            locale = negotiate(locale)
        async with self._db.sessions.begin() as session:
            row = await begin_turn(session, actor, datetime.now(UTC))
            row.language = locale
        self._remember(actor.user_id, locale)
        return locale

    def _remember(self, user_id: int, choice: str | None) -> None:
        if self._choices is None:
            return
        self._choices[user_id] = choice
        self._choices.move_to_end(user_id)
        if len(self._choices) > self._remembered:
            self._choices.popitem(last=False)
