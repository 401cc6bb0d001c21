"""`petition-bot run --webhook`: the bot's own aiohttp server, for Telegram behind a reverse proxy.

A composition root. On `PETITION_WEBHOOK_LISTEN` it serves:

- `POST <PETITION_WEBHOOK_PATH>`: an update from Telegram. The `X-Telegram-Bot-Api-Secret-Token`
  header must equal `PETITION_WEBHOOK_SECRET` (compared in constant time), else 403 and nothing
  is processed; a body that is not a JSON object gets 400. The update is stored
  (`bot.inbox`) and only then answered 200, so an update Telegram was told arrived is never
  lost (tech-notes §1.10); when it cannot be stored the answer is 503 and Telegram sends it
  again. The update pump (`handlers.updates`) of this or another process then handles it.
- `GET /healthz`: 200 when the database answers `SELECT 1`, the update pump runs and the outbox
  dispatcher runs or stands by (another process holds the sending lease), else 503; a small
  JSON body either way.
- `GET /metrics`: Prometheus text (`bot.metrics`), in a registry of this server's own.

Start: the Application, then the listener, then setWebhook. Stop: the listener first (no new
updates), then `stop_application`, which finishes the updates in hand and the sends in flight.
The webhook stays registered, so Telegram keeps the updates until the bot is back. The secret
is never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from bot.app import (
    ALLOWED_UPDATES,
    DISPATCHER_KEY,
    PUMP_KEY,
    App,
    running_parts,
    start_application,
    stop_application,
)
from bot.metrics import Metrics
from bot.services import Services
from bot.settings import Settings
from handlers.delivery import Dispatcher
from handlers.updates import UpdatePump, chat_key

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
HEALTH_TIMEOUT = 5.0  # seconds the health check waits for the database
_SECRET_FORM = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
_UPDATE_TYPES = frozenset(Update.ALL_TYPES)


def webhook_problems(settings: Settings) -> list[str]:
    """Why webhook mode cannot start with `settings` (empty: it can). Never quotes the secret."""
    problems = []
    url = urlsplit(settings.webhook_url)
    if not settings.webhook_url:
        problems.append("PETITION_WEBHOOK_URL is not set: the public https URL Telegram posts to")
    elif url.scheme not in ("https", "http") or not url.netloc:
        problems.append(
            "PETITION_WEBHOOK_URL must be an https URL, e.g. https://bot.example.org/telegram"
        )
    secret = settings.webhook_secret.get_secret_value()
    if not secret:
        problems.append("PETITION_WEBHOOK_SECRET is not set")
    elif not _SECRET_FORM.fullmatch(secret):
        problems.append(
            "PETITION_WEBHOOK_SECRET must be 1 to 256 characters from A-Z, a-z, 0-9, _ and -"
        )
    if settings.webhook_route in (HEALTH_PATH, METRICS_PATH):
        problems.append(f"the webhook path {settings.webhook_route} is taken by the server itself")
    return problems


class WebhookServer:
    """The bot in webhook mode: `start`, then `register`; `stop` at the end."""

    def __init__(self, app: App, services: Services) -> None:
        self.app, self.services = app, services
        settings = services.settings
        self.path = settings.webhook_route
        self._secret = settings.webhook_secret.get_secret_value().encode()
        if not self._secret:  # an empty secret would let a request without the header in
            raise ValueError("PETITION_WEBHOOK_SECRET is required in webhook mode")
        self.metrics = Metrics(
            cases=services.cases.count_by_state,
            outbox=services.delivery.counts,
            sender=self._dispatcher,
        )
        self._expose = make_aiohttp_handler(self.metrics.registry)
        self.web = web.Application()
        self.web.router.add_post(self.path, self._update)
        self.web.router.add_get(HEALTH_PATH, self._health)
        self.web.router.add_get(METRICS_PATH, self._metrics)
        self._runner: web.AppRunner | None = None
        self._healthy = True  # as last reported, so that only changes are logged

    async def start(self) -> int:
        """Start the Application, then listen; returns the port bound (the setting may say 0)."""
        host, port = self.services.settings.webhook_address
        try:
            await start_application(self.app)
            pump = self.app.bot_data.get(PUMP_KEY)
            if isinstance(pump, UpdatePump):
                pump.observe = self._observe
            self._runner = web.AppRunner(self.web, access_log=None, shutdown_timeout=10.0)
            await self._runner.setup()
            await web.TCPSite(self._runner, host, port).start()
        except BaseException:
            await self.stop()
            raise
        bound = int(self._runner.addresses[0][1])
        log.info("webhook server listening on %s port %d, updates at %s", host, bound, self.path)
        return bound

    async def register(self, url: str | None = None) -> None:
        """Tell Telegram where to post updates (`PETITION_WEBHOOK_URL` unless `url` is given),
        with the secret token; updates waiting at Telegram are kept."""
        target = url or self.services.settings.webhook_url
        if not target:  # setWebhook with no URL would remove the webhook
            raise ValueError("PETITION_WEBHOOK_URL is required in webhook mode")
        await self.app.bot.set_webhook(
            target,
            secret_token=self._secret.decode(),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        parts = urlsplit(target)
        log.info("webhook registered: %s://%s%s", parts.scheme, parts.netloc, parts.path)

    async def stop(self) -> None:
        """Stop taking updates, then finish those in hand and the sends in flight. The webhook
        is not deleted: Telegram queues updates until the bot is back."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("webhook server closed; finishing the updates and sends in hand")
        await stop_application(self.app)

    # -- routes ----------------------------------------------------------------------------

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            self.metrics.rejected.labels("secret").inc()
            log.warning("webhook: refused a request without the right secret (%s)", request.remote)
            return web.Response(status=403)
        try:
            data: Any = json.loads(await request.read())
        except ValueError:  # not JSON, or not UTF-8
            data = None
        update = self._parse(data)
        if update is None:
            self.metrics.rejected.labels("malformed").inc()
            log.warning("webhook: refused a body that is not an update (%s)", request.remote)
            return web.Response(status=400)
        try:
            await self.services.inbox.store([(update.update_id, chat_key(update), data)])
        except (SQLAlchemyError, OSError):
            log.exception(
                "webhook: storing update %d failed; Telegram will resend it", update.update_id
            )
            return web.Response(status=503)
        kind = next((key for key in data if key in _UPDATE_TYPES), "other")
        self.metrics.updates.labels(kind).inc()
        pump = self.app.bot_data.get(PUMP_KEY)
        if isinstance(pump, UpdatePump):
            pump.wake()
        return web.Response()

    def _parse(self, data: object) -> Update | None:
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        try:
            return Update.de_json(data, self.app.bot)
        except (KeyError, TypeError, ValueError):
            return None

    def _observe(self, kind: str, seconds: float) -> None:
        self.metrics.handling.labels(kind if kind in _UPDATE_TYPES else "other").observe(seconds)

    async def _health(self, _: web.Request) -> web.Response:
        database = "ok"
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await self.services.db.ping()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            database = type(exc).__name__
        parts = running_parts(self.app)
        healthy = (
            database == "ok"
            and parts["updates"] == "running"
            and parts["outbox_dispatcher"] in ("running", "standby")
        )
        if healthy != self._healthy:
            self._healthy = healthy
            log.log(
                logging.INFO if healthy else logging.WARNING,
                "health: database %s, updates %s, outbox dispatcher %s",
                database,
                parts["updates"],
                parts["outbox_dispatcher"],
            )
        body = {"status": "ok" if healthy else "unavailable", "database": database, **parts}
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        await self.metrics.refresh()
        return await self._expose(request)

    def _dispatcher(self) -> Dispatcher | None:
        found = self.app.bot_data.get(DISPATCHER_KEY)
        return found if isinstance(found, Dispatcher) else None


async def run_webhook(app: App, services: Services, stop: asyncio.Event) -> None:
    """Serve the webhook until `stop` is set, then finish the work in hand and shut down."""
    server = WebhookServer(app, services)
    await server.start()
    try:
        await server.register()
        await stop.wait()
    finally:
        await server.stop()
