"""The categories file: the shipped one is complete and routes matters as domain-rules §7.3 says,
and every kind of mistake in a replacement file is reported with its location, several at once.

Each bad file is the small valid file below with one edit, written into tmp_path; `_edit` refuses
an edit that matches nothing, so no test passes by accident on an unchanged file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.categories import (
    ROUTES,
    CategoriesError,
    CategoryRecord,
    categories_path,
    categories_version,
    load_categories,
)
from bot.deployment import Deployment

FIRST_LEVEL = (
    "农村农业 自然资源 城乡建设 劳动和社会保障 卫生健康 教育 民政与应急 政法 经济管理 市场监管"
    " 交通运输 文体旅游 科技与信息产业 生态环境 党务政务 组织人事 纪检监察 军队事务 其他"
)

VALID = """\
[[categories]]
code = "01"
name_zh = "劳动和社会保障"
name_en = "Labour and social security"

[[categories.children]]
code = "0101"
name_zh = "劳动关系"
name_en = "Employment relations"
route = "arbitration"
route_zh = "须先向劳动争议仲裁委员会申请仲裁。"
route_en = "Apply to the labour dispute arbitration committee first."
limit_zh = "1年。"
limit_en = "1 year."

[[categories.children]]
code = "0102"
name_zh = "就业培训"
name_en = "Employment and training"

[[categories]]
code = "02"
name_zh = "其他"
name_en = "Other"

[[categories.children]]
code = "0201"
name_zh = "其他事项"
name_en = "Other matters"
"""


def _edit(old: str, new: str, count: int = 1) -> str:
    assert VALID.count(old) >= count, f"the edit {old!r} matches nothing"
    return VALID.replace(old, new, count)


def _issues(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "categories.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CategoriesError) as raised:
        load_categories(path)
    assert raised.value.source == str(path)
    return [str(issue) for issue in raised.value.issues]


def _by_code(records: list[CategoryRecord]) -> dict[str, CategoryRecord]:
    return {r.code: r for group in records for r in (group, *group.children)}


# --- the shipped file --------------------------------------------------------------------------


def test_the_shipped_file_has_the_post_2018_first_level_in_order(
    categories: list[CategoryRecord],
) -> None:
    assert [c.name_zh for c in categories] == FIRST_LEVEL.split()
    assert [c.code for c in categories[:3]] == ["01", "02", "03"]
    assert categories[-1].code == "99"  # 其他, as in the 990000 of the vendor tables


def test_every_group_has_three_to_eight_items_coded_under_it(
    categories: list[CategoryRecord],
) -> None:
    for group in categories:
        assert 3 <= len(group.children) <= 8, group.name_zh
        assert group.parent_code is None and group.route is None
        for item in group.children:
            assert len(item.code) == 4 and item.code.startswith(group.code)
            assert item.parent_code == group.code and item.children == ()
            assert item.name_zh.strip() and item.name_en.strip()


def test_a_route_always_comes_with_both_languages_of_route_and_limit(
    categories: list[CategoryRecord],
) -> None:
    routed = [item for group in categories for item in group.children if item.route]
    assert len(routed) >= 12
    for item in routed:
        assert item.route in ROUTES
        assert item.route_zh and item.route_en and item.limit_zh and item.limit_en, item.code


@pytest.mark.parametrize(
    ("name_zh", "route", "limit_zh", "limit_en"),
    [
        ("劳动关系", "arbitration", "1年", "1 year"),
        ("工资福利", "arbitration", "1年", "1 year"),
        ("土地承包经营", "arbitration", "2年", "2 years"),
        ("土地征收", "reconsideration", "60日", "60 days"),
        ("国有土地上房屋征收与补偿", "reconsideration", "6个月", "6 months"),
        ("工伤认定", "reconsideration", "60日", "6 months"),
        ("政府信息公开", "reconsideration", "60日", "60 days"),
        ("行政处罚", "reconsideration", "6个月", "60 days"),
        ("民事判决再审", "court", "6个月", "6 months"),
        ("诉讼", "court", "法律", "law"),
        ("仲裁与调解", "arbitration", "1年", "2 years"),
        ("行政复议", "reconsideration", "60日", "60 days"),
        ("贪污贿赂", "discipline", "未规定", "no time limit"),
    ],
)
def test_matters_with_a_statutory_route_name_it_with_its_time_limit(
    categories: list[CategoryRecord], name_zh: str, route: str, limit_zh: str, limit_en: str
) -> None:
    item = next(i for group in categories for i in group.children if i.name_zh == name_zh)
    assert item.route == route
    assert item.limit_zh is not None and limit_zh in item.limit_zh
    assert item.limit_en is not None and limit_en in item.limit_en


def test_accusations_against_officials_point_to_12388(categories: list[CategoryRecord]) -> None:
    group = next(g for g in categories if g.name_zh == "纪检监察")
    assert all(item.route == "discipline" for item in group.children)
    assert all("12388" in (item.route_zh or "") for item in group.children)
    assert all("12388" in (item.route_en or "") for item in group.children)


def test_no_text_says_petitioning_stops_or_extends_a_limitation_period(
    categories: list[CategoryRecord],
) -> None:
    words = ("中止", "中断", "延长", "暂停", "suspend", "interrupt", "extend", "pause", "stop")
    for group in categories:
        for item in group.children:
            for text in (item.route_zh, item.route_en, item.limit_zh, item.limit_en):
                assert not any(word in (text or "").lower() for word in words), item.code


def test_items_without_a_route_carry_no_route_texts(categories: list[CategoryRecord]) -> None:
    plain = _by_code(categories)["0102"]
    assert plain.route is None and plain.route_zh is None and plain.limit_en is None


def test_the_version_follows_the_content(tmp_path: Path, categories: list[CategoryRecord]) -> None:
    path = tmp_path / "categories.toml"
    path.write_text(VALID, encoding="utf-8")
    version = categories_version(load_categories(path))
    path.write_text("# a comment only\n" + VALID, encoding="utf-8")
    assert categories_version(load_categories(path)) == version
    path.write_text(_edit("其他事项", "其他问题"), encoding="utf-8")
    assert categories_version(load_categories(path)) != version
    assert categories_version(categories).startswith("sha256:")


def test_a_deployment_may_name_a_replacement_file(tmp_path: Path, deployment: Deployment) -> None:
    assert categories_path(deployment) is None
    jurisdiction = deployment.config.jurisdiction.model_copy(
        update={"categories": Path("mine.toml")}
    )
    config = deployment.config.model_copy(update={"jurisdiction": jurisdiction})
    other = Deployment(config, deployment.divisions, tmp_path / "deployment.toml")
    assert categories_path(other) == tmp_path / "mine.toml"


# --- replacement files and their mistakes ------------------------------------------------------


def test_a_valid_replacement_file_loads_in_order(tmp_path: Path) -> None:
    path = tmp_path / "categories.toml"
    path.write_text(VALID, encoding="utf-8")
    records = load_categories(path)
    assert [(g.code, [c.code for c in g.children]) for g in records] == [
        ("01", ["0101", "0102"]),
        ("02", ["0201"]),
    ]
    assert records[0].children[0].route == "arbitration"
    assert records[0].children[0].limit_en == "1 year."


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CategoriesError) as raised:
        load_categories(tmp_path / "nope.toml")
    assert [str(i) for i in raised.value.issues] == ["(file): file not found"]


def test_a_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    [issue] = _issues(tmp_path, VALID + "\n[[categories]\n")
    assert issue.startswith("(file): not valid TOML")


@pytest.mark.parametrize(
    ("old", "new", "location", "message"),
    [
        ('code = "0102"', 'code = "102"', "categories[0].children[1].code", "pattern"),
        ('code = "0102"', 'code = "0202"', "categories[0].children[1].code", "does not start"),
        ('code = "0201"', 'code = "0101"', "categories[1].children[0].code", "duplicate"),
        ('code = "02"', 'code = "01"', "categories[1].code", "duplicate"),
        ('code = "02"', 'code = "2"', "categories[1].code", "pattern"),
        ('route = "arbitration"', 'route = "police"', "categories[0].children[0].route", ""),
        ('route_en = "Apply', 'xroute_en = "Apply', "categories[0].children[0].xroute_en", ""),
        ('limit_en = "1 year."\n', "", "categories[0].children[0].limit_en", "required"),
        ('route = "arbitration"\n', "", "categories[0].children[0].route_zh", "without a route"),
        ('name_en = "Other"', 'name_en = "  "', "categories[1].name_en", "at least 1"),
        ('name_zh = "就业培训"', 'name_zh = ""', "categories[0].children[1].name_zh", "at least 1"),
        ('name_en = "Other matters"\n', "", "categories[1].children[0].name_en", "required"),
        ("[[categories.children]]", "[[categoriez]]", "categoriez", "Extra inputs"),
    ],
)
def test_each_mistake_is_reported_with_its_location(
    tmp_path: Path, old: str, new: str, location: str, message: str
) -> None:
    issues = _issues(tmp_path, _edit(old, new))
    assert any(i.startswith(f"{location}: ") and message in i for i in issues), issues


def test_a_group_without_items_is_reported(tmp_path: Path) -> None:
    text = VALID[: VALID.index('[[categories.children]]\ncode = "0201"')]
    assert any(i.startswith("categories[1].children: ") for i in _issues(tmp_path, text))


def test_an_empty_file_is_reported(tmp_path: Path) -> None:
    assert [i.split(":")[0] for i in _issues(tmp_path, "")] == ["categories"]


def test_several_mistakes_are_reported_at_once(tmp_path: Path) -> None:
    text = _edit('code = "0102"', 'code = "0202"').replace('limit_zh = "1年。"\n', "")
    issues = _issues(tmp_path, text)
    assert {i.split(":")[0] for i in issues} == {
        "categories[0].children[1].code",
        "categories[0].children[0].limit_zh",
    }
