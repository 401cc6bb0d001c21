"""The sandbox control API under `/sandbox/api/`: how the page and the test driver play users.

JSON in, JSON out. It creates users, turns "Alice sends a document" or "Alice presses the
button labelled X" into the exact updates Telegram would send the bot (messages with photo
sizes, documents, stickers, contacts, locations, forward origins, bot_command entities,
edited messages, callback queries), injects raw updates (including redeliveries), and reads
back chats, messages, the event stream, the call log, errors and the idle state. It never
answers the bot itself: that is the Bot API side's job. What a user's message contains is
built by `user_input`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.user_input import (
    InputError,
    as_int,
    forward_origin,
    hide_one_time_keyboard,
    message_content,
)
from bot.sandbox.world import CallbackQuery, Chat, JsonDict, User

if TYPE_CHECKING:
    from bot.sandbox.botapi import FakeBotApi

API_KEY: web.AppKey[FakeBotApi] = web.AppKey("sandbox_api")
FIRST_AUTO_USER_ID = 50_000_001
_query_ids = itertools.count(5_550_000_000_000_000_001)


def _fail(message: str, status: int = 400) -> web.HTTPException:
    body = json.dumps({"ok": False, "error": message}, ensure_ascii=False)
    error = web.HTTPBadRequest if status == 400 else web.HTTPNotFound
    return error(text=body, content_type="application/json")


def _api(request: web.Request) -> FakeBotApi:
    return request.app[API_KEY]


async def _body(request: web.Request) -> JsonDict:
    try:
        body = await request.json()
    except json.JSONDecodeError as err:
        raise _fail("body must be a JSON object") from err
    if not isinstance(body, dict):
        raise _fail("body must be a JSON object")
    return body


def _ok(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


def _int(value: Any, name: str) -> int:
    try:
        return as_int(value, name)
    except InputError as err:
        raise _fail(str(err)) from err


def _user(api: FakeBotApi, body: JsonDict) -> User:
    user = api.world.users.get(_int(body.get("user_id"), "user_id"))
    if user is None or user.is_bot:
        raise _fail("unknown user_id: create the user first")
    return user


def _chat(api: FakeBotApi, body: JsonDict, user: User) -> Chat:
    chat = api.world.chats.get(_int(body.get("chat_id", user.id), "chat_id"))
    if chat is None:
        raise _fail("unknown chat_id")
    if chat.type == "private" and chat.user_id != user.id:
        raise _fail("a user can only write in their own private chat with the bot")
    return chat


async def users_create(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    if not body.get("first_name"):
        raise _fail("first_name is required")
    user_id = body.get("id")
    if user_id is None:
        user_id = next(i for i in itertools.count(FIRST_AUTO_USER_ID) if i not in api.world.users)
    user = api.add_user(
        _int(user_id, "id"),
        str(body["first_name"]),
        language_code=body.get("language_code"),
        last_name=body.get("last_name"),
        username=body.get("username"),
        groups=tuple(_int(g, "groups") for g in body.get("groups", [])),
    )
    user.blocked_bot = bool(body.get("blocked", False))
    return _ok(_user_view(user))


def _user_view(user: User) -> JsonDict:
    return {**user.to_json(), "blocked": user.blocked_bot}


async def users_list(request: web.Request) -> web.Response:
    users = _api(request).world.users.values()
    return _ok({"users": [_user_view(u) for u in users if not u.is_bot]})


async def send(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    user = _user(api, body)
    chat = _chat(api, body, user)
    try:
        kind, fields = message_content(api.world, body)
        origin = forward_origin(api.world, body.get("forward_from"))
    except InputError as err:
        raise _fail(str(err)) from err
    reply_to = body.get("reply_to_message_id")
    if reply_to is not None and api.world.live_message(chat, _int(reply_to, "reply")) is None:
        raise _fail("reply_to_message_id: no such message in this chat")
    message = api.world.add_message(
        chat,
        user.id,
        kind,
        reply_to=reply_to,
        forward_origin=origin,
        **fields,
    )
    hide_one_time_keyboard(api.world, chat, message)
    update_id = api.inject({"message": api.world.message_json(message)})
    return _ok({"update_id": update_id, "message": api.world.message_view(message)})


async def edit(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    user = _user(api, body)
    chat = _chat(api, body, user)
    message = api.world.live_message(chat, _int(body.get("message_id"), "message_id"))
    if message is None or message.sender_id != user.id or message.text is None:
        raise _fail("message_id is not a text message of this user in this chat")
    text = str(body.get("text") or "")
    if not text.strip() or text == message.text:
        raise _fail("the new text must be non-empty and different")
    message.text, message.edited, message.edit_date = text, message.edited + 1, int(time.time())
    api.world.touch(message, "edit")
    update_id = api.inject({"edited_message": api.world.message_json(message)})
    return _ok({"update_id": update_id, "message": api.world.message_view(message)})


async def press(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    user = _user(api, body)
    chat = api.world.chats.get(_int(body.get("chat_id", user.id), "chat_id"))
    if chat is None:
        raise _fail("unknown chat_id")
    message = api.world.live_message(chat, _int(body.get("message_id"), "message_id"))
    data = str(body.get("data", ""))
    if message is None:
        raise _fail("message_id: no such message in this chat")
    if not body.get("force") and not message.has_button(data):
        raise _fail("that message has no button with this callback_data (use force to forge)")
    query = CallbackQuery(
        str(next(_query_ids)), user.id, chat.id, message.message_id, data, time.monotonic()
    )
    api.world.queries[query.id] = query
    update = {
        "id": query.id,
        "from": user.to_json(),
        "message": api.world.message_json(message),
        "chat_instance": str(abs(chat.id) * 7919 % 10**19),
        "data": data,
    }
    update_id = api.inject({"callback_query": update})
    return _ok({"update_id": update_id, "callback_query_id": query.id})


async def raw_update(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    update = body.get("update")
    if not isinstance(update, dict) or len(set(update) - {"update_id"}) != 1:
        raise _fail("update must be an object with one update field (and maybe update_id)")
    update_id = update.get("update_id")
    body_only = {k: v for k, v in update.items() if k != "update_id"}
    pushed = api.inject(body_only, None if update_id is None else _int(update_id, "update_id"))
    return _ok({"update_id": pushed})


async def chats(request: web.Request) -> web.Response:
    world = _api(request).world
    return _ok({"chats": [world.chat_view(c) for c in world.chats.values()], "seq": world.seq})


async def messages(request: web.Request) -> web.Response:
    world = _api(request).world
    chat = world.chats.get(_int(request.match_info["chat_id"], "chat_id"))
    if chat is None:
        raise _fail("unknown chat_id", 404)
    since = _int(request.query.get("since", 0), "since")
    changed = [world.message_view(m) for m in chat.messages.values() if m.seq > since]
    return _ok({"messages": changed, "seq": world.seq})


async def events(request: web.Request) -> web.Response:
    world = _api(request).world
    since = _int(request.query.get("since", 0), "since")
    try:
        timeout = min(max(float(request.query.get("timeout", 0)), 0.0), 60.0)
    except ValueError as err:
        raise _fail("timeout must be a number of seconds") from err
    found = await world.wait_events(since, timeout)
    return _ok({"events": found, "seq": world.seq})


async def state(request: web.Request) -> web.Response:
    return _ok(_api(request).state())


async def errors(request: web.Request) -> web.Response:
    return _ok({"errors": [record.to_json() for record in _api(request).errors]})


async def calls(request: web.Request) -> web.Response:
    api = _api(request)
    since = _int(request.query.get("since", 0), "since")
    return _ok({"calls": [c.to_json() for c in api.calls[since:]], "next": len(api.calls)})


async def fail_next(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    try:
        api.fail_next(
            str(body["method"]),
            status=_int(body["status"], "status"),
            description=str(body["description"]),
            retry_after=body.get("retry_after"),
            times=_int(body.get("times", 1), "times"),
            chat_id=body.get("chat_id"),
            delay=max(float(body.get("delay", 0.0)), 0.0),
        )
    except KeyError as err:
        raise _fail(f"missing field {err}") from err
    return _ok({"ok": True})


async def settings(request: web.Request) -> web.Response:
    api, body = _api(request), await _body(request)
    if "delay" in body:
        api.delay = max(float(body["delay"]), 0.0)
    if "query_ttl" in body:
        api.editing.query_ttl = float(body["query_ttl"])
    return _ok({"delay": api.delay, "query_ttl": api.editing.query_ttl})


async def stream_file(
    request: web.Request, chunks: Iterable[bytes], size: int, mime_type: str | None
) -> web.StreamResponse:
    """Send file content chunk by chunk, so fabricated large files are never held whole."""
    response = web.StreamResponse(headers={"Content-Type": mime_type or "application/octet-stream"})
    response.content_length = size
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def file_content(request: web.Request) -> web.StreamResponse:
    stored = _api(request).world.files.get(request.match_info["file_id"])
    if stored is None:
        raise _fail("unknown file_id", 404)
    return await stream_file(request, stored.chunks(), stored.size, stored.mime_type)


def add_control_routes(app: web.Application, api: FakeBotApi) -> None:
    app[API_KEY] = api
    prefix = "/sandbox/api"
    app.router.add_post(f"{prefix}/users", users_create)
    app.router.add_get(f"{prefix}/users", users_list)
    app.router.add_post(f"{prefix}/send", send)
    app.router.add_post(f"{prefix}/edit", edit)
    app.router.add_post(f"{prefix}/press", press)
    app.router.add_post(f"{prefix}/raw_update", raw_update)
    app.router.add_get(f"{prefix}/chats", chats)
    app.router.add_get(f"{prefix}/chats/{{chat_id}}/messages", messages)
    app.router.add_get(f"{prefix}/events", events)
    app.router.add_get(f"{prefix}/state", state)
    app.router.add_get(f"{prefix}/errors", errors)
    app.router.add_get(f"{prefix}/calls", calls)
    app.router.add_post(f"{prefix}/fail_next", fail_next)
    app.router.add_post(f"{prefix}/settings", settings)
    app.router.add_get(f"{prefix}/files/{{file_id}}", file_content)
