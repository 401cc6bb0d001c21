"""The `petition-bot` command line: run, sandbox, db upgrade, check-config.

A composition root: it reads settings, sets up logging (never the token: HTTP clients log
request URLs, which contain it, so their loggers are kept at WARNING; PTB's and aiosqlite's
DEBUG records quote message text and the webhook secret, so theirs never go below INFO), and
starts what was asked for: polling by default, the webhook server (`bot.web`) with
`run --webhook`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.deployment import DeploymentError, load_deployment
from bot.settings import Settings


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "aiohttp.client", "apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Their DEBUG records quote whole updates, Bot API parameters (message text, the webhook
    # secret) and SQL parameters (petition text): never below INFO.
    for chatty in ("telegram", "aiosqlite"):
        logging.getLogger(chatty).setLevel(max(logging.getLogger().level, logging.INFO))


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _run(settings: Settings, *, webhook: bool = False) -> int:
    from bot.app import SchemaOutdated, build_application, build_services, run_polling
    from storage.migrate import head

    problems = [] if settings.bot_token.get_secret_value() else ["PETITION_BOT_TOKEN is not set"]
    if webhook:
        from bot.web import webhook_problems

        problems += webhook_problems(settings)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("See docs/configuration.md.", file=sys.stderr)
        return 2
    stop = _stop_event()
    try:
        services = await build_services(settings)
    except SchemaOutdated as outdated:
        print(
            f"The database schema is at revision {outdated}, this version needs {head()}: "
            "back the database up, then run `petition-bot db upgrade` (docs/deployment.md).",
            file=sys.stderr,
        )
        return 1
    try:
        app = build_application(services)
        if webhook:
            from bot.web import run_webhook

            await run_webhook(app, services, stop)
        else:
            await run_polling(app, stop)
    finally:
        await services.db.dispose()
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from storage.db import Database
    from storage.migrate import current, upgrade

    db = Database(settings.database_url)
    try:
        await upgrade(db)
        print(f"database at revision {await current(db)}")
    finally:
        await db.dispose()
    return 0


def _check_config(path: Path) -> int:
    from bot.categories import CategoriesError, load_categories

    try:
        deployment = load_deployment(path)
    except DeploymentError as error:
        print(f"{error.path}: {len(error.issues)} problem(s)")
        for issue in error.issues:
            print(f"  {issue}")
        return 1
    categories = deployment.config.jurisdiction.categories
    try:
        load_categories(deployment.source.parent / categories if categories else None)
    except CategoriesError as error:
        print(f"categories: {len(error.issues)} problem(s)")
        for issue in error.issues:
            print(f"  {issue}")
        return 1
    config = deployment.config
    print(
        f"{path}: OK — root {deployment.root}, {len(config.offices)} offices, "
        f"{len(config.staff)} staff, {len(deployment.divisions)} divisions"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="petition-bot", description=__doc__.split("\n")[0])
    sub = main.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (long polling, or a webhook)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve a webhook (PETITION_WEBHOOK_URL, _SECRET, _LISTEN) instead of polling",
    )
    sandbox = sub.add_parser("sandbox", help="run the bot against a local Telegram stand-in")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    check = sub.add_parser("check-config", help="check the deployment file and report every error")
    check.add_argument("path", nargs="?", type=Path, help="default: $PETITION_CONFIG")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    _logging(settings.log_level)
    if args.command == "check-config":
        return _check_config(args.path or settings.config)
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings))
    if args.command == "sandbox":
        from bot.sandbox.runner import run_sandbox

        return asyncio.run(run_sandbox(args.host, args.port))
    return asyncio.run(_run(settings, webhook=args.webhook))
