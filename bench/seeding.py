"""Filling a SQLite database with many realistic cases, fast, for the benchmarks.

`create_schema` makes the database exactly as the bot does at start (migrations, then the example
deployment's reference data). `seed_cases` adds petitioners, their submitted drafts, the cases,
each case's history and some attachments with SQLAlchemy Core `executemany` in batches, in
submission order over five years up to today: case numbers run per year as the bot hands them
out, most old cases are closed, and the open states (with deadlines that may be overdue) are
recent — so the bot's daily job finds little to lapse. It writes what the bot never would (ids
chosen here), so it is for benchmark databases only.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, event, insert, select

from bot.app import build_services
from bot.cases import case_number
from bot.sandbox.runner import EXAMPLE, SANDBOX_TOKEN
from bot.settings import Settings
from storage.models import (
    Attachment,
    Case,
    CaseCounter,
    CaseEvent,
    Category,
    Division,
    Draft,
    Petitioner,
)

YEARS = 5
# The history that leads to each state, and how common each state is among recent (≤ 60 days)
# and older cases.
HISTORY_REVIEWED = ("submit", "accept", "answer", "request_review", "decide_review")
HISTORY = {
    "submitted": ("submit",),
    "transferred": ("submit", "transfer"),
    "accepted": ("submit", "accept"),
    "extended": ("submit", "accept", "extend"),
    "answered": ("submit", "accept", "answer"),
    "review_requested": ("submit", "accept", "answer", "request_review"),
    "reviewed": HISTORY_REVIEWED,
    "closed": ("submit", "accept", "answer", "rate", "lapse"),
    "rechecked": (*HISTORY_REVIEWED, "request_recheck", "decide_recheck"),
    "not_accepted": ("submit", "not_accept"),
    "redirected": ("submit", "redirect"),
    "withdrawn": ("submit", "withdraw"),
}
RECENT = dict(submitted=15, transferred=5, accepted=35, extended=5, answered=15, reviewed=2,
              review_requested=3, not_accepted=10, redirected=7, withdrawn=3)  # fmt: skip
OLDER = {"closed": 60, "rechecked": 3, "not_accepted": 17, "redirected": 12, "withdrawn": 8}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
PHRASES = (
    "小区电梯自今年三月起一直故障，物业公司未予维修。",
    "多次书面投诉均未得到答复，居民出行十分困难。",
    "The property company has not answered three written complaints.",
    "施工噪音在夜间持续，影响附近居民休息。",
    "The road outside the school floods after every heavy rain.",
    "拖欠工资已超过三个月，用人单位拒绝支付。",
    "请求有关部门依法处理，并书面答复处理结果。",
)


def settings_for(db: Path) -> Settings:
    return Settings(
        bot_token=SecretStr(SANDBOX_TOKEN),
        database_url=f"sqlite+aiosqlite:///{db}",
        config=EXAMPLE,
        data_dir=db.parent,
    )


async def create_schema(db: Path) -> None:
    """Migrations and reference data, as `petition-bot run` makes them."""
    services = await build_services(settings_for(db), upgrade_any=True)
    await services.db.dispose()


def fast_engine(db: Path) -> Engine:
    """A synchronous engine for bulk work: no fsync, a big page cache."""
    engine = create_engine(f"sqlite:///{db}")

    @event.listens_for(engine, "connect")
    def _pragmas(conn: Any, _: Any) -> None:
        for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-262144"):
            conn.execute(f"PRAGMA {pragma}")

    return engine


def seed_cases(db: Path, count: int, *, batch: int = 20_000, seed: int = 1) -> dict[str, int]:
    """Add `count` cases (and what they need) to an empty schema; rows written per table."""
    rng = random.Random(seed)
    engine = fast_engine(db)
    with engine.begin() as conn:
        places = list(conn.scalars(select(Division.code).where(Division.selectable)))
        children = select(Category.code).where(Category.parent_code.is_not(None))
        categories = list(conn.scalars(children))
    people = max(1, int(count * 0.6))
    written = {"petitioners": 0, "drafts": 0, "cases": 0, "case_events": 0, "attachments": 0}
    with engine.begin() as conn:
        rows = _petitioners(people)
        while chunk := [row for _, row in zip(range(batch), rows, strict=False)]:
            conn.execute(insert(Petitioner), chunk)
            written["petitioners"] += len(chunk)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    step = (now - start) / count
    last_seq: dict[int, int] = {}
    tables = {"drafts": Draft, "cases": Case, "case_events": CaseEvent, "attachments": Attachment}
    for first in range(1, count + 1, batch):
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        for case_id in range(first, min(first + batch, count + 1)):
            at = start + step * case_id + timedelta(seconds=rng.randrange(60))
            seq = last_seq[at.year] = last_seq.get(at.year, 0) + 1
            place = rng.choice(("510104", "510107", "510104", "510107", rng.choice(places)))
            fields = {"petitioner_id": 1_000_000_000 + 7 * rng.randrange(people),
                      "place_code": place, "category_code": rng.choice(categories)}  # fmt: skip
            _case(out, rng, fields, case_id=case_id, seq=seq, at=at, now=now)
        with engine.begin() as conn:
            for name, model in tables.items():
                if out[name]:
                    conn.execute(insert(model), out[name])
                    written[name] += len(out[name])
    with engine.begin() as conn:
        conn.execute(insert(CaseCounter), [{"year": y, "last": n} for y, n in last_seq.items()])
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return written


def _petitioners(people: int) -> Iterator[dict[str, Any]]:
    joined = datetime.now(UTC) - timedelta(days=365 * YEARS)
    for k in range(people):
        user_id = 1_000_000_000 + 7 * k
        yield {"user_id": user_id, "chat_id": user_id, "language": None,
               "telegram_language": "zh-hans" if k % 4 else "en", "last_update_id": 0,
               "unreachable_at": None, "created_at": joined, "updated_at": joined}  # fmt: skip


def _office(place: str) -> str:
    offices = {"510104": "cd-jinjiang", "510107": "cd-wuhou"}
    return offices.get(place, "cd" if place.startswith("5101") else "sc")


def _case(
    out: dict[str, list[dict[str, Any]]],
    rng: random.Random,
    fields: dict[str, Any],
    *,
    case_id: int,
    seq: int,
    at: datetime,
    now: datetime,
) -> None:
    """One case with its draft, history and attachments, added to `out` table by table."""
    petitioner = fields["petitioner_id"]
    mix = RECENT if now - at < timedelta(days=60) else OLDER
    state = rng.choices(list(mix), weights=list(mix.values()))[0]
    office = _office(fields["place_code"])
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
    phone = "13" + "".join(rng.choices(string.digits, k=9))
    request = rng.choice(PHRASES)[:40] + "请予以解决。"
    facts = "".join(rng.choices(PHRASES, k=rng.randint(3, 12)))
    address = f"成都市{rng.choice('锦江武侯青羊金牛成华')}区{rng.randint(1, 300)}号"
    kind = rng.choice(("appeal", "appeal", "accusation", "suggestion"))
    registration_due = (at + timedelta(days=21)).date()
    history = HISTORY[state]
    answered = "answer" in history
    due: date | None = None
    if state in ("answered", "reviewed"):
        due = now.date() + timedelta(days=rng.randint(1, 30))
    elif state in ("submitted", "transferred"):
        due = registration_due
    elif state in ("accepted", "extended", "review_requested"):
        due = (at + timedelta(days=rng.randint(60, 95))).date()
    common = {**fields, "petition_type": kind, "route_acknowledged": False, "name": name,
              "request_text": request, "facts_text": facts, "phone": phone,
              "address": address}  # fmt: skip
    out["drafts"].append({"id": case_id, **common, "status": "submitted", "step": "review",
                          "consent_at": at, "created_at": at - timedelta(minutes=9),
                          "updated_at": at, "duplicate_checked": True})  # fmt: skip
    out["cases"].append({
        "id": case_id, **common, "number": case_number(at.year, seq), "year": at.year,
        "seq": seq, "query_code": "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=8)),
        "draft_id": case_id, "office_id": office, "state": state,
        "language": "zh_CN", "submitted_at": at, "registration_due": registration_due,
        "handling_due": due if state in ("accepted", "extended") else None, "due_on": due,
        "accepted_on": (at + timedelta(days=7)).date() if "accept" in history else None,
        "extension_days": 30 if state == "extended" else None,
        "opinion": rng.choice(("support", "explain", "not_support")) if answered else None,
        "opinion_seq": int(answered), "rated_seq": int("rate" in history),
        "rating": "satisfied" if "rate" in history else None, "updated_at": at,
    })  # fmt: skip
    previous = None
    for n, action in enumerate(history):
        target = state if n == len(history) - 1 else _after(action)
        out["case_events"].append({
            "case_id": case_id, "at": at + timedelta(days=4 * n), "office_id": office,
            "actor_kind": "petitioner" if action in ("submit", "withdraw", "rate") else "staff",
            "actor_id": petitioner, "action": action, "from_state": previous, "to_state": target,
            "public_text": rng.choice(PHRASES) if action in ("answer", "not_accept") else None,
        })  # fmt: skip
        previous = target
    for _ in range(rng.choice((0, 0, 0, 0, 1, 2))):
        out["attachments"].append({
            "case_id": case_id, "kind": "photo", "file_id": f"AgACAgUAAx{case_id:010d}",
            "file_unique_id": f"AgAD{case_id}", "size": 120_000, "created_at": at,
        })  # fmt: skip


def _after(action: str) -> str:
    return {"submit": "submitted", "accept": "accepted", "answer": "answered",
            "request_review": "review_requested", "decide_review": "reviewed",
            "request_recheck": "recheck_requested", "rate": "answered",
            "transfer": "transferred"}.get(action, "closed")  # fmt: skip
