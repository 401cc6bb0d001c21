"""The petition categories file (TOML): two levels of codes and names, with legal routes.

`load_categories` reads the shipped `bot/data/categories.toml` (or a deployment's replacement),
checks it and returns plain frozen records; `bot.refdata` copies them into the `categories`
table. Every problem is reported with its location (`categories[3].children[1].route: …`) in one
`CategoriesError`, like `bot.deployment` does for the deployment file. Nothing here touches the
database or Telegram.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.deployment import ConfigIssue, Deployment, _loc

SHIPPED = "data/categories.toml"  # inside the `bot` package
Route = Literal["court", "arbitration", "reconsideration", "discipline", "other_body"]
ROUTES: tuple[str, ...] = get_args(Route)
_ROUTE_TEXTS = ("route_zh", "route_en", "limit_zh", "limit_en")

_NameZh = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
_NameEn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ItemConfig(_Strict):
    code: str = Field(pattern=r"^\d{4}$")
    name_zh: _NameZh
    name_en: _NameEn
    route: Route | None = None
    route_zh: _Text | None = None
    route_en: _Text | None = None
    limit_zh: _Text | None = None
    limit_en: _Text | None = None


class _GroupConfig(_Strict):
    code: str = Field(pattern=r"^\d{2}$")
    name_zh: _NameZh
    name_en: _NameEn
    children: list[_ItemConfig] = Field(min_length=1)


class _FileConfig(_Strict):
    categories: list[_GroupConfig] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    """One category; a first-level one has children, a second-level one may have a route."""

    code: str
    name_zh: str
    name_en: str
    parent_code: str | None = None
    route: str | None = None  # one of ROUTES
    route_zh: str | None = None
    route_en: str | None = None
    limit_zh: str | None = None
    limit_en: str | None = None
    children: tuple[CategoryRecord, ...] = ()


class CategoriesError(Exception):
    """The categories file is unusable; `issues` says everything that is wrong and where."""

    def __init__(self, issues: list[ConfigIssue], source: str = SHIPPED) -> None:
        super().__init__(f"{source}: " + "; ".join(str(issue) for issue in issues))
        self.source = source
        self.issues = issues


def load_categories(path: Path | None = None) -> list[CategoryRecord]:
    """Parse and check a categories file; the shipped one when `path` is None."""
    source = str(path) if path is not None else SHIPPED
    try:
        if path is None:
            text = resources.files("bot").joinpath(SHIPPED).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise CategoriesError([ConfigIssue("(file)", "file not found")], source) from None
    except tomllib.TOMLDecodeError as exc:
        raise CategoriesError([ConfigIssue("(file)", f"not valid TOML: {exc}")], source) from None
    try:
        config = _FileConfig.model_validate(raw)
    except ValidationError as exc:
        issues = [ConfigIssue(_loc(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise CategoriesError(issues, source) from None
    issues = _check(config)
    if issues:
        raise CategoriesError(issues, source)
    return [
        CategoryRecord(
            group.code,
            group.name_zh,
            group.name_en,
            children=tuple(
                CategoryRecord(
                    item.code,
                    item.name_zh,
                    item.name_en,
                    group.code,
                    item.route,
                    item.route_zh,
                    item.route_en,
                    item.limit_zh,
                    item.limit_en,
                )
                for item in group.children
            ),
        )
        for group in config.categories
    ]


def categories_path(deployment: Deployment) -> Path | None:
    """The deployment's replacement categories file, or None for the shipped one."""
    name = deployment.config.jurisdiction.categories
    return None if name is None else deployment.source.parent / name


def categories_version(categories: list[CategoryRecord]) -> str:
    """A digest of the categories' content (comments and layout of the file do not count)."""
    canonical = json.dumps([asdict(c) for c in categories], ensure_ascii=False, sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _check(config: _FileConfig) -> list[ConfigIssue]:
    """Checks across fields: unique codes, children under their parent, complete routes."""
    issues: list[ConfigIssue] = []
    seen: set[str] = set()

    def unique(code: str, where: str) -> None:
        if code in seen:
            issues.append(ConfigIssue(f"{where}.code", f"duplicate category code {code!r}"))
        seen.add(code)

    for i, group in enumerate(config.categories):
        unique(group.code, f"categories[{i}]")
        for j, item in enumerate(group.children):
            where = f"categories[{i}].children[{j}]"
            unique(item.code, where)
            if not item.code.startswith(group.code):
                issues.append(
                    ConfigIssue(
                        f"{where}.code",
                        f"{item.code} does not start with its parent's {group.code}",
                    )
                )
            for field in _ROUTE_TEXTS:
                present = getattr(item, field) is not None
                if item.route is not None and not present:
                    issues.append(
                        ConfigIssue(f"{where}.{field}", f"required when route is {item.route!r}")
                    )
                elif item.route is None and present:
                    issues.append(ConfigIssue(f"{where}.{field}", "given without a route"))
    return issues
