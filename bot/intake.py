"""The intake use cases: a petition collected step by step into a draft, then made a case.

Each use case is one transaction: it claims the update (`begin_turn`, so a redelivered update
changes nothing), checks the draft is at the step the answer belongs to (else `StaleAction`),
validates, writes the answer and the next step together, and returns a `DraftView`. The step is
a column of the draft, never process memory, so a restart loses no answered step. `submit`
makes at most one case per draft: a second press finds the case already made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from bot import validation
from bot.cases import TERMINAL, case_number, new_query_code
from bot.deadlines import registration_due
from bot.directory import CategoryInfo, Directory, OfficeInfo
from bot.errors import DomainError, DuplicateUpdate, StaleAction
from bot.notices import Change, Notices
from bot.petitioners import Actor, begin_turn, locale_of
from storage import cases, drafts, petitioners
from storage.db import Database
from storage.models import Attachment, Case, CaseEvent, Draft, Petitioner


class Step(StrEnum):
    CONSENT = "consent"
    TYPE = "type"
    PLACE = "place"
    PLACE_CONFIRM = "place_confirm"
    CATEGORY = "category"
    ROUTE = "route"
    REQUEST = "request"
    FACTS = "facts"
    ATTACHMENTS = "attachments"
    NAME = "name"
    PHONE = "phone"
    ADDRESS = "address"
    REVIEW = "review"
    DUPLICATE = "duplicate"


PETITION_TYPES = ("suggestion", "accusation", "appeal")  # 建议意见 / 检举控告 / 申诉求决

# Where Back goes from each step (the review screen is reached only forwards).
PREVIOUS: dict[Step, Step] = {
    Step.TYPE: Step.CONSENT,
    Step.PLACE: Step.TYPE,
    Step.PLACE_CONFIRM: Step.PLACE,
    Step.CATEGORY: Step.PLACE,
    Step.ROUTE: Step.CATEGORY,
    Step.REQUEST: Step.CATEGORY,
    Step.FACTS: Step.REQUEST,
    Step.ATTACHMENTS: Step.FACTS,
    Step.NAME: Step.ATTACHMENTS,
    Step.PHONE: Step.NAME,
    Step.ADDRESS: Step.PHONE,
    Step.REVIEW: Step.ADDRESS,
    Step.DUPLICATE: Step.REVIEW,
}

# The fields the review screen can edit, and the step that collects each.
EDITABLE: dict[str, Step] = {
    "type": Step.TYPE,
    "place": Step.PLACE,
    "category": Step.CATEGORY,
    "request": Step.REQUEST,
    "facts": Step.FACTS,
    "attachments": Step.ATTACHMENTS,
    "name": Step.NAME,
    "phone": Step.PHONE,
    "address": Step.ADDRESS,
}

SAVED_FIELDS = ("name", "phone", "address")
ATTACHMENT_KINDS = ("photo", "document", "video", "voice", "audio", "video_note", "animation")
DUPLICATE_SIMILARITY = 75


@dataclass(frozen=True, slots=True)
class Limits:
    max_request_chars: int = 500
    max_facts_chars: int = 10_000
    max_attachments: int = 10
    max_attachment_bytes: int = 20 * 1024 * 1024
    draft_timeout: timedelta = timedelta(hours=24)
    max_drafts_per_day: int = 20  # new petitions one person may start in 24 hours


@dataclass(frozen=True, slots=True)
class DraftView:
    """Everything the conversation shows about a draft."""

    id: int
    step: Step
    back_to_review: bool
    petition_type: str | None
    place_code: str | None
    place_candidate: str | None
    category_code: str | None
    route_acknowledged: bool
    request_text: str | None
    facts_text: str | None
    replacing_facts: bool
    name: str | None
    phone: str | None
    address: str | None
    duplicate_of: str | None
    attachments: int
    saved_name: str | None
    saved_phone: str | None
    saved_address: str | None

    def saved(self, field: str) -> str | None:
        return {"name": self.saved_name, "phone": self.saved_phone, "address": self.saved_address}[
            field
        ]


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    kind: str
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    size: int | None


@dataclass(frozen=True, slots=True)
class Receipt:
    number: str
    query_code: str
    office: OfficeInfo
    registration_due: date
    submitted_at: datetime
    again: bool  # True when Submit was pressed again for a case already made


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    """An open case of the same petitioner about the same matter, offered as a follow-up."""

    draft: DraftView
    number: str
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class FollowUp:
    number: str


@dataclass(frozen=True, slots=True)
class Expired:
    chat_id: int
    locale: str


class Intake:
    """The intake conversation's use cases."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        tz: ZoneInfo,
        limits: Limits | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = db
        self._directory = directory
        self._tz = tz
        self.limits = limits or Limits()
        self._now = clock or (lambda: datetime.now(UTC))
        self._notices = Notices(directory)

    # --- reading ---------------------------------------------------------------------------

    async def current(self, user_id: int, update_id: int | None = None) -> DraftView | None:
        """The user's open draft, if any (read-only). Given the update being handled, raise
        DuplicateUpdate when that update was applied already (Telegram redelivered it)."""
        async with self._db.reads() as session:
            row = await petitioners.get(session, user_id)
            if row is None:
                return None
            if update_id is not None and update_id <= row.last_update_id:
                raise DuplicateUpdate
            draft = await drafts.open_for(session, user_id)
            if draft is None:
                return None
            return self._view(draft, row)

    # --- starting, leaving -----------------------------------------------------------------

    async def start(self, actor: Actor, *, fresh: bool = False) -> tuple[DraftView, bool]:
        """The open draft to continue (resumed=True), or a new one at the consent step."""
        async with self._db.sessions.begin() as session:
            row = await begin_turn(session, actor, self._now())
            draft = await drafts.open_for(session, actor.user_id)
            if draft is not None and not fresh:
                return self._view(draft, row), True
            now = self._now()
            started = await drafts.count_started_since(
                session, actor.user_id, now - timedelta(days=1)
            )
            if started >= self.limits.max_drafts_per_day:
                raise DomainError("too_many_drafts", maximum=self.limits.max_drafts_per_day)
            if draft is not None:
                draft.status = "cancelled"
            draft = await drafts.add(
                session,
                Draft(
                    petitioner_id=actor.user_id,
                    status="open",
                    step=Step.CONSENT,
                    back_to_review=False,
                    route_acknowledged=False,
                    duplicate_checked=False,
                    created_at=now,
                    updated_at=now,
                ),
            )
            return self._view(draft, row, attachments=0), False

    async def cancel(self, actor: Actor) -> bool:
        """Cancel the open draft; False when there was none."""
        async with self._db.sessions.begin() as session:
            await begin_turn(session, actor, self._now())
            draft = await drafts.open_for(session, actor.user_id)
            if draft is None:
                return False
            draft.status = "cancelled"
            draft.updated_at = self._now()
            return True

    async def expire_stale(self) -> list[Expired]:
        """Close drafts idle for longer than the timeout; whom to tell, in which language."""
        before = self._now() - self.limits.draft_timeout
        async with self._db.sessions.begin() as session:
            out = []
            for draft, row in await drafts.stale(session, before):
                draft.status = "expired"
                out.append(Expired(row.chat_id, locale_of(row, None)))
            return out

    # --- the steps -------------------------------------------------------------------------

    async def back(self, actor: Actor, draft_id: int, step: Step) -> DraftView:
        """Go back one step from `step` (or to the review when editing from it)."""
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, step)
            target = PREVIOUS.get(step)
            if target is None:
                raise StaleAction
            if draft.back_to_review and step not in (Step.REVIEW, Step.DUPLICATE):
                target = Step.REVIEW
            return await self._goto(session, draft, row, target)

    async def consent(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.CONSENT)
            draft.consent_at = self._now()
            return await self._advance(session, draft, row, Step.TYPE)

    async def choose_type(self, actor: Actor, draft_id: int, petition_type: str) -> DraftView:
        if petition_type not in PETITION_TYPES:
            raise StaleAction
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.TYPE)
            draft.petition_type = petition_type
            return await self._advance(session, draft, row, Step.PLACE)

    async def choose_place(self, actor: Actor, draft_id: int, code: str) -> DraftView:
        """A place picked from buttons (search results or browsing) or a confirmed location."""
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.PLACE, Step.PLACE_CONFIRM)
            await self._check_place(code)
            draft.place_code = code
            draft.place_candidate = None
            return await self._advance(session, draft, row, Step.CATEGORY)

    async def propose_place(self, actor: Actor, draft_id: int, code: str | None) -> DraftView:
        """A place found from a shared location, to be confirmed by the user."""
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.PLACE, Step.PLACE_CONFIRM)
            if code is None:
                raise DomainError("location_unknown")
            await self._check_place(code)
            draft.place_candidate = code
            return await self._goto(session, draft, row, Step.PLACE_CONFIRM)

    async def reject_place(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.PLACE_CONFIRM)
            draft.place_candidate = None
            return await self._goto(session, draft, row, Step.PLACE)

    async def choose_category(self, actor: Actor, draft_id: int, code: str) -> DraftView:
        """A second-level category; one with a legal route stops at the route step."""
        category = await self._directory.category(code)
        if category is None or not category.is_leaf:
            raise StaleAction
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.CATEGORY)
            draft.category_code = code
            draft.route_acknowledged = False
            if category.route:
                return await self._goto(session, draft, row, Step.ROUTE)
            return await self._advance(session, draft, row, Step.REQUEST)

    async def take_route(self, actor: Actor, draft_id: int) -> CategoryInfo:
        """The petitioner will use the legal route: the draft ends, the guidance is kept."""
        async with self._db.sessions.begin() as session:
            draft, _ = await self._turn(session, actor, draft_id, Step.ROUTE)
            category = await self._directory.category(draft.category_code or "")
            if category is None:
                raise StaleAction
            draft.status = "diverted"
            return category

    async def submit_anyway(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.ROUTE)
            draft.route_acknowledged = True
            return await self._advance(session, draft, row, Step.REQUEST)

    async def other_category(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.ROUTE)
            draft.category_code = None
            return await self._goto(session, draft, row, Step.CATEGORY)

    async def set_request(self, actor: Actor, draft_id: int, text: str) -> DraftView:
        value = validation.request(text, self.limits.max_request_chars)
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.REQUEST)
            draft.request_text = value
            return await self._advance(session, draft, row, Step.FACTS)

    async def add_facts(self, actor: Actor, draft_id: int, text: str) -> DraftView:
        """Append one message to the facts; several messages are joined."""
        part = validation.clean_text(text)
        if not part:
            raise DomainError("empty")
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.FACTS)
            kept = None if draft.replace_facts else draft.facts_text
            joined = f"{kept}\n\n{part}" if kept else part
            if len(joined) > self.limits.max_facts_chars:
                used = len(kept) + 2 if kept else 0  # 2: the "\n\n"
                raise DomainError(
                    "facts_too_long",
                    maximum=self.limits.max_facts_chars,
                    left=max(0, self.limits.max_facts_chars - used),
                )
            draft.facts_text = joined
            draft.replace_facts = False
            draft.updated_at = self._now()
            return self._view(draft, row)

    async def facts_done(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.FACTS)
            if len(draft.facts_text or "") < validation.FACTS_MIN:
                raise DomainError("facts_missing", minimum=validation.FACTS_MIN)
            return await self._advance(session, draft, row, Step.ATTACHMENTS)

    async def add_attachment(self, actor: Actor, draft_id: int, item: AttachmentIn) -> DraftView:
        if item.kind not in ATTACHMENT_KINDS:
            raise DomainError("attachment_kind")
        if item.size is not None and item.size > self.limits.max_attachment_bytes:
            raise DomainError(
                "attachment_too_large", maximum_mb=self.limits.max_attachment_bytes // 2**20
            )
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.ATTACHMENTS)
            if draft.attachment_count >= self.limits.max_attachments:
                raise DomainError("attachments_full", maximum=self.limits.max_attachments)
            await drafts.add_attachment(
                session,
                Attachment(
                    draft_id=draft.id,
                    kind=item.kind,
                    file_id=item.file_id,
                    file_unique_id=item.file_unique_id,
                    file_name=validation.one_line(item.file_name)[:256] if item.file_name else None,
                    mime_type=(item.mime_type or "")[:128] or None,
                    size=item.size,
                    created_at=self._now(),
                ),
            )
            draft.updated_at = self._now()
            await session.refresh(draft, ["attachment_count"])
            return self._view(draft, row)

    async def clear_attachments(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.ATTACHMENTS)
            await drafts.delete_attachments(session, draft.id)
            await session.refresh(draft, ["attachment_count"])
            return self._view(draft, row)

    async def attachments_done(self, actor: Actor, draft_id: int) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.ATTACHMENTS)
            return await self._advance(session, draft, row, Step.NAME)

    async def set_name(self, actor: Actor, draft_id: int, text: str) -> DraftView:
        return await self._set_detail(actor, draft_id, "name", validation.name(text))

    async def set_phone(self, actor: Actor, draft_id: int, text: str) -> DraftView:
        return await self._set_detail(actor, draft_id, "phone", validation.phone(text))

    async def set_contact(
        self, actor: Actor, draft_id: int, phone_number: str, contact_user_id: int | None
    ) -> DraftView:
        """A shared contact: accepted only when it is the sender's own."""
        if contact_user_id != actor.user_id:
            raise DomainError("contact_not_own")
        return await self._set_detail(
            actor, draft_id, "phone", validation.contact_phone(phone_number)
        )

    async def set_address(self, actor: Actor, draft_id: int, text: str) -> DraftView:
        return await self._set_detail(actor, draft_id, "address", validation.address(text))

    async def use_saved(self, actor: Actor, draft_id: int, field: str) -> DraftView:
        """Reuse the name, phone or address of the petitioner's previous petition."""
        if field not in SAVED_FIELDS:
            raise StaleAction
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, _STEP_OF[field])
            value = getattr(row, f"saved_{field}")
            if not value:
                raise StaleAction
            setattr(draft, field, value)
            return await self._advance(session, draft, row, _NEXT_OF[field])

    async def edit(self, actor: Actor, draft_id: int, field: str) -> DraftView:
        """From the review, go to the step of `field`; its answer returns to the review."""
        step = EDITABLE.get(field)
        if step is None:
            raise StaleAction
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, Step.REVIEW)
            draft.back_to_review = True
            draft.duplicate_checked = False
            draft.duplicate_of = None
            # The facts are replaced by the next message, not before: Back keeps them.
            draft.replace_facts = field == "facts"
            return await self._goto(session, draft, row, step)

    # --- submitting ------------------------------------------------------------------------

    async def submit(
        self, actor: Actor, draft_id: int, *, as_new: bool = False
    ) -> Receipt | PossibleDuplicate:
        """Make the case (once). An open case about the same matter is offered first.

        Once the draft is a case, every Submit answers with its receipt (`again=True`): also
        one whose update lost the race to a later update of the same person (DuplicateUpdate).
        """
        async with self._db.sessions.begin() as session:
            try:
                row = await begin_turn(session, actor, self._now())
            except DuplicateUpdate:
                made = await cases.by_draft(session, draft_id)
                if made is None or made.petitioner_id != actor.user_id:
                    raise
                return await self._receipt(made, again=True)
            existing = await cases.by_draft(session, draft_id)
            if existing is not None and existing.petitioner_id == actor.user_id:
                return await self._receipt(existing, again=True)
            draft = await drafts.get(session, draft_id)
            allowed = (Step.DUPLICATE,) if as_new else (Step.REVIEW,)
            if (
                draft is None
                or draft.petitioner_id != actor.user_id
                or draft.status != "open"
                or draft.step not in allowed
            ):
                raise StaleAction
            _require_complete(draft)
            if not as_new and not draft.duplicate_checked:
                match = await self._similar_open_case(session, draft)
                draft.duplicate_checked = True
                if match is not None:
                    draft.step = Step.DUPLICATE
                    draft.duplicate_of = match.number
                    view = self._view(draft, row)
                    return PossibleDuplicate(view, match.number, match.submitted_at)
            case = await self._make_case(session, draft, row, actor)
            return await self._receipt(case, again=False)

    async def follow_up(self, actor: Actor, draft_id: int) -> FollowUp:
        """Add the draft to the open case it duplicates, as a follow-up instead of a new case."""
        async with self._db.sessions.begin() as session:
            draft, _ = await self._turn(session, actor, draft_id, Step.DUPLICATE)
            case = await cases.by_number(session, draft.duplicate_of or "")
            if case is None or case.petitioner_id != actor.user_id or case.state in TERMINAL:
                raise StaleAction
            text = f"{draft.request_text}\n\n{draft.facts_text}"
            now = self._now()
            await cases.add_event(
                session,
                CaseEvent(
                    case_id=case.id,
                    at=now,
                    actor_kind="petitioner",
                    actor_id=actor.user_id,
                    action="follow_up",
                    from_state=case.state,
                    to_state=case.state,
                    office_id=case.office_id,
                    public_text=text,
                ),
            )
            await drafts.move_attachments_to_case(session, draft.id, case.id)
            draft.status = "merged"
            change = Change("follow_up", case.state, case.state, None, text, case.office_id)
            await self._notices.changed(session, case, change, now)
            return FollowUp(case.number)

    # --- internals -------------------------------------------------------------------------

    async def _turn(
        self, session: AsyncSession, actor: Actor, draft_id: int, *steps: Step
    ) -> tuple[Draft, Petitioner]:
        row = await begin_turn(session, actor, self._now())
        draft = await drafts.open_for(session, actor.user_id)
        if draft is None or draft.id != draft_id or draft.step not in steps:
            raise StaleAction
        return draft, row

    async def _set_detail(self, actor: Actor, draft_id: int, field: str, value: str) -> DraftView:
        async with self._db.sessions.begin() as session:
            draft, row = await self._turn(session, actor, draft_id, _STEP_OF[field])
            setattr(draft, field, value)
            return await self._advance(session, draft, row, _NEXT_OF[field])

    async def _check_place(self, code: str) -> None:
        place = await self._directory.place(code)
        if place is None:
            raise DomainError("place_outside")
        if not place.selectable:
            raise DomainError("place_not_county")

    async def _advance(
        self, session: AsyncSession, draft: Draft, row: Petitioner, step: Step
    ) -> DraftView:
        """Move forward to `step`, or back to the review when the answer was an edit."""
        return await self._goto(session, draft, row, Step.REVIEW if draft.back_to_review else step)

    async def _goto(
        self, session: AsyncSession, draft: Draft, row: Petitioner, step: Step
    ) -> DraftView:
        if step == Step.REVIEW:
            draft.back_to_review = False
            draft.replace_facts = False
        draft.step = step
        draft.updated_at = self._now()
        await session.flush()
        return self._view(draft, row)

    def _view(self, draft: Draft, row: Petitioner, attachments: int | None = None) -> DraftView:
        return DraftView(
            id=draft.id,
            step=Step(draft.step),
            back_to_review=draft.back_to_review,
            petition_type=draft.petition_type,
            place_code=draft.place_code,
            place_candidate=draft.place_candidate,
            category_code=draft.category_code,
            route_acknowledged=draft.route_acknowledged,
            request_text=draft.request_text,
            facts_text=draft.facts_text,
            replacing_facts=draft.replace_facts,
            name=draft.name,
            phone=draft.phone,
            address=draft.address,
            duplicate_of=draft.duplicate_of,
            attachments=draft.attachment_count if attachments is None else attachments,
            saved_name=row.saved_name,
            saved_phone=row.saved_phone,
            saved_address=row.saved_address,
        )

    async def _similar_open_case(self, session: AsyncSession, draft: Draft) -> Case | None:
        mine = f"{draft.request_text} {draft.facts_text}"[:600]
        for case in await cases.open_for_petitioner(session, draft.petitioner_id, tuple(TERMINAL)):
            if case.place_code != draft.place_code or case.category_code != draft.category_code:
                continue
            theirs = f"{case.request_text} {case.facts_text}"[:600]
            # Chinese has no spaces between words: token_set_ratio sees the request and the
            # facts as two 'words' and may sort them apart, so plain ratio counts too.
            similarity = max(fuzz.token_set_ratio(mine, theirs), fuzz.ratio(mine, theirs))
            if similarity >= DUPLICATE_SIMILARITY:
                return case
        return None

    async def _make_case(
        self, session: AsyncSession, draft: Draft, row: Petitioner, actor: Actor
    ) -> Case:
        now = self._now()
        office = await self._directory.responsible_office(draft.place_code or "")
        year = now.astimezone(self._tz).year
        seq = await cases.next_seq(session, year)
        case = await cases.add(
            session,
            Case(
                number=case_number(year, seq),
                year=year,
                seq=seq,
                query_code=new_query_code(),
                draft_id=draft.id,
                petitioner_id=actor.user_id,
                office_id=office.id,
                state="submitted",
                petition_type=draft.petition_type or "",
                place_code=draft.place_code or "",
                category_code=draft.category_code or "",
                route_acknowledged=draft.route_acknowledged,
                request_text=draft.request_text or "",
                facts_text=draft.facts_text or "",
                name=draft.name or "",
                phone=draft.phone or "",
                address=draft.address or "",
                language=locale_of(row, actor.language_code),
                submitted_at=now,
                registration_due=registration_due(now, self._tz),
                due_on=registration_due(now, self._tz),
                updated_at=now,
            ),
        )
        await cases.add_event(
            session,
            CaseEvent(
                case_id=case.id,
                at=now,
                actor_kind="petitioner",
                actor_id=actor.user_id,
                action="submit",
                from_state=None,
                to_state="submitted",
                office_id=office.id,
            ),
        )
        await drafts.move_attachments_to_case(session, draft.id, case.id)
        draft.status = "submitted"
        draft.updated_at = now
        row.saved_name, row.saved_phone, row.saved_address = draft.name, draft.phone, draft.address
        await self._notices.submitted(session, case, now)
        return case

    async def _receipt(self, case: Case, *, again: bool) -> Receipt:
        office = await self._directory.office(case.office_id)
        return Receipt(
            case.number, case.query_code, office, case.registration_due, case.submitted_at, again
        )


_STEP_OF = {"name": Step.NAME, "phone": Step.PHONE, "address": Step.ADDRESS}
_NEXT_OF = {"name": Step.PHONE, "phone": Step.ADDRESS, "address": Step.REVIEW}


def _require_complete(draft: Draft) -> None:
    """V1/V2: every required field present before a case is made."""
    required = {
        "type": draft.petition_type,
        "place": draft.place_code,
        "category": draft.category_code,
        "request": draft.request_text,
        "facts": draft.facts_text,
        "name": draft.name,
        "phone": draft.phone,
        "address": draft.address,
        "consent": draft.consent_at,
    }
    missing = [field for field, value in required.items() if not value]
    if missing:
        raise DomainError("incomplete", fields=missing)
