"""An in-process stand-in for the Telegram Bot API, served over real HTTP by aiohttp.

`FakeBotApi` answers an unmodified bot (PTB with `base_url=<url>/bot`,
`base_file_url=<url>/file/bot`) the way Telegram does: the same methods, JSON shapes, update
delivery by long-polling getUpdates or by webhook, and Telegram's own error answers for invalid
calls, which it also records in `errors` so tests can assert the bot never made one. It also
serves the sandbox page (`/`) and the control API (`/sandbox/api/`) through which a person or
a test plays the users. It must not import the bot, PTB or any project module outside
`bot.sandbox`: it is a fake Telegram, independent of what it talks to.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aiohttp import web

from bot.sandbox.api_input import ApiError, Params, bad_request
from bot.sandbox.chats import Chats
from bot.sandbox.control import add_control_routes, stream_file
from bot.sandbox.editing import Editing
from bot.sandbox.messaging import Messaging, Method
from bot.sandbox.updates import UpdateQueue, WebhookPusher
from bot.sandbox.world import BOT_USER, JsonDict, User, World

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_UPLOAD = 50 * 1024 * 1024 + 64 * 1024  # Telegram's 50 MB bot upload limit, plus form overhead
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_UNTRACKED = frozenset({"getupdates"})  # long polls are always in flight; not "bot activity"


@dataclass
class CallRecord:
    """One Bot API call made by the bot, and how it was answered."""

    index: int
    method: str
    params: JsonDict
    chat_id: int | None
    at: float  # time.time() when it arrived
    finished_at: float | None = None
    status: int | None = None
    description: str | None = None
    injected: bool = False  # answered by fail_next, not by the method

    def to_json(self) -> JsonDict:
        return asdict(self)


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None = None
    delay: float = 0.0  # seconds to wait before answering: longer than a client's timeout


@dataclass
class _Activity:
    in_flight: int = 0
    last_call_at: float | None = None  # time.time() of the last start or end of a bot call
    last_monotonic: float = field(default_factory=time.monotonic)


class FakeBotApi:
    """The fake Telegram: Bot API under `/bot<token>/`, files, the page and the control API."""

    def __init__(self, groups: dict[int, str] | None = None) -> None:
        self.world = World(groups)
        self.updates = UpdateQueue()
        self.webhook = WebhookPusher(self.updates)
        self.messaging = Messaging(self.world)
        self.editing = Editing(self.world)
        self.chats = Chats(self.world)
        self.calls: list[CallRecord] = []
        self.errors: list[CallRecord] = []
        self.faults: list[Fault] = []
        self.delay = 0.0  # seconds added before answering every bot call except getUpdates
        self.activity = _Activity()
        self._methods: dict[str, Method] = {
            "getme": lambda _: {
                **BOT_USER.to_json(),
                "can_join_groups": True,
                "can_read_all_group_messages": True,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            },
            "logout": lambda _: True,
            "close": lambda _: True,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": lambda _: self.webhook.info(),
            **self.messaging.table(),
            **self.editing.table(),
            **self.chats.table(),
        }
        self._poll_interrupt: asyncio.Event | None = None
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._url = ""
        self.app = web.Application(client_max_size=MAX_UPLOAD)
        self.app.router.add_route("*", "/bot{token}/{method}", self._bot_call)
        self.app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        self.app.router.add_get("/", self._index)
        self.app.router.add_static("/static", STATIC_DIR)
        add_control_routes(self.app, self)

    # -- lifetime --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:41234; the bot uses `url + "/bot"`."""
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self._url = f"http://{host}:{bound_port}"
        self.webhook.start()
        return self._url

    async def stop(self) -> None:
        self._closing.set()
        if self._poll_interrupt is not None:
            self._poll_interrupt.set()
        self.world.wake()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- for tests and the composition root ------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        groups: tuple[int, ...] = (),
    ) -> User:
        """Create (or update) a user with a private chat, optionally a member of groups."""
        user = self.world.add_user(User(user_id, first_name, last_name, username, language_code))
        for chat_id in groups:
            chat = self.world.chats.get(chat_id)
            if chat is not None:
                chat.members.add(user_id)
                self.world.emit("chat", chat_id, chat=self.world.chat_view(chat))
        return user

    def inject(self, body: JsonDict, update_id: int | None = None) -> int:
        """Queue a raw update for the bot; returns its update_id."""
        return self.updates.push(body, update_id)

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` calls of `method` (optionally to one chat) with an error,
        after `delay` seconds: a delay past the bot's read timeout makes the call time out
        without anything having been done, unlike `self.delay`, which slows calls that succeed.
        """
        self.faults.append(
            Fault(method.lower(), status, description, retry_after, times, chat_id, delay)
        )

    def state(self) -> JsonDict:
        """What a driver needs to tell whether the bot is idle."""
        return {
            "pending_updates": len(self.updates.pending),
            "pending_update_ids": [p.update_id for p in self.updates.pending],
            "confirmed_offset": self.updates.confirmed_offset,
            "bot_calls_in_flight": self.activity.in_flight,
            "last_bot_call_at": self.activity.last_call_at,
            "idle_for": time.monotonic() - self.activity.last_monotonic,
            "calls_total": len(self.calls),
            "errors_total": len(self.errors),
            "seq": self.world.seq,
            "webhook": self.webhook.url,
        }

    # -- the Bot API endpoint --------------------------------------------------------------

    async def _bot_call(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        record = CallRecord(len(self.calls), request.match_info["method"], {}, None, time.time())
        self.calls.append(record)
        tracked = method not in _UNTRACKED
        if tracked:
            self._mark_activity(+1)
        try:
            params = await Params.from_request(request)
            record.params = params.public()
            record.chat_id = self._chat_of(method, params)
            if tracked and self.delay > 0:
                await asyncio.sleep(self.delay)
            await self._apply_fault(method, record)
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError("Not Found: method not found", 404)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            record.status = 200
            return web.json_response({"ok": True, "result": result})
        except ApiError as err:
            record.status, record.description = err.status, err.description
            if not record.injected and not (err.status == 409 and _client_gone(request)):
                self.errors.append(record)
                log.info("bot call %s refused: %s", record.method, err.description)
            return web.json_response(err.payload(), status=err.status)
        except ConnectionResetError:
            # The bot went away in the middle of its request (it was killed): nobody to answer.
            record.status, record.description = 499, "client closed the connection"
            return web.Response(status=499)
        except Exception:
            # A bug in the stand-in, not in the bot: answer like Telegram's rare 500s, and keep
            # it in `errors` so no test passes over it.
            log.exception("the stand-in failed on %s", record.method)
            record.status, record.description = 500, "Internal Server Error"
            self.errors.append(record)
            payload = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return web.json_response(payload, status=500)
        finally:
            record.finished_at = time.time()
            if tracked:
                self._mark_activity(-1)

    def _mark_activity(self, delta: int) -> None:
        self.activity.in_flight += delta
        self.activity.last_call_at = time.time()
        self.activity.last_monotonic = time.monotonic()

    def _chat_of(self, method: str, params: Params) -> int | None:
        """The chat a call concerns, for the call log and the driver's wait."""
        if method == "answercallbackquery":
            query = self.world.queries.get(params.string("callback_query_id") or "")
            return query.chat_id if query else None
        try:
            chat_id = params.chat_id() if params.has("chat_id") else None
        except ApiError:
            return None
        if isinstance(chat_id, str):
            chat = self.world.find_chat(chat_id)
            return chat.id if chat else None
        return chat_id

    async def _apply_fault(self, method: str, record: CallRecord) -> None:
        for fault in self.faults:
            if fault.method == method and fault.chat_id in (None, record.chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                record.injected = True
                if fault.delay > 0:
                    await asyncio.sleep(fault.delay)
                raise ApiError(fault.description, fault.status, fault.retry_after)

    async def _get_updates(self, params: Params) -> list[JsonDict]:
        if self.webhook.url:
            raise ApiError(_CONFLICT_WEBHOOK, 409)
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            self.updates.allowed = [str(kind) for kind in allowed] or None
        if self._poll_interrupt is not None:
            self._poll_interrupt.set()  # Telegram ends the older poll with a Conflict
        interrupt = self._poll_interrupt = asyncio.Event()
        self.updates.confirm(offset)
        deadline = time.monotonic() + timeout
        while True:
            batch = self.updates.take(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing.is_set():
                break
            await self.updates.wait(remaining, interrupt, self._closing)
            if interrupt.is_set() and not self._closing.is_set():
                raise ApiError(_CONFLICT_WEBHOOK if self.webhook.url else _CONFLICT_POLL, 409)
        if self._poll_interrupt is interrupt:
            self._poll_interrupt = None
        return [update.payload for update in batch]

    def _set_webhook(self, params: Params) -> bool:
        url = params.string("url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.string("secret_token")
        if secret is not None and (
            not 1 <= len(secret) <= 256
            or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)
        ):
            raise bad_request("secret token contains unallowed characters")
        if params.flag("drop_pending_updates"):
            self.updates.drop_all()
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            self.updates.allowed = [str(kind) for kind in allowed] or None
        self.webhook.configure(url, secret, params.integer("max_connections") or 40)
        if self._poll_interrupt is not None:
            self._poll_interrupt.set()
        return True

    def _delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self.updates.drop_all()
        self.webhook.configure("", None)
        return True

    # -- files and the page ----------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.StreamResponse:
        stored = self.world.file_by_path(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return await stream_file(request, stored.chunks(), stored.size, stored.mime_type)

    async def _index(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
