"""Acting on cases: staff actions, the petitioner's own acts and the timers, by the table.

Every action goes through `_apply`, which checks it against `bot.lifecycle.TRANSITIONS` (who,
from which state, for which petition type, with which choice), moves the clocks, appends the
event to the case history and writes the notices it owes to the outbox — all in one
transaction. Staff are authorised on every press: only staff of the case's office or of one of
its parent offices may act, and only in the staff group of one of those offices; a petitioner
may act only on their own case, and anyone else is told the same as for a case that does not
exist. An action that needs words (a reason, an opinion) is parked as a pending input of that
person in that chat; only their next message completes it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import deadlines
from bot.directory import Directory
from bot.errors import DomainError
from bot.intake import AttachmentIn
from bot.lifecycle import OFFICE_CHOICE, TRANSITIONS, By, Dates, Transition, clock_after
from bot.notices import Change, Notices
from bot.petitioners import Actor, begin_turn
from storage import cases
from storage.db import Database
from storage.models import Attachment, Case, CaseEvent, PendingInput

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 3000  # a reason, an opinion, a follow-up: fits one message with its heading
_MAY_RETRY = frozenset({"text_expected", "text_too_long"})  # refusals that keep the question


@dataclass(frozen=True, slots=True)
class NeedChoice:
    case_id: int
    number: str
    action: str
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NeedText:
    case_id: int
    number: str
    action: str
    arg: str | None


@dataclass(frozen=True, slots=True)
class Done:
    case_id: int
    number: str
    action: str
    detail: str | None
    state: str


Outcome = NeedChoice | NeedText | Done


class Casework:
    """The lifecycle's use cases."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        tz: ZoneInfo,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = db
        self._directory = directory
        self._tz = tz
        self._now = clock or (lambda: datetime.now(UTC))
        self.notices = Notices(directory)

    # --- staff -------------------------------------------------------------------------------

    async def staff_press(
        self, user_id: int, chat_id: int, case_id: int, action: str, arg: str | None
    ) -> Outcome:
        """A staff member pressed `action` (with `arg`, if a choice was made) on a case."""
        async with self._db.sessions.begin() as session:
            case = await self._case_for_staff(session, user_id, case_id, acting_in=chat_id)
            transition = self._transition(case, By.STAFF, action)
            step = await self._next_step(case, transition, arg)
            if step is not None:
                if isinstance(step, NeedText):
                    await self._park(
                        session, user_id=user_id, chat_id=chat_id, case=case, action=action, arg=arg
                    )
                return step
            return await self._apply(
                session, case, transition, actor_id=user_id, arg=arg, text=None
            )

    async def staff_text(self, user_id: int, chat_id: int, text: str) -> Done | None:
        """The words a staff member was asked for; None when nothing was waiting for them."""
        async with self._void_on_refusal(user_id, chat_id), self._db.sessions.begin() as session:
            waiting = await cases.pending(session, user_id, chat_id)
            if waiting is None:
                return None
            await cases.clear_pending(session, user_id, chat_id)
            case = await self._case_for_staff(session, user_id, waiting.case_id, acting_in=chat_id)
            transition = self._transition(case, By.STAFF, waiting.action)
            _check_text(text)
            return await self._apply(
                session, case, transition, actor_id=user_id, arg=waiting.arg, text=text
            )

    async def send_details(
        self, user_id: int, chat_id: int, case_id: int, what: str, locale: str
    ) -> int:
        """Owe `chat_id` the case's whole facts (`full`) or its files (`files`); staff only."""
        async with self._db.sessions.begin() as session:
            case = await self._case_for_staff(session, user_id, case_id)
            now = self._now()
            if what == "full":
                return await self.notices.full_text(
                    session, case, chat_id=chat_id, locale=locale, now=now
                )
            files = [(a.kind, a.file_id) for a in await cases.attachments(session, case.id)]
            await self.notices.case_files(
                session, case, chat_id=chat_id, files=files, locale=locale, now=now
            )
            return len(files)

    async def authorised(self, user_id: int, office_id: str) -> bool:
        """True when `user_id` is staff of `office_id` or of one of its parent offices."""
        return await self._directory.is_staff_for(user_id, office_id)

    async def _case_for_staff(
        self, session: AsyncSession, user_id: int, case_id: int, *, acting_in: int | None = None
    ) -> Case:
        case = await cases.get(session, case_id, for_update=True)
        if case is None or not await self.authorised(user_id, case.office_id):
            raise DomainError("not_authorised")
        if acting_in is not None and not await self._acts_there(acting_in, case.office_id):
            raise DomainError("not_authorised")
        return case

    async def _acts_there(self, chat_id: int, office_id: str) -> bool:
        """Staff act in the group of the case's office or of a parent office, where its alert
        is and where the question and the answer may be seen: not in another office's group,
        nor in a private chat, whose next message would go to the petitioner's side."""
        group = await self._directory.office_of_group(chat_id)
        chain = await self._directory.office_chain(office_id)
        return group is not None and any(o.id == group.id for o in chain)

    # --- the petitioner ----------------------------------------------------------------------

    async def petitioner_press(
        self, actor: Actor, case_id: int, action: str, arg: str | None
    ) -> Outcome:
        async with self._db.sessions.begin() as session:
            await begin_turn(session, actor, self._now())
            case = await self._own_case(session, actor.user_id, case_id)
            transition = self._transition(case, By.PETITIONER, action)
            step = await self._next_step(case, transition, arg)
            if step is not None:
                if isinstance(step, NeedText):
                    await self._park(
                        session,
                        user_id=actor.user_id,
                        chat_id=actor.chat_id,
                        case=case,
                        action=action,
                        arg=arg,
                    )
                return step
            return await self._apply(
                session, case, transition, actor_id=actor.user_id, arg=arg, text=None
            )

    async def waiting(self, user_id: int, chat_id: int) -> NeedText | None:
        """What this person's next message in this chat completes, if anything."""
        async with self._db.reads() as session:
            row = await cases.pending(session, user_id, chat_id)
            if row is None:
                return None
            case = await cases.get(session, row.case_id)
            number = case.number if case else ""
            return NeedText(row.case_id, number, row.action, row.arg)

    async def petitioner_text(self, actor: Actor, text: str) -> Done | None:
        async with (
            self._void_on_refusal(actor.user_id, actor.chat_id),
            self._db.sessions.begin() as session,
        ):
            await begin_turn(session, actor, self._now())
            row = await cases.pending(session, actor.user_id, actor.chat_id)
            if row is None:
                return None
            _check_text(text)
            await cases.clear_pending(session, actor.user_id, actor.chat_id)
            case = await self._own_case(session, actor.user_id, row.case_id)
            transition = self._transition(case, By.PETITIONER, row.action)
            return await self._apply(
                session, case, transition, actor_id=actor.user_id, arg=row.arg, text=text
            )

    async def petitioner_file(self, actor: Actor, item: AttachmentIn) -> Done | None:
        """A file sent as a follow-up (the only action that takes one)."""
        async with (
            self._void_on_refusal(actor.user_id, actor.chat_id),
            self._db.sessions.begin() as session,
        ):
            await begin_turn(session, actor, self._now())
            row = await cases.pending(session, actor.user_id, actor.chat_id)
            if row is None:
                return None
            if row.action != "follow_up":
                raise DomainError("text_expected")
            await cases.clear_pending(session, actor.user_id, actor.chat_id)
            case = await self._own_case(session, actor.user_id, row.case_id)
            transition = self._transition(case, By.PETITIONER, "follow_up")
            now = self._now()
            await cases.add_attachment(
                session,
                Attachment(
                    case_id=case.id,
                    kind=item.kind,
                    file_id=item.file_id,
                    file_unique_id=item.file_unique_id,
                    file_name=item.file_name,
                    mime_type=item.mime_type,
                    size=item.size,
                    created_at=now,
                ),
            )
            done = await self._apply(
                session, case, transition, actor_id=actor.user_id, arg="file", text=None
            )
            await self.notices.follow_up_file(session, case, item.kind, item.file_id, now)
            return done

    @asynccontextmanager
    async def _void_on_refusal(self, user_id: int, chat_id: int) -> AsyncIterator[None]:
        """Drop the pending input when its action is refused (another member acted first, the
        case moved on): the question is void, and the person's next messages are their own
        again. Words that were only empty or too long may be sent again."""
        try:
            yield
        except DomainError as error:
            if error.code not in _MAY_RETRY:
                await self.stop_waiting(user_id, chat_id)
            raise

    async def stop_waiting(self, user_id: int, chat_id: int) -> bool:
        """Drop the pending input of this person in this chat (/cancel)."""
        async with self._db.sessions.begin() as session:
            return await cases.clear_pending(session, user_id, chat_id)

    async def _own_case(self, session: AsyncSession, user_id: int, case_id: int) -> Case:
        case = await cases.get(session, case_id, for_update=True)
        if case is None or case.petitioner_id != user_id:
            raise DomainError("case_not_found")
        return case

    # --- the timers --------------------------------------------------------------------------

    async def lapse_windows(self, session: AsyncSession, today: date) -> list[str]:
        """Close the cases whose review or recheck window ended before `today` (in the caller's
        transaction: the daily job's, which decides what day it is)."""
        transition = TRANSITIONS["lapse"]
        closed: list[str] = []
        yesterday = today - timedelta(days=1)
        for case in await cases.due_by(session, transition.sources, yesterday):
            await self._apply(session, case, transition, actor_id=None, arg=None, text=None)
            closed.append(case.number)
        return closed

    # --- the table ---------------------------------------------------------------------------

    def _transition(self, case: Case, by: By, action: str) -> Transition:
        transition = TRANSITIONS.get(action)
        if transition is None or transition.by != by:
            raise DomainError("action_unknown")
        if not transition.allowed_from(case.state, case.petition_type):
            raise DomainError("action_unavailable", number=case.number, state=case.state)
        return transition

    async def _next_step(
        self, case: Case, transition: Transition, arg: str | None
    ) -> NeedChoice | NeedText | None:
        """What the action still needs before it can be applied (None: nothing)."""
        if transition.choices:
            choices = await self._choices(case, transition)
            if arg is None:
                return NeedChoice(case.id, case.number, transition.action, choices)
            if arg not in choices:
                raise DomainError("action_unknown")
        self._guard(case, transition, arg)
        if transition.text_needed(arg):
            return NeedText(case.id, case.number, transition.action, arg)
        return None

    async def _choices(self, case: Case, transition: Transition) -> tuple[str, ...]:
        if transition.choices == (OFFICE_CHOICE,):
            return tuple(o.id for o in await self._directory.offices() if o.id != case.office_id)
        return transition.choices

    def _guard(self, case: Case, transition: Transition, arg: str | None) -> None:
        """The conditions beyond the state: deadlines that close a door, one rating per opinion."""
        today = deadlines.local_date(self._now(), self._tz)
        action = transition.action
        if action in {"request_review", "request_recheck"} and (
            case.due_on is None or today > case.due_on
        ):
            raise DomainError("window_closed", number=case.number, due=case.due_on)
        if action == "return" and (case.return_due is None or today > case.return_due):
            raise DomainError("return_late", number=case.number, due=case.return_due)
        if action == "extend" and (case.handling_due is None or today > case.handling_due):
            raise DomainError("extension_late", number=case.number, due=case.handling_due)
        if action == "rate" and case.rated_seq >= case.opinion_seq:
            raise DomainError("already_rated", number=case.number)

    async def _park(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        chat_id: int,
        case: Case,
        action: str,
        arg: str | None,
    ) -> None:
        await cases.set_pending(
            session,
            PendingInput(
                user_id=user_id,
                chat_id=chat_id,
                case_id=case.id,
                action=action,
                arg=arg,
                created_at=self._now(),
            ),
        )

    async def _apply(
        self,
        session: AsyncSession,
        case: Case,
        transition: Transition,
        *,
        actor_id: int | None,
        arg: str | None,
        text: str | None,
    ) -> Done:
        self._guard(case, transition, arg)
        now = self._now()
        today = deadlines.local_date(now, self._tz)
        before = Change(transition.action, case.state, case.state, arg, text, case.office_id)
        await self._move(case, transition, arg, today)
        dates = clock_after(
            transition,
            Dates(
                deadlines.local_date(case.submitted_at, self._tz),
                case.registration_due,
                case.handling_due,
                case.due_on,
            ),
            today,
            case.petition_type,
            int(arg) if transition.action == "extend" and arg else None,
        )
        case.registration_due, case.handling_due, case.due_on = (
            dates.registration_due,
            dates.handling_due,
            dates.due_on,
        )
        _record_choice(case, transition.action, arg, today)
        if transition.target is not None:
            case.state = transition.target
        case.updated_at = now
        internal = transition.action == "note"
        await cases.add_event(
            session,
            CaseEvent(
                case_id=case.id,
                at=now,
                actor_kind=transition.by.value,
                actor_id=actor_id,
                action=transition.action,
                from_state=before.from_state,
                to_state=case.state,
                detail=arg,
                office_id=case.office_id,
                public_text=None if internal else text,
                internal_note=text if internal else None,
            ),
        )
        change = Change(
            transition.action, before.from_state, case.state, arg, text, before.office_before
        )
        await self.notices.changed(session, case, change, now)
        log.info(
            "case %s: %s -> %s (%s)", case.number, before.from_state, case.state, change.action
        )
        return Done(case.id, case.number, transition.action, arg, case.state)

    async def _move(self, case: Case, transition: Transition, arg: str | None, today: date) -> None:
        """Hand the case to another office when the action says so."""
        if transition.moves_to == "choice" and arg is not None:
            case.previous_office_id = case.office_id
            case.office_id = arg
            case.return_due = deadlines.add_working_days(today, deadlines.RETURN_WORKING_DAYS)
        elif transition.moves_to == "previous" and case.previous_office_id is not None:
            case.office_id, case.previous_office_id = case.previous_office_id, None
            case.return_due = None
        elif transition.moves_to == "parent":
            office = await self._directory.office(case.office_id)
            case.office_id = office.parent_id or case.office_id
            case.previous_office_id, case.return_due = None, None


def _record_choice(case: Case, action: str, arg: str | None, today: date) -> None:
    if action == "accept":
        case.accepted_on = today
    elif action == "extend" and arg:
        case.extension_days = int(arg)
    elif action in {"answer", "reply", "decide_review", "decide_recheck"}:
        case.opinion = arg
        case.opinion_seq += 1
    elif action == "rate":
        case.rating = arg
        case.rated_seq = case.opinion_seq


def _check_text(text: str) -> None:
    if not text.strip():
        raise DomainError("text_expected")
    if len(text) > MAX_TEXT_CHARS:
        raise DomainError("text_too_long", limit=MAX_TEXT_CHARS, length=len(text))
