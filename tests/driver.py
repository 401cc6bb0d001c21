"""Test driver for end-to-end dialogs: people talk to the real bot through the Bot API stand-in.

A `Sandbox` wraps the stand-in's control API (over HTTP, like the sandbox page); `Person`
objects say things, press buttons, share contacts, locations and files, and each call waits
for the bot's turn and returns what the bot sent or edited in that chat, so tests read as
transcripts. "The bot's turn" is over when the update has been fetched and confirmed, the bot
has made at least one call about that chat (unless no reply is expected), and no call has been
in flight or arrived for a short settle window. The driver never touches the bot's internals.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

JsonDict = dict[str, Any]
DEFAULT_PHONE = "+8613800138000"


@dataclass(frozen=True)
class BotMessage:
    """A message as a person sees it in a chat."""

    message_id: int
    chat_id: int
    text: str  # plain text (or caption) as displayed
    html: str  # the text exactly as sent (raw HTML with parse_mode=HTML)
    kind: str
    buttons: list[list[tuple[str, str | None]]]  # rows of (label, callback_data or url)
    keyboard: JsonDict | None  # reply keyboard / removal sent with this message
    from_bot: bool
    sender_id: int
    edited: int
    deleted: bool
    raw: JsonDict = field(repr=False)

    @classmethod
    def from_view(cls, view: JsonDict) -> BotMessage:
        rows = [
            [(b["text"], b.get("callback_data", b.get("url"))) for b in row]
            for row in view.get("buttons") or []
        ]
        return cls(
            message_id=view["message_id"],
            chat_id=view["chat_id"],
            text=view["text"],
            html=view["html"],
            kind=view["kind"],
            buttons=rows,
            keyboard=view.get("keyboard"),
            from_bot=view["from"]["is_bot"],
            sender_id=view["from"]["id"],
            edited=view["edited"],
            deleted=view["deleted"],
            raw=view,
        )

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    @property
    def reply_labels(self) -> list[str]:
        rows = (self.keyboard or {}).get("keyboard") or []
        return [button["text"] for row in rows for button in row]

    def data_for(self, label: str) -> str | None:
        return next((data for row in self.buttons for lab, data in row if lab == label), None)


class Sandbox:
    """The control side of a running `FakeBotApi` (async context manager)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 15.0,
        settle: float = 0.3,
        strict: bool = True,
        busy: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        # Whether the bot still owes messages it has committed to send (its outbox): a turn is
        # over only when it owes nothing, however long a loaded machine takes to send them.
        self.busy = busy
        self.timeout = timeout
        self.settle = settle
        # strict: a turn during which the stand-in refused a bot call fails at once, naming it.
        self.strict = strict
        self.poll_interval = 0.02
        self.turn_started_seq = 0  # event sequence just before the latest turn's injection
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Sandbox:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- raw control API -------------------------------------------------------------------

    async def get(self, path: str, **query: Any) -> Any:
        return await self._request("GET", path, params={k: str(v) for k, v in query.items()})

    async def post(self, path: str, body: JsonDict) -> Any:
        return await self._request("POST", path, json=body)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._session is None:
            raise RuntimeError("use `async with Sandbox(url) as sb:`")
        url = f"{self.url}/sandbox/api{path}"
        async with self._session.request(method, url, **kwargs) as response:
            data = await response.json()
            if response.status != 200:
                raise AssertionError(f"{method} {path} -> {response.status}: {data}")
            return data

    async def state(self) -> JsonDict:
        state: JsonDict = await self.get("/state")
        return state

    async def errors(self) -> list[JsonDict]:
        errors: list[JsonDict] = (await self.get("/errors"))["errors"]
        return errors

    async def calls(self, since: int = 0) -> list[JsonDict]:
        calls: list[JsonDict] = (await self.get("/calls", since=since))["calls"]
        return calls

    async def callback_answers(self, since: int = 0) -> list[JsonDict]:
        """Every answerCallbackQuery the bot made: text, show_alert, url, user_id, …"""
        events = (await self.get("/events", since=since, timeout=0))["events"]
        return [event["answer"] for event in events if event["type"] == "callback_answer"]

    async def assert_no_errors(self) -> None:
        """Fail listing every call the stand-in refused (the bot made an invalid call)."""
        errors = await self.errors()
        if errors:
            raise AssertionError("the bot made invalid Bot API calls:\n" + _format_errors(errors))

    async def fail_next(self, method: str, *, status: int, description: str, **extra: Any) -> None:
        await self.post(
            "/fail_next", {"method": method, "status": status, "description": description, **extra}
        )

    # -- people and chats ------------------------------------------------------------------

    async def user(
        self,
        *,
        first_name: str = "Alice",
        language_code: str | None = "en",
        id: int | None = None,  # mirrors Telegram's User.id
        last_name: str | None = None,
        username: str | None = None,
        groups: tuple[int, ...] = (),
    ) -> Person:
        body: JsonDict = {
            "first_name": first_name,
            "language_code": language_code,
            "last_name": last_name,
            "username": username,
            "groups": list(groups),
        }
        if id is not None:
            body["id"] = id
        return Person(self, await self.post("/users", body))

    def group(self, chat_id: int) -> Group:
        return Group(self, chat_id)

    async def chat_messages(self, chat_id: int, since: int = 0) -> list[BotMessage]:
        data = await self.get(f"/chats/{chat_id}/messages", since=since)
        return [BotMessage.from_view(view) for view in data["messages"]]

    # -- turns -----------------------------------------------------------------------------

    async def turn(
        self, path: str, body: JsonDict, *, chat_id: int, expect_reply: bool = True
    ) -> tuple[JsonDict, list[BotMessage]]:
        """Inject through `path`, wait for the bot's turn, return (answer, bot messages)."""
        before = await self.state()
        self.turn_started_seq = before["seq"]
        answer: JsonDict = await self.post(path, body)
        await self._wait_turn(answer["update_id"], chat_id, before["calls_total"], expect_reply)
        if self.strict:
            new_errors = (await self.errors())[before["errors_total"] :]
            if new_errors:
                raise AssertionError(
                    f"the bot made invalid Bot API calls handling {path} {body}:\n"
                    + _format_errors(new_errors)
                )
        changed = await self.chat_messages(chat_id, since=before["seq"])
        return answer, [m for m in changed if m.from_bot and not m.deleted]

    async def raw_update(
        self, update: JsonDict, *, chat_id: int, expect_reply: bool = False
    ) -> list[BotMessage]:
        """Inject any update (also a redelivery of a used update_id) and wait for the turn."""
        _, messages = await self.turn(
            "/raw_update", {"update": update}, chat_id=chat_id, expect_reply=expect_reply
        )
        return messages

    async def wait_idle(self) -> None:
        """Wait until no update is pending and the bot has been quiet for the settle window."""
        deadline = time.monotonic() + self.timeout
        while True:
            state = await self.state()
            if (
                not state["pending_updates"]
                and not state["bot_calls_in_flight"]
                and state["idle_for"] >= self.settle
            ):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not become idle: {state}")
            await asyncio.sleep(self.poll_interval)

    async def _wait_turn(
        self, update_id: int, chat_id: int, calls_from: int, expect_reply: bool
    ) -> None:
        deadline = time.monotonic() + self.timeout
        confirmed_at: float | None = None
        replied = not expect_reply
        cursor = calls_from
        while True:
            state = await self.state()
            now = time.monotonic()
            if confirmed_at is None and update_id not in state["pending_update_ids"]:
                confirmed_at = now
            if not replied:
                new_calls = await self.calls(cursor)
                cursor += len(new_calls)
                replied = any(
                    c["chat_id"] == chat_id and c["method"].lower() != "getupdates"
                    for c in new_calls
                )
            if (
                confirmed_at is not None
                and replied
                and not state["bot_calls_in_flight"]
                and state["idle_for"] >= self.settle
                and now - confirmed_at >= self.settle
                and not (self.busy is not None and await self.busy())
            ):
                return
            if now > deadline:
                raise AssertionError(
                    await self._describe_timeout(update_id, chat_id, calls_from, state)
                )
            await asyncio.sleep(self.poll_interval)

    async def _describe_timeout(
        self, update_id: int, chat_id: int, calls_from: int, state: JsonDict
    ) -> str:
        calls = await self.calls(calls_from)
        lines = [
            f"the bot's turn for update {update_id} in chat {chat_id} did not end within "
            f"{self.timeout:.0f} s",
            f"  update still pending: {update_id in state['pending_update_ids']}; "
            f"calls in flight: {state['bot_calls_in_flight']}; webhook: {state['webhook']!r}",
            "  bot calls since the update:",
            *[
                f"    {c['method']} chat={c['chat_id']} -> {c['status']} {c['description'] or ''}"
                for c in calls
                if c["method"].lower() != "getupdates"
            ],
        ]
        if not any(c["method"].lower() == "getupdates" for c in calls):
            lines.append("  (the bot did not call getUpdates at all: is it polling?)")
        errors = await self.errors()
        if errors:
            lines.append(f"  refused calls so far: {[e['description'] for e in errors]}")
        return "\n".join(lines)


def _format_errors(errors: list[JsonDict]) -> str:
    return "\n".join(
        f"  {e['method']} {e['params']} -> {e['status']} {e['description']}" for e in errors
    )


class Person:
    """A Telegram user playing a part in a dialog with the bot."""

    def __init__(self, sandbox: Sandbox, user: JsonDict) -> None:
        self.sandbox = sandbox
        self.id: int = user["id"]
        self.first_name: str = user["first_name"]
        self.language_code: str | None = user.get("language_code")
        self.sent: BotMessage | None = None  # the last message this person sent
        # How the bot answered this person's latest button press (the toast or alert), if at all.
        self.last_answer: JsonDict | None = None
        self._transcripts: dict[int, list[BotMessage]] = {}

    def __repr__(self) -> str:
        return f"Person({self.first_name!r}, id={self.id})"

    @property
    def chat_id(self) -> int:
        """The person's private chat with the bot (chat id = user id)."""
        return self.id

    @property
    def last(self) -> BotMessage | None:
        """The newest bot message in the private chat, as of the person's last action."""
        return self.last_in(self.chat_id)

    def last_in(self, chat_id: int) -> BotMessage | None:
        bot_messages = [
            m for m in self._transcripts.get(chat_id, []) if m.from_bot and not m.deleted
        ]
        return bot_messages[-1] if bot_messages else None

    async def messages(self, chat_id: int | None = None) -> list[BotMessage]:
        """Every live message in the chat (both sides), refreshing `last`."""
        chat = self.chat_id if chat_id is None else chat_id
        messages = await self.sandbox.chat_messages(chat)
        messages.sort(key=lambda m: m.message_id)
        self._transcripts[chat] = messages
        return [m for m in messages if not m.deleted]

    async def _send(
        self, content: JsonDict, chat_id: int | None, expect_reply: bool
    ) -> list[BotMessage]:
        chat = self.chat_id if chat_id is None else chat_id
        body = {"user_id": self.id, "chat_id": chat, **content}
        answer, replies = await self.sandbox.turn(
            "/send", body, chat_id=chat, expect_reply=expect_reply
        )
        self.sent = BotMessage.from_view(answer["message"])
        await self.messages(chat)
        return replies

    async def say(
        self,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        content: JsonDict = {"text": text}
        if reply_to is not None:
            content["reply_to_message_id"] = reply_to
        return await self._send(content, chat_id, expect_reply)

    async def press(
        self,
        label: str | None = None,
        *,
        data: str | None = None,
        chat_id: int | None = None,
        message_id: int | None = None,
        force: bool = False,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        """Press a button by label (or callback data) on the newest bot message that has it."""
        if label is None and data is None:
            raise ValueError("press() needs a label or data")
        chat = self.chat_id if chat_id is None else chat_id
        messages = await self.messages(chat)
        target = self._find_button(messages, label, data, message_id, force)
        body = {
            "user_id": self.id,
            "chat_id": chat,
            "message_id": target[0],
            "data": target[1],
            "force": force,
        }
        pressed, replies = await self.sandbox.turn(
            "/press", body, chat_id=chat, expect_reply=expect_reply
        )
        answers = await self.sandbox.callback_answers(self.sandbox.turn_started_seq)
        self.last_answer = next(
            (a for a in answers if a["callback_query_id"] == pressed["callback_query_id"]), None
        )
        await self.messages(chat)
        return replies

    def _find_button(
        self,
        messages: list[BotMessage],
        label: str | None,
        data: str | None,
        message_id: int | None,
        force: bool,
    ) -> tuple[int, str]:
        candidates = [
            m
            for m in reversed(messages)
            if m.from_bot and (message_id is None or m.message_id == message_id)
        ]
        for message in candidates:
            for row in message.buttons:
                for button_label, button_data in row:
                    if (label is None or button_label == label) and (
                        data is None or button_data == data
                    ):
                        if button_data is None:
                            break
                        return message.message_id, button_data
        if force and data is not None and candidates:
            return candidates[0].message_id, data
        shown = [(m.message_id, m.labels) for m in candidates[:5] if m.buttons]
        raise AssertionError(
            f"{self!r} found no button label={label!r} data={data!r}; "
            f"recent bot messages with buttons: {shown}"
        )

    async def share_contact(
        self,
        phone: str = DEFAULT_PHONE,
        *,
        first_name: str | None = None,
        user_id: int | None = None,
        own: bool = True,
        chat_id: int | None = None,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        """Share a contact: by default one's own (contact.user_id = own id)."""
        contact: JsonDict = {"phone_number": phone, "first_name": first_name or self.first_name}
        if user_id is not None or own:
            contact["user_id"] = user_id if user_id is not None else self.id
        return await self._send({"contact": contact}, chat_id, expect_reply)

    async def share_location(
        self,
        latitude: float,
        longitude: float,
        *,
        chat_id: int | None = None,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send({"location": location}, chat_id, expect_reply)

    async def send_file(
        self,
        file_name: str,
        *,
        size: int | None = None,
        data: bytes | None = None,
        mime: str = "application/octet-stream",
        kind: str = "document",
        caption: str | None = None,
        chat_id: int | None = None,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        """Send a file as `kind` (document, photo, video, voice, audio): real bytes in `data`,
        or only a `size`, whose content the stand-in fabricates on download."""
        spec: JsonDict = {"file_name": file_name, "mime_type": mime}
        if data is not None:
            spec["data_b64"] = base64.b64encode(data).decode()
        else:
            spec["size"] = 1024 if size is None else size
        content: JsonDict = {kind: spec}
        if caption is not None:
            content["caption"] = caption
        return await self._send(content, chat_id, expect_reply)

    async def send_photo(
        self, *, size: int = 120_000, chat_id: int | None = None, expect_reply: bool = True
    ) -> list[BotMessage]:
        return await self.send_file(
            "photo.jpg",
            size=size,
            mime="image/jpeg",
            kind="photo",
            chat_id=chat_id,
            expect_reply=expect_reply,
        )

    async def send_sticker(
        self, emoji: str = "👍", *, chat_id: int | None = None, expect_reply: bool = True
    ) -> list[BotMessage]:
        return await self._send({"sticker": emoji}, chat_id, expect_reply)

    async def edit(
        self,
        message_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        """Edit one of one's own messages (the bot gets an `edited_message` update)."""
        chat = self.chat_id if chat_id is None else chat_id
        body = {"user_id": self.id, "chat_id": chat, "message_id": message_id, "text": text}
        _, replies = await self.sandbox.turn("/edit", body, chat_id=chat, expect_reply=expect_reply)
        await self.messages(chat)
        return replies

    async def forward(
        self,
        text: str,
        *,
        from_name: str | None = None,
        from_user_id: int | None = None,
        from_channel: str | None = None,
        chat_id: int | None = None,
        expect_reply: bool = True,
    ) -> list[BotMessage]:
        """Forward a text message to the bot; the origin is a user, a hidden user or a channel."""
        if from_user_id is not None:
            origin: JsonDict = {"user_id": from_user_id}
        elif from_channel is not None:
            origin = {"chat_title": from_channel}
        else:
            origin = {"sender_name": from_name or "Someone"}
        return await self._send({"text": text, "forward_from": origin}, chat_id, expect_reply)


class Group:
    """A group chat as seen from the outside (e.g. an office's staff group)."""

    def __init__(self, sandbox: Sandbox, chat_id: int) -> None:
        self.sandbox = sandbox
        self.chat_id = chat_id

    async def messages(self, *, include_deleted: bool = False) -> list[BotMessage]:
        messages = await self.sandbox.chat_messages(self.chat_id)
        messages.sort(key=lambda m: m.message_id)
        return [m for m in messages if include_deleted or not m.deleted]

    async def last(self) -> BotMessage | None:
        """The newest live bot message in the group."""
        bot_messages = [m for m in await self.messages() if m.from_bot]
        return bot_messages[-1] if bot_messages else None
