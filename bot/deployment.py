"""The deployment file (TOML): jurisdiction root, time zone, offices and staff.

`load_deployment` parses and checks the whole file and raises `DeploymentError` listing every
problem with its location (`offices[2].areas[0]: …`), so `petition-bot check-config` can show
them all at once. Nothing here touches the database or Telegram.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.divisions import DivisionRecord, build_divisions, subtree

LEVELS = ("provincial", "prefectural", "county")
_LEVEL_OF_DIVISION = {"province": "provincial", "prefecture": "prefectural", "county": "county"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JurisdictionConfig(_Strict):
    root: str = Field(pattern=r"^\d{6}$", description="division code of the area served")
    timezone: str = "Asia/Shanghai"
    categories: Path | None = None  # a replacement categories file; default: the shipped one


class OfficeConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=256)
    level: Literal["provincial", "prefectural", "county"]
    areas: list[str] = Field(min_length=1)
    group_chat_id: int | None = None
    parent: str | None = None
    # The language alerts and reminders are written in, in the office's staff group.
    language: Literal["zh_CN", "en"] = "zh_CN"


class StaffConfig(_Strict):
    user_id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=128)
    office: str
    role: Literal["officer", "head"] = "officer"


class DeploymentConfig(_Strict):
    jurisdiction: JurisdictionConfig
    offices: list[OfficeConfig] = Field(min_length=1)
    staff: list[StaffConfig] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class DeploymentError(Exception):
    """The deployment file is unusable; `issues` says everything that is wrong and where."""

    def __init__(self, path: Path, issues: list[ConfigIssue]) -> None:
        super().__init__(f"{path}: {len(issues)} problem(s)")
        self.path = path
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Deployment:
    """A checked deployment: the parsed config plus the divisions inside its root."""

    config: DeploymentConfig
    divisions: dict[str, DivisionRecord]
    source: Path

    @property
    def root(self) -> str:
        return self.config.jurisdiction.root

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.jurisdiction.timezone)


def _loc(parts: tuple[str | int, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def load_deployment(path: Path) -> Deployment:
    """Parse and check the deployment file at `path`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeploymentError(path, [ConfigIssue("(file)", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise DeploymentError(path, [ConfigIssue("(file)", f"not UTF-8 text: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise DeploymentError(path, [ConfigIssue("(file)", f"not valid TOML: {exc}")]) from None
    try:
        config = DeploymentConfig.model_validate(raw)
    except ValidationError as exc:
        issues = [ConfigIssue(_loc(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise DeploymentError(path, issues) from None
    issues, divisions = check(config, path.parent)
    if issues:
        raise DeploymentError(path, issues)
    return Deployment(config, divisions, path)


def check(
    config: DeploymentConfig, base_dir: Path
) -> tuple[list[ConfigIssue], dict[str, DivisionRecord]]:
    """Semantic checks that need more than one field: codes, references, coverage."""
    issues: list[ConfigIssue] = []
    every = build_divisions()
    jur = config.jurisdiction
    root = every.get(jur.root)
    inside: dict[str, DivisionRecord] = {}
    if root is None:
        issues.append(ConfigIssue("jurisdiction.root", f"{jur.root} is not a known division code"))
    else:
        inside = subtree(jur.root, every)
    try:
        ZoneInfo(jur.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        issues.append(ConfigIssue("jurisdiction.timezone", f"unknown time zone {jur.timezone!r}"))
    if jur.categories is not None and not (base_dir / jur.categories).is_file():
        issues.append(ConfigIssue("jurisdiction.categories", f"file not found: {jur.categories}"))

    ids: dict[str, int] = {}
    for i, office in enumerate(config.offices):
        if office.id in ids:
            issues.append(ConfigIssue(f"offices[{i}].id", f"duplicate office id {office.id!r}"))
        ids.setdefault(office.id, i)
    for i, office in enumerate(config.offices):
        where = f"offices[{i}]"
        if office.parent is not None and office.parent not in ids:
            issues.append(ConfigIssue(f"{where}.parent", f"no office with id {office.parent!r}"))
        if office.group_chat_id is not None and office.group_chat_id >= 0:
            issues.append(
                ConfigIssue(f"{where}.group_chat_id", "a group chat id is a negative number")
            )
        for j, code in enumerate(office.areas):
            division = every.get(code)
            if division is None:
                issues.append(ConfigIssue(f"{where}.areas[{j}]", f"{code} is not a division code"))
            elif root is not None and code not in inside:
                issues.append(
                    ConfigIssue(f"{where}.areas[{j}]", f"{code} is outside the root {jur.root}")
                )
            elif _LEVEL_OF_DIVISION[division.level] != office.level:
                issues.append(
                    ConfigIssue(
                        f"{where}.areas[{j}]",
                        f"{code} is a {division.level} but the office level is {office.level}",
                    )
                )
    issues.extend(_check_parent_cycles(config))
    for k, member in enumerate(config.staff):
        if member.office not in ids:
            issues.append(ConfigIssue(f"staff[{k}].office", f"no office with id {member.office!r}"))
    seen: set[tuple[int, str]] = set()
    for k, member in enumerate(config.staff):
        key = (member.user_id, member.office)
        if key in seen:
            issues.append(ConfigIssue(f"staff[{k}]", "this user is listed twice for this office"))
        seen.add(key)
    if root is not None and not issues:
        covered = {code for office in config.offices for code in office.areas}
        orphans = [
            code
            for code, record in inside.items()
            if record.selectable and not _covered(code, covered, every)
        ]
        if orphans:
            issues.append(
                ConfigIssue(
                    "offices",
                    f"{len(orphans)} place(s) have no responsible office, e.g. {orphans[0]}",
                )
            )
    return issues, inside


def _covered(code: str, covered: set[str], every: dict[str, DivisionRecord]) -> bool:
    node: DivisionRecord | None = every.get(code)
    while node is not None:
        if node.code in covered:
            return True
        node = every.get(node.parent_code) if node.parent_code else None
    return False


def _check_parent_cycles(config: DeploymentConfig) -> list[ConfigIssue]:
    parents = {o.id: o.parent for o in config.offices}
    issues = []
    for i, office in enumerate(config.offices):
        seen = {office.id}
        node = office.parent
        while node is not None and node in parents:
            if node == office.id:
                issues.append(ConfigIssue(f"offices[{i}].parent", "offices' parents form a loop"))
                break
            if node in seen:  # leads into a loop of other offices, reported at those
                break
            seen.add(node)
            node = parents[node]
    return issues
