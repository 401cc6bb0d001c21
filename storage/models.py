"""The database schema as typed SQLAlchemy 2 models.

One class per table; no behaviour beyond column definitions and constraints. Relationships are
deliberately absent: repositories join explicitly, so nothing lazy-loads behind an `await`.
Timestamps are UTC (`UTCDateTime`); calendar dates (deadlines) are local dates of the deployment.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


# --- reference data -------------------------------------------------------------------------


class Division(Base):
    """An administrative division (GB/T 2260), restricted to the deployment's root."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))  # province | prefecture | county
    kind: Mapped[str] = mapped_column(String(16))  # 省, 地级市, 市辖区, 县, ...
    parent_code: Mapped[str | None] = mapped_column(String(6), index=True)
    # True for a division that takes petitions as a place: a county-level unit, or a city
    # without counties (东莞, 中山 …).
    selectable: Mapped[bool] = mapped_column(Boolean, default=False)


class Category(Base):
    """A two-level petition category from the shipped (or deployment's) categories file."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(8), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    # Legal route (domain-rules §7): court | arbitration | reconsideration | discipline | other_body
    route: Mapped[str | None] = mapped_column(String(24))
    route_zh: Mapped[str | None] = mapped_column(Text)
    route_en: Mapped[str | None] = mapped_column(Text)
    limit_zh: Mapped[str | None] = mapped_column(Text)
    limit_en: Mapped[str | None] = mapped_column(Text)


class ReferenceVersion(Base):
    """Which version of each reference data set is loaded (divisions, categories, deployment)."""

    __tablename__ = "reference_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[datetime]


class Office(Base):
    """A petition office from the deployment config."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(256))
    level: Mapped[str] = mapped_column(String(16))  # provincial | prefectural | county
    parent_id: Mapped[str | None] = mapped_column(String(32))
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # The language the office's staff group is written to (zh_CN | en).
    language: Mapped[str] = mapped_column(String(16), default="zh_CN", server_default="zh_CN")


class OfficeArea(Base):
    """A division code an office covers (a whole subtree: province, prefecture or county)."""

    __tablename__ = "office_areas"

    office_id: Mapped[str] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    division_code: Mapped[str] = mapped_column(String(6), primary_key=True)


class Staff(Base):
    """A staff member of an office, identified by Telegram user id."""

    __tablename__ = "staff"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    office_id: Mapped[str] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # officer | head


# --- citizens and their petitions -----------------------------------------------------------


class Petitioner(Base):
    """A Telegram user who talks to the bot in a private chat."""

    __tablename__ = "petitioners"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(
        String(16)
    )  # explicit choice; overrides Telegram's
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    saved_name: Mapped[str | None] = mapped_column(String(128))
    saved_phone: Mapped[str | None] = mapped_column(String(32))
    saved_address: Mapped[str | None] = mapped_column(Text)
    # The newest update applied to this petitioner: a redelivered update is recognised and not
    # applied twice.
    last_update_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when Telegram said the bot may not write to this person (blocked, chat gone).
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Attachment(Base):
    """A file the petitioner sent, kept by Telegram file id; belongs to a draft, then its case."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # photo | document | video | voice | audio
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Draft(Base):
    """A petition being collected. `step` is the conversation state, written with each answer."""

    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_petitioner_status", "petitioner_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petitioner_id: Mapped[int] = mapped_column(
        ForeignKey("petitioners.user_id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))  # open|submitted|cancelled|expired|diverted
    step: Mapped[str] = mapped_column(String(24))
    back_to_review: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None]
    petition_type: Mapped[str | None] = mapped_column(String(16))
    place_code: Mapped[str | None] = mapped_column(String(6))
    place_candidate: Mapped[str | None] = mapped_column(String(6))  # from a location, unconfirmed
    category_code: Mapped[str | None] = mapped_column(String(8))
    route_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    request_text: Mapped[str | None] = mapped_column(Text)
    facts_text: Mapped[str | None] = mapped_column(Text)
    # Editing the facts from the review: the next message replaces them (until then they stay).
    replace_facts: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    duplicate_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of: Mapped[str | None] = mapped_column(String(16))  # an open case offered instead
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Files attached so far: read in the same statement as the draft (no column). Adding or
    # removing files, or a flush, leaves it as loaded: refresh it after changing the files.
    attachment_count: Mapped[int] = column_property(
        select(func.count(Attachment.id))
        .where(Attachment.draft_id == id)
        .correlate_except(Attachment)
        .scalar_subquery(),
        expire_on_flush=False,
    )


class Case(Base):
    """A submitted petition. Made exactly once per draft (`draft_id` is unique)."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_cases_year_seq"),
        Index("ix_cases_petitioner", "petitioner_id"),
        Index("ix_cases_office_state", "office_id", "state"),
        Index("ix_cases_state_due", "state", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    query_code: Mapped[str] = mapped_column(String(16))
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), unique=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.user_id"))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    state: Mapped[str] = mapped_column(String(24))
    petition_type: Mapped[str] = mapped_column(String(16))
    place_code: Mapped[str] = mapped_column(String(6))
    category_code: Mapped[str] = mapped_column(String(8))
    route_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    request_text: Mapped[str] = mapped_column(Text)
    facts_text: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime]
    registration_due: Mapped[date] = mapped_column(Date)
    handling_due: Mapped[date | None] = mapped_column(Date)
    # The deadline of the current state: the office's (register, handle, decide) or, once an
    # opinion is out, the last day the petitioner may ask for the next review.
    due_on: Mapped[date | None] = mapped_column(Date)
    # A transferred case may be sent back, within 5 working days, to the office that sent it.
    previous_office_id: Mapped[str | None] = mapped_column(String(32))
    return_due: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    extension_days: Mapped[int | None] = mapped_column(Integer)
    # Each opinion (answer, review, recheck decision, reply to a suggestion) bumps opinion_seq;
    # the petitioner may rate it once (rated_seq catches up).
    opinion: Mapped[str | None] = mapped_column(String(16))
    opinion_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rated_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating: Mapped[str | None] = mapped_column(String(24))
    updated_at: Mapped[datetime]


class CaseCounter(Base):
    """The last case sequence number handed out per year."""

    __tablename__ = "case_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class CaseEvent(Base):
    """One step of a case's append-only history."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(16))  # petitioner | staff | system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    # The action's choice, if it had one: opinion, outcome, rating, days, target office.
    detail: Mapped[str | None] = mapped_column(String(32))
    office_id: Mapped[str | None] = mapped_column(String(32))  # responsible after the event
    public_text: Mapped[str | None] = mapped_column(Text)
    internal_note: Mapped[str | None] = mapped_column(Text)


class CaseAlert(Base):
    """The alert message about a case in a staff group, edited in place as the case moves."""

    __tablename__ = "case_alerts"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger)


class PendingInput(Base):
    """An action waiting for one person's text (a reason, an opinion) in one chat."""

    __tablename__ = "pending_inputs"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(String(24))
    arg: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]


class JobRun(Base):
    """The last local day a periodic job ran: a missed run is caught up, no run is doubled."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    ran_at: Mapped[datetime]


class Outbox(Base):
    """A message owed to a chat, written in the transaction that made it owed."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    payload: Mapped[dict[str, Any]]
    # pending | sending | sent | failed_temporary | failed_permanent
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # The process whose dispatcher claimed the row (while `sending`): a dispatcher that takes
    # over from a stopped one puts only the other processes' rows back.
    claimed_by: Mapped[str | None] = mapped_column(String(64))


# --- running the bot ------------------------------------------------------------------------


class InboundUpdate(Base):
    """An update from Telegram, stored before it is confirmed to Telegram, then handled once.

    `chat_key` orders a chat's updates: while one process handles an update of a chat, no other
    process takes that chat's updates. `lease_until` is when a handling process that stopped
    renewing is given up on, and its updates are taken by another.
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (
        Index("ix_inbound_updates_status_update", "status", "update_id"),
        Index("ix_inbound_updates_chat_key_status", "chat_key", "status"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[str] = mapped_column(String(48))
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12))  # pending | handling | done | failed
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class Lease(Base):
    """A role that one process at a time holds (polling, sending the outbox), until it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
