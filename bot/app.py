"""Composition root: build the services and the PTB Application from settings.

The only module besides the CLI and the web server that imports across all layers. It loads
and checks the deployment, opens the database (creating the schema in an empty one), syncs the
reference data, and wires the handlers, the update ordering, the rate limiter and the jobs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ContextTypes, Defaults

from bot.cases import Cases
from bot.categories import load_categories
from bot.deployment import load_deployment
from bot.directory import Directory, warm_up
from bot.i18n import _, use_locale
from bot.intake import Intake, Limits
from bot.petitioners import Petitioners
from bot.refdata import sync_reference_data
from bot.services import Services
from bot.settings import Settings
from handlers import register
from handlers.context import SERVICES_KEY, Ctx
from handlers.jobs import expire_drafts
from handlers.ordering import KeyedUpdateProcessor
from storage.db import Database
from storage.migrate import current, head, upgrade

log = logging.getLogger(__name__)

App = Application[Any, Ctx, Any, Any, Any, Any]


class SchemaOutdated(RuntimeError):
    """The database has an older schema: `petition-bot db upgrade` must run first."""


async def open_database(settings: Settings, *, upgrade_any: bool = False) -> Database:
    """Open the database; create the schema in an empty one (or upgrade any, if asked)."""
    db = Database(settings.database_url)
    revision = await current(db)
    if revision is None or upgrade_any:
        await upgrade(db)
        return db
    if revision != head():
        await db.dispose()
        raise SchemaOutdated(revision)
    return db


async def build_services(settings: Settings, *, upgrade_any: bool = False) -> Services:
    deployment = load_deployment(settings.config)
    categories_path = deployment.config.jurisdiction.categories
    categories = load_categories(
        (deployment.source.parent / categories_path) if categories_path else None
    )
    db = await open_database(settings, upgrade_any=upgrade_any)
    await sync_reference_data(db, deployment, categories)
    directory = Directory(db, deployment.root)
    # Loaded before any use case runs: afterwards the directory answers from memory, so it never
    # opens a second SQLite transaction inside a use case's write transaction.
    await directory.load()
    geo_cache = settings.data_dir / "geocache"
    limits = Limits(
        max_request_chars=settings.max_request_chars,
        max_facts_chars=settings.max_facts_chars,
        max_attachments=settings.max_attachments,
        max_attachment_bytes=settings.max_attachment_bytes,
        draft_timeout=timedelta(hours=settings.draft_timeout_hours),
    )
    return Services(
        settings=settings,
        deployment=deployment,
        db=db,
        directory=directory,
        intake=Intake(db, directory, deployment.tz, limits),
        petitioners=Petitioners(db),
        cases=Cases(db),
        geo_cache=geo_cache,
    )


def build_application(services: Services, *, updater: bool = True) -> App:
    """The PTB Application for `services`, with every handler and job registered."""
    settings = services.settings
    builder = (
        Application.builder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.api_base)
        .base_file_url(settings.file_base)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=Ctx))
        .concurrent_updates(KeyedUpdateProcessor(256))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_post_init)
    )
    if not updater:
        builder = builder.updater(None)
    app: App = builder.build()
    app.bot_data[SERVICES_KEY] = services
    register(app)
    if app.job_queue is not None:
        app.job_queue.run_repeating(expire_drafts, interval=600, first=5, name="expire-drafts")
    return app


async def _post_init(app: App) -> None:
    services: Services = app.bot_data[SERVICES_KEY]
    await warm_up(services.geo_cache)
    for locale, language in (("en", "en"), ("zh_CN", "zh")):
        with use_locale(locale):
            commands = [
                BotCommand("new", _("File a new petition")),
                BotCommand("cases", _("My cases")),
                BotCommand("status", _("Status of a case")),
                BotCommand("language", _("Change the language")),
                BotCommand("cancel", _("Cancel the petition in progress")),
                BotCommand("help", _("Help")),
            ]
        await app.bot.set_my_commands(commands, language_code=language)
    log.info(
        "bot ready: %d offices, root %s",
        len(services.deployment.config.offices),
        services.deployment.root,
    )


async def run_polling(app: App, stop: asyncio.Event) -> None:
    """Poll until `stop` is set, then finish the work in hand and shut down."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            allowed_updates=["message", "edited_message", "callback_query"]
        )
        try:
            await stop.wait()
        finally:
            await app.updater.stop()
            await app.stop()
