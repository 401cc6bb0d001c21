"""Composition root: build the services and the PTB Application from settings.

The only module besides the CLI and the web server that imports across all layers. It loads
and checks the deployment, opens the database (creating the schema in an empty one), syncs the
reference data, and wires the handlers, the update ordering, the rate limiter and the jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults, ExtBot

from bot.cases import Cases
from bot.casework import Casework
from bot.categories import load_categories
from bot.deployment import load_deployment
from bot.directory import Directory, warm_up
from bot.flood import FloodGate
from bot.i18n import _, use_locale
from bot.inbox import Inbox
from bot.intake import Intake, Limits
from bot.leases import Leases, Role, process_name
from bot.outbox import Delivery
from bot.pacing import REPLY_BURST, SendLimits, Throttle
from bot.petitioners import Petitioners
from bot.refdata import sync_reference_data
from bot.reminders import Reminders
from bot.services import Services
from bot.settings import Settings
from bot.telegram_http import AiohttpRequest, ReplyLimiter
from handlers import register
from handlers.context import SERVICES_KEY, Ctx
from handlers.delivery import Dispatcher
from handlers.jobs import daily_run, expire_drafts
from handlers.notices import Deliverer
from handlers.ordering import KeyedUpdateProcessor
from handlers.updates import Poller, UpdatePump
from storage.db import Database
from storage.migrate import current, head, upgrade

log = logging.getLogger(__name__)

App = Application[Any, Ctx, Any, Any, Any, Any]
DISPATCHER_KEY = "dispatcher"
SENDING_ROLE_KEY = "sending-role"
POLLING_ROLE_KEY = "polling-role"
PUMP_KEY = "update-pump"
# The leases of the roles one process at a time plays (docs/deployment.md).
SENDING_LEASE = "dispatcher"
POLLING_LEASE = "poller"
# The updates the bot handles; asked for by polling and by the webhook alike.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SENDER_KEY = "sender"
THROTTLE_KEY = "throttle"


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


async def build_services(
    settings: Settings,
    *,
    upgrade_any: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> Services:
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
        max_drafts_per_day=settings.max_drafts_per_day,
    )
    casework = Casework(db, directory, deployment.tz, clock)
    owner = process_name()
    return Services(
        settings=settings,
        deployment=deployment,
        db=db,
        directory=directory,
        intake=Intake(db, directory, deployment.tz, limits, clock),
        petitioners=Petitioners(db),
        cases=Cases(db, directory, deployment.tz, clock),
        casework=casework,
        delivery=Delivery(db, clock, owner=owner),
        reminders=Reminders(
            db,
            casework,
            deployment.tz,
            hour=settings.daily_hour,
            days=settings.reminder_days,
            clock=clock,
        ),
        inbox=Inbox(db, owner, settings.lease_seconds),
        leases=Leases(db, owner, settings.lease_seconds),
        geo_cache=geo_cache,
    )


def build_application(services: Services) -> App:
    """The PTB Application for `services`, with every handler and job registered. It has no
    Updater: updates come in through `handlers.updates` (stored before they are confirmed)."""
    settings = services.settings
    throttle = Throttle(SendLimits.from_settings(settings))
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
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(1))
        .context_types(ContextTypes(context=Ctx))
        .concurrent_updates(
            KeyedUpdateProcessor(
                256,
                FloodGate(settings.flood_rate, settings.flood_burst, settings.flood_max_wait),
            )
        )
        # The replies' share of the bot's one send budget, which the outbox dispatcher paces
        # its own sends in (`bot.pacing`): replies first.
        .rate_limiter(
            ReplyLimiter(
                throttle,
                rate=settings.send_rate,
                burst_seconds=REPLY_BURST,
                group_rate=settings.group_rate,
                group_period=settings.group_period,
                max_retries=3,
            )
        )
    )
    app: App = builder.updater(None).build()
    app.bot_data[SERVICES_KEY] = services
    app.bot_data[THROTTLE_KEY] = throttle
    register(app)
    if app.job_queue is not None:
        app.job_queue.run_repeating(expire_drafts, interval=600, first=5, name="expire-drafts")
        # The daily job checks every few minutes whether today's run is due (and catches up a
        # run missed while the bot was down); the database makes sure it runs once a day.
        app.job_queue.run_repeating(daily_run, interval=300, first=1, name="daily")
    return app


async def start_application(app: App) -> None:
    """Initialise and start `app` with the bot's own start-up work (PTB runs `post_init` only
    from its `run_*` helpers, which this bot does not use), then handle stored updates. Updates
    come in through `start_polling`, or through the webhook server (`bot.web`)."""
    await app.initialize()
    await _on_start(app)
    await app.start()
    services: Services = app.bot_data[SERVICES_KEY]
    pump = UpdatePump(app, services.inbox, lease_seconds=services.settings.lease_seconds)
    app.bot_data[PUMP_KEY] = pump
    pump.start()


async def start_polling(app: App, long_poll: int = 30) -> None:
    """Long-poll Telegram whenever this process holds the polling lease (one process at a time
    polls; the others take over if it stops)."""
    services: Services = app.bot_data[SERVICES_KEY]
    pump: UpdatePump = app.bot_data[PUMP_KEY]
    poller = Poller(
        app.bot, services.inbox, pump.wake, allowed_updates=ALLOWED_UPDATES, long_poll=long_poll
    )
    role = Role(POLLING_LEASE, services.leases, poller.begin, poller.end)
    app.bot_data[POLLING_ROLE_KEY] = role
    await role.start()


async def stop_application(app: App) -> None:
    """Stop taking updates, finish the updates and the sends in hand, and shut `app` down."""
    polling: Role | None = app.bot_data.pop(POLLING_ROLE_KEY, None)
    if polling is not None:
        await polling.stop()
    pump: UpdatePump | None = app.bot_data.pop(PUMP_KEY, None)
    if pump is not None:
        await pump.stop()
    if app.running:
        await app.stop()
    await _on_stop(app)
    await app.shutdown()


def running_parts(app: App) -> dict[str, str]:
    """How the bot's background parts are: the update pump ("running" or "stopped") and the
    outbox dispatcher ("running"; "standby" while another process holds the sending lease)."""
    pump: UpdatePump | None = app.bot_data.get(PUMP_KEY)
    role: Role | None = app.bot_data.get(SENDING_ROLE_KEY)
    dispatcher: Dispatcher | None = app.bot_data.get(DISPATCHER_KEY)
    sending = "stopped"
    if role is not None and role.alive and not role.active:
        sending = "standby"
    elif role is not None and role.active and dispatcher is not None and dispatcher.alive:
        sending = "running"
    return {
        "updates": "running" if pump is not None and pump.alive else "stopped",
        "outbox_dispatcher": sending,
    }


async def _on_start(app: App) -> None:
    services: Services = app.bot_data[SERVICES_KEY]
    await warm_up(services.geo_cache)
    # The dispatcher paces its own sends and must see every 429 itself (to pause and to keep the
    # row's status true), so it talks through a bot without the rate limiter's silent retries.
    sender = ExtBot(
        app.bot.token,
        base_url=services.settings.api_base,
        base_file_url=services.settings.file_base,
        defaults=app.bot.defaults,
        request=AiohttpRequest(64),
    )
    await sender.initialize()
    app.bot_data[SENDER_KEY] = sender
    deliverer = Deliverer(sender, services)
    throttle: Throttle = app.bot_data[THROTTLE_KEY]
    dispatcher = Dispatcher(services.delivery, deliverer.deliver, throttle)
    app.bot_data[DISPATCHER_KEY] = dispatcher
    services.wakers.append(dispatcher.wake)
    # One process at a time sends, so the limits are one budget for all processes.
    role = Role(SENDING_LEASE, services.leases, dispatcher.start, dispatcher.stop)
    app.bot_data[SENDING_ROLE_KEY] = role
    await role.start()
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


async def _on_stop(app: App) -> None:
    """Finish the sends in flight."""
    role: Role | None = app.bot_data.pop(SENDING_ROLE_KEY, None)
    if role is not None:
        await role.stop()
    dispatcher: Dispatcher | None = app.bot_data.pop(DISPATCHER_KEY, None)
    if dispatcher is not None:
        services: Services = app.bot_data[SERVICES_KEY]
        services.wakers.remove(dispatcher.wake)
    sender: ExtBot[None] | None = app.bot_data.pop(SENDER_KEY, None)
    if sender is not None:
        await sender.shutdown()


async def run_polling(app: App, stop: asyncio.Event) -> None:
    """Poll until `stop` is set, then finish the work in hand and shut down."""
    await start_application(app)
    try:
        await start_polling(app)
        await stop.wait()
    finally:
        await stop_application(app)
