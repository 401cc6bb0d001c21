"""The deployment file: the shipped example loads, and every kind of mistake is reported with its
location, several at once, the way `petition-bot check-config` shows them.

Each bad file is the small valid file below with one edit, written into tmp_path; `_edit`
refuses an edit that matches nothing, so no test passes by accident on an unchanged file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.deployment import DeploymentError, load_deployment

ROOT = Path(__file__).resolve().parent.parent

VALID = """\
[jurisdiction]
root = "510000"
timezone = "Asia/Shanghai"

[[offices]]
id = "sc"
name_zh = "四川省信访局"
name_en = "Sichuan Provincial Bureau of Letters and Visits"
level = "provincial"
areas = ["510000"]
group_chat_id = -1001000000001

[[offices]]
id = "cd"
name_zh = "成都市信访局"
name_en = "Chengdu Municipal Bureau of Letters and Visits"
level = "prefectural"
areas = ["510100"]
group_chat_id = -1001000000002
parent = "sc"

[[offices]]
id = "cd-jinjiang"
name_zh = "成都市锦江区信访局"
name_en = "Jinjiang District Bureau of Letters and Visits, Chengdu"
level = "county"
areas = ["510104"]
parent = "cd"

[[staff]]
user_id = 900001
name = "王芳"
office = "sc"
role = "head"

[[staff]]
user_id = 900002
name = "李强"
office = "cd"
"""


def _edit(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"the edit {old!r} must match exactly once"
        text = text.replace(old, new)
    return text


def _issues(tmp_path: Path, text: str) -> list[str]:
    """Load `text` as a deployment file and return its problems as `location: message`."""
    path = tmp_path / "deployment.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeploymentError) as caught:
        load_deployment(path)
    assert caught.value.path == path
    assert str(caught.value) == f"{path}: {len(caught.value.issues)} problem(s)"
    return [str(issue) for issue in caught.value.issues]


def _locations(tmp_path: Path, text: str) -> list[str]:
    return [issue.split(": ", 1)[0] for issue in _issues(tmp_path, text)]


def test_the_example_deployment_loads() -> None:
    deployment = load_deployment(ROOT / "examples" / "deployment.toml")

    assert deployment.root == "510000"
    assert str(deployment.tz) == "Asia/Shanghai"
    assert [o.id for o in deployment.config.offices] == ["sc", "cd", "cd-jinjiang", "cd-wuhou"]
    assert {s.role for s in deployment.config.staff} == {"officer", "head"}
    assert deployment.divisions["510104"].name_zh == "锦江区"
    assert "110108" not in deployment.divisions  # only the divisions inside the root


def test_the_small_valid_file_loads_with_defaults_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "deployment.toml"
    path.write_text(VALID, encoding="utf-8")

    deployment = load_deployment(path)

    assert deployment.source == path
    assert deployment.config.jurisdiction.categories is None
    assert deployment.config.offices[2].group_chat_id is None
    assert deployment.config.staff[1].role == "officer"


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError) as caught:
        load_deployment(tmp_path / "nowhere.toml")

    assert [str(i) for i in caught.value.issues] == ["(file): file not found"]


def test_invalid_toml_is_reported_for_the_whole_file(tmp_path: Path) -> None:
    issues = _issues(tmp_path, _edit(VALID, ('root = "510000"', "root = 510000 =")))

    assert len(issues) == 1
    assert issues[0].startswith("(file): not valid TOML: ")
    assert "line 2" in issues[0]


def test_a_file_that_is_not_utf8_is_reported_as_invalid(tmp_path: Path) -> None:
    path = tmp_path / "deployment.toml"
    path.write_bytes(VALID.replace("四川省信访局", "x").encode("utf-8") + "# 注释\n".encode("gbk"))

    with pytest.raises(DeploymentError) as caught:
        load_deployment(path)

    assert [i.location for i in caught.value.issues] == ["(file)"]
    assert "UTF-8" in caught.value.issues[0].message


def test_a_missing_field_is_reported_where_it_belongs(tmp_path: Path) -> None:
    text = _edit(VALID, ('name_zh = "成都市信访局"\n', ""))

    assert _issues(tmp_path, text) == ["offices[1].name_zh: Field required"]


def test_a_missing_section_is_reported(tmp_path: Path) -> None:
    text = VALID.split("[[offices]]", 1)[0]

    assert _issues(tmp_path, text) == ["offices: Field required"]


def test_an_unknown_field_is_reported_where_it_is(tmp_path: Path) -> None:
    text = _edit(VALID, ('name = "李强"\n', 'name = "李强"\nphone = "13800000000"\n'))

    assert _issues(tmp_path, text) == ["staff[1].phone: Extra inputs are not permitted"]


def test_a_malformed_root_code_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('root = "510000"', 'root = "5100"'))

    assert _locations(tmp_path, text) == ["jurisdiction.root"]


def test_a_root_that_is_no_division_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('root = "510000"', 'root = "990000"'))

    # The areas cannot be checked against a root that does not exist, only against the codes.
    assert _issues(tmp_path, text) == ["jurisdiction.root: 990000 is not a known division code"]


def test_an_unknown_time_zone_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"'))

    assert _issues(tmp_path, text) == ["jurisdiction.timezone: unknown time zone 'Asia/Beijing'"]


def test_a_categories_file_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    text = _edit(
        VALID,
        ('timezone = "Asia/Shanghai"\n', 'timezone = "Asia/Shanghai"\ncategories = "c.toml"\n'),
    )

    assert _issues(tmp_path, text) == ["jurisdiction.categories: file not found: c.toml"]


def test_a_categories_file_is_found_next_to_the_deployment_file(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("", encoding="utf-8")
    text = _edit(
        VALID,
        ('timezone = "Asia/Shanghai"\n', 'timezone = "Asia/Shanghai"\ncategories = "c.toml"\n'),
    )
    (tmp_path / "deployment.toml").write_text(text, encoding="utf-8")

    deployment = load_deployment(tmp_path / "deployment.toml")

    assert deployment.config.jurisdiction.categories == Path("c.toml")


def test_a_duplicate_office_id_is_reported_at_the_second_office(tmp_path: Path) -> None:
    text = _edit(VALID, ('id = "cd-jinjiang"', 'id = "cd"'), ('parent = "cd"', 'parent = "sc"'))

    assert _issues(tmp_path, text) == ["offices[2].id: duplicate office id 'cd'"]


def test_a_parent_that_is_no_office_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('parent = "cd"', 'parent = "chengdu"'))

    assert _issues(tmp_path, text) == ["offices[2].parent: no office with id 'chengdu'"]


def test_offices_whose_parents_form_a_loop_are_each_reported(tmp_path: Path) -> None:
    text = _edit(
        VALID,
        ("group_chat_id = -1001000000001\n", 'group_chat_id = -1001000000001\nparent = "cd"\n'),
    )

    assert _issues(tmp_path, text) == [
        "offices[0].parent: offices' parents form a loop",
        "offices[1].parent: offices' parents form a loop",
    ]


def test_an_office_that_is_its_own_parent_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('parent = "cd"', 'parent = "cd-jinjiang"'))

    assert _issues(tmp_path, text) == ["offices[2].parent: offices' parents form a loop"]


def test_an_area_outside_the_root_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('areas = ["510104"]', 'areas = ["110108"]'))

    assert _issues(tmp_path, text) == ["offices[2].areas[0]: 110108 is outside the root 510000"]


def test_an_area_that_is_no_division_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('areas = ["510104"]', 'areas = ["510104", "519999"]'))

    assert _issues(tmp_path, text) == ["offices[2].areas[1]: 519999 is not a division code"]


def test_an_area_of_another_level_than_its_office_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('areas = ["510100"]', 'areas = ["510104"]'))

    assert _issues(tmp_path, text) == [
        "offices[1].areas[0]: 510104 is a county but the office level is prefectural"
    ]


def test_an_unknown_office_level_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('level = "county"', 'level = "township"'))

    assert _locations(tmp_path, text) == ["offices[2].level"]


def test_a_positive_group_chat_id_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ("group_chat_id = -1001000000002", "group_chat_id = 1001000000002"))

    assert _issues(tmp_path, text) == [
        "offices[1].group_chat_id: a group chat id is a negative number"
    ]


def test_staff_of_an_unknown_office_is_reported(tmp_path: Path) -> None:
    text = _edit(VALID, ('office = "cd"', 'office = "chengdu"'))

    assert _issues(tmp_path, text) == ["staff[1].office: no office with id 'chengdu'"]


def test_a_staff_member_listed_twice_for_one_office_is_reported(tmp_path: Path) -> None:
    text = _edit(
        VALID, ("user_id = 900002", "user_id = 900001"), ('office = "cd"', 'office = "sc"')
    )

    assert _issues(tmp_path, text) == ["staff[1]: this user is listed twice for this office"]


def test_one_person_may_work_for_two_offices(tmp_path: Path) -> None:
    path = tmp_path / "deployment.toml"
    path.write_text(_edit(VALID, ("user_id = 900002", "user_id = 900001")), encoding="utf-8")

    assert len(load_deployment(path).config.staff) == 2


def test_places_without_a_responsible_office_are_reported(tmp_path: Path) -> None:
    # Only Chengdu (510100) and Zigong (510300) are covered, not the rest of Sichuan.
    text = _edit(
        VALID,
        ('areas = ["510000"]', 'areas = ["510100"]'),
        ('level = "provincial"', 'level = "prefectural"'),
        (
            'areas = ["510100"]\ngroup_chat_id = -1001000000002',
            'areas = ["510300"]\ngroup_chat_id = -1001000000002',
        ),
    )

    issues = _issues(tmp_path, text)

    assert len(issues) == 1
    assert issues[0].startswith("offices: ")
    assert "place(s) have no responsible office, e.g. 5104" in issues[0]


def test_field_errors_are_all_reported_together(tmp_path: Path) -> None:
    text = _edit(
        VALID,
        ('root = "510000"', 'root = "51"'),
        ('level = "county"', 'level = "township"'),
        ("user_id = 900002", "user_id = -5"),
    )

    assert _locations(tmp_path, text) == [
        "jurisdiction.root",
        "offices[2].level",
        "staff[1].user_id",
    ]


def test_semantic_errors_are_all_reported_together(tmp_path: Path) -> None:
    text = _edit(
        VALID,
        ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'),
        ('id = "cd-jinjiang"', 'id = "cd"'),
        ('parent = "cd"', 'parent = "sc"'),
        ('areas = ["510104"]', 'areas = ["110108"]'),
        ("group_chat_id = -1001000000002", "group_chat_id = 42"),
        ('office = "cd"', 'office = "chengdu"'),
    )

    assert _issues(tmp_path, text) == [
        "jurisdiction.timezone: unknown time zone 'Mars/Olympus'",
        "offices[2].id: duplicate office id 'cd'",
        "offices[1].group_chat_id: a group chat id is a negative number",
        "offices[2].areas[0]: 110108 is outside the root 510000",
        "staff[1].office: no office with id 'chengdu'",
    ]
