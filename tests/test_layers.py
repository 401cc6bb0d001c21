"""The layers of style.md stay apart: each module of `handlers/`, `bot/` and `storage/` imports
only what its layer may, and only the settings module reads the environment.

The imports are read with `ast` (nothing is imported), including imports made inside functions,
under `TYPE_CHECKING` and through `importlib.import_module("…")`. The rules and the few
exemptions are the tables below; the checker takes a root directory so it is tested on a small
tree written into tmp_path as well as on the project.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("handlers", "bot", "storage")


@dataclass(frozen=True)
class Rule:
    applies_to: str  # a path prefix relative to the root
    forbidden: tuple[str, ...]  # top-level names, or dotted prefixes
    why: str


RULES = (
    Rule(
        "handlers/",
        ("storage", "sqlalchemy", "alembic", "aiosqlite", "asyncpg", "aiohttp"),
        "handlers may import telegram and bot, never storage, SQL or aiohttp",
    ),
    Rule("bot/", ("telegram", "handlers"), "bot modules never import telegram or handlers"),
    Rule(
        "storage/",
        ("bot", "handlers", "telegram"),
        "storage never imports bot, handlers or telegram",
    ),
)

# Composition roots wire every layer together, so the import rules do not apply to them. The rest
# of bot/sandbox/ (the fake Bot API server) is an ordinary bot/ module: no telegram.
COMPOSITION_ROOTS = frozenset({"bot/app.py", "bot/cli.py", "bot/web.py", "bot/sandbox/runner.py"})
# Wiring that is not a composition root: PTB's connection to the Bot API over aiohttp, built by
# bot/app.py. It may import telegram (it implements PTB's BaseRequest); the other rules hold.
TELEGRAM_WIRING = frozenset({"bot/telegram_http.py"})
# The environment is read in one place; everything else is given a Settings.
ENVIRONMENT_READER = "bot/settings.py"
_ENVIRONMENT = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})


def _modules(root: Path) -> list[Path]:
    return sorted(
        p for layer in LAYERS if (root / layer).is_dir() for p in (root / layer).rglob("*.py")
    )


def _package(relative: Path) -> list[str]:
    """The package a module's relative imports start from."""
    return list(relative.parent.parts)


def _imports(tree: ast.Module, relative: Path) -> list[tuple[int, str]]:
    """Every module name the file imports, with its line number, relative imports resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package(relative)
                base = package[: max(0, len(package) - node.level + 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from bot import settings` imports bot.settings: judge the full names too.
            found += [(node.lineno, module)]
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (
                    isinstance(node.func, ast.Name)
                    and node.func.id in {"__import__", "import_module"}
                )
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _environment_reads(tree: ast.Module) -> list[tuple[int, str]]:
    """Uses of os.environ / os.getenv (however `os` or the name was imported)."""
    os_names = {"os"}
    direct: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            direct |= {a.asname or a.name for a in node.names if a.name in _ENVIRONMENT}
    reads: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _ENVIRONMENT
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            reads.append((node.lineno, f"{node.value.id}.{node.attr}"))
        elif isinstance(node, ast.Name) and node.id in direct:
            reads.append((node.lineno, node.id))
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and direct:
            reads += [
                (node.lineno, f"from os import {a.name}")
                for a in node.names
                if a.name in _ENVIRONMENT
            ]
    return reads


def layer_violations(root: Path) -> list[str]:
    """Every import that crosses a layer boundary, and every read of the environment outside
    the settings module, as `file:line: what — the rule`."""
    violations: list[str] = []
    for path in _modules(root):
        relative = path.relative_to(root)
        name = relative.as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=name)
        found: dict[tuple[int, str], str] = {}  # (line, forbidden prefix) -> message
        if name not in COMPOSITION_ROOTS:
            for rule in RULES:
                if not name.startswith(rule.applies_to):
                    continue
                for line, module in _imports(tree, relative):
                    for prefix in rule.forbidden:
                        if prefix == "telegram" and name in TELEGRAM_WIRING:
                            continue
                        if _matches(module, prefix):
                            found.setdefault((line, prefix), f"imports {module} — {rule.why}")
        if name != ENVIRONMENT_READER:
            for line, what in _environment_reads(tree):
                found[(line, what)] = (
                    f"reads the environment ({what}) — only {ENVIRONMENT_READER} may"
                )
        violations += [f"{name}:{line}: {message}" for (line, _), message in sorted(found.items())]
    return violations


def test_no_module_reaches_past_its_layer() -> None:
    violations = layer_violations(ROOT)
    assert not violations, "\n".join(["", *violations])


def test_the_checker_sees_the_project_modules() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _modules(ROOT)}

    assert {"bot/settings.py", "bot/i18n.py", "storage/models.py"} <= names


def test_the_checker_reports_each_broken_rule_with_file_line_and_import(tmp_path: Path) -> None:
    files = {
        "handlers/intake.py": "from telegram import Update\nfrom bot.i18n import _\n"
        "from storage.models import Case\nimport sqlalchemy as sa\n",
        "handlers/status.py": "def f():\n    from aiohttp import web\n",
        "bot/intake.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from telegram import Update\nfrom storage import models\n",
        "bot/cases.py": "from handlers import status\n",
        "bot/settings.py": "import os\nTOKEN = os.environ['PETITION_BOT_TOKEN']\n",
        "bot/app.py": "import telegram\nimport handlers.intake\nimport storage.db\n",
        "bot/sandbox/server.py": "import importlib\ntg = importlib.import_module('telegram')\n",
        "bot/sandbox/runner.py": "import telegram\nimport aiohttp\n",
        "storage/repos.py": "from ..bot import deployment\nfrom . import models\n",
        "storage/engine.py": "from os import getenv as ge\nURL = ge('DATABASE_URL')\n",
        "storage/migrations/env.py": "import os as o\nURL = o.getenv('X')\n"
        "from bot.settings import Settings\n",
    }
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source, encoding="utf-8")

    assert layer_violations(tmp_path) == [
        "bot/cases.py:1: imports handlers — bot modules never import telegram or handlers",
        "bot/intake.py:3: imports telegram — bot modules never import telegram or handlers",
        "bot/sandbox/server.py:2: imports telegram — bot modules never import telegram or handlers",
        "handlers/intake.py:3: imports storage.models — "
        "handlers may import telegram and bot, never storage, SQL or aiohttp",
        "handlers/intake.py:4: imports sqlalchemy — "
        "handlers may import telegram and bot, never storage, SQL or aiohttp",
        "handlers/status.py:2: imports aiohttp — "
        "handlers may import telegram and bot, never storage, SQL or aiohttp",
        "storage/engine.py:1: reads the environment (from os import getenv) — "
        "only bot/settings.py may",
        "storage/engine.py:2: reads the environment (ge) — only bot/settings.py may",
        "storage/migrations/env.py:2: reads the environment (o.getenv) — only bot/settings.py may",
        "storage/migrations/env.py:3: imports bot.settings — "
        "storage never imports bot, handlers or telegram",
        "storage/repos.py:1: imports bot — storage never imports bot, handlers or telegram",
    ]
