"""The Bot API stand-in, driven by a real PTB `Bot` and by raw HTTP: it answers like Telegram,
refuses what Telegram refuses with Telegram's words, and delivers updates by polling or webhook.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox.botapi import FakeBotApi
from tests.driver import Sandbox

TOKEN = "123456:TEST-token"
CITIZEN = 10001
STAFF = 900003
GROUP = -1001000000003

JsonDict = dict[str, Any]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi(groups={GROUP: "成都市锦江区信访局 staff"})
    await api.start()
    api.add_user(CITIZEN, "张三", language_code="zh-hans")
    api.add_user(STAFF, "张伟", language_code="zh-hans", groups=(GROUP,))
    yield api
    await api.stop()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        TOKEN, base_url=api.url + "/bot", base_file_url=api.url + "/file/bot"
    ) as bot:
        yield bot


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def control(
    http: aiohttp.ClientSession, api: FakeBotApi, path: str, body: JsonDict | None = None
) -> tuple[int, JsonDict]:
    url = f"{api.url}/sandbox/api{path}"
    method = "GET" if body is None else "POST"
    async with http.request(method, url, json=body) as response:
        return response.status, await response.json()


async def raw_call(
    http: aiohttp.ClientSession, api: FakeBotApi, method: str, **kwargs: Any
) -> tuple[int, JsonDict]:
    async with http.post(f"{api.url}/bot{TOKEN}/{method}", **kwargs) as response:
        return response.status, await response.json()


# -- sending and validation ------------------------------------------------------------------


async def test_get_me_answers_the_sandbox_bot(bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (1000000001, True, "petition_sandbox_bot")


async def test_send_message_keeps_plain_text_entities_and_the_html_as_sent(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("同意", callback_data="v1:agree")]])
    sent = await bot.send_message(
        CITIZEN, "<b>您好</b> &amp; welcome", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.text == "您好 & welcome"
    assert sent.entities[0].type == "bold"
    assert sent.reply_markup == keyboard
    _, data = await control(http, api, f"/chats/{CITIZEN}/messages")
    view = data["messages"][-1]
    assert view["html"] == "<b>您好</b> &amp; welcome"
    assert view["buttons"] == [[{"text": "同意", "callback_data": "v1:agree"}]]
    assert api.errors == []


@pytest.mark.parametrize(
    ("chat_id", "text", "markup", "expected"),
    [
        (424242, "hi", None, "Chat not found"),
        (CITIZEN, "   ", None, "Message text is empty"),
        (CITIZEN, "x" * 4097, None, "Message is too long"),
        (CITIZEN, "😀" * 2049, None, "Message is too long"),  # 4098 UTF-16 code units
        (CITIZEN, "<foo>x</foo>", None, 'unsupported start tag "foo" at byte offset 0'),
        (CITIZEN, "<b>x", None, 'can\'t find end tag corresponding to start tag "b"'),
        (CITIZEN, "Tom & Jerry", None, 'unescaped "&" at byte offset 4'),
        (
            CITIZEN,
            "hi",
            InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="长" * 22)]]),
            "Button_data_invalid",
        ),
        (
            CITIZEN,
            "hi",
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
            ),
            "Reply markup is too long",
        ),
        (
            CITIZEN,
            "hi",
            InlineKeyboardMarkup([[InlineKeyboardButton("", callback_data="x")]]),
            "Button_text_invalid",
        ),
    ],
)
async def test_invalid_messages_are_refused_in_telegrams_words(
    api: FakeBotApi,
    bot: telegram.Bot,
    *,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    expected: str,
) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup)
    assert expected in caught.value.message
    assert [e.method for e in api.errors] == ["sendMessage"]


async def test_the_length_limit_applies_to_the_text_after_parsing(bot: telegram.Bot) -> None:
    sent = await bot.send_message(CITIZEN, "<b>" + "中" * 4096 + "</b>", parse_mode="HTML")
    assert len(sent.text) == 4096


async def test_raw_requests_in_form_and_json_keep_strings_as_strings(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    status, form = await raw_call(
        http, api, "sendMessage", data={"chat_id": "10001", "text": "123"}
    )
    assert (status, form["result"]["text"]) == (200, "123")
    status, body = await raw_call(
        http, api, "sendMessage", json={"chat_id": CITIZEN, "text": "json body"}
    )
    assert (status, body["result"]["chat"]["id"]) == (200, CITIZEN)


async def test_text_only_inline_buttons_are_refused(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    markup = json.dumps({"inline_keyboard": [[{"text": "no action"}]]})
    status, body = await raw_call(
        http, api, "sendMessage", data={"chat_id": CITIZEN, "text": "x", "reply_markup": markup}
    )
    assert status == 400
    assert body["description"].endswith("Text buttons are unallowed in the inline keyboard")


async def test_an_unknown_method_is_not_found(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    status, body = await raw_call(http, api, "sendTelepathy", data={"chat_id": CITIZEN})
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


async def test_a_blocked_user_cannot_be_written_to(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.world.users[CITIZEN].blocked_bot = True
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CITIZEN, "hello")


async def test_reply_keyboards_are_tracked_per_chat(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    share = ReplyKeyboardMarkup([[KeyboardButton("Share phone", request_contact=True)]])
    await bot.send_message(CITIZEN, "Your phone?", reply_markup=share)
    _, chats = await control(http, api, "/chats")
    chat = next(c for c in chats["chats"] if c["id"] == CITIZEN)
    assert chat["reply_keyboard"]["keyboard"][0][0]["request_contact"] is True
    await bot.send_message(CITIZEN, "Thanks", reply_markup=ReplyKeyboardRemove())
    _, chats = await control(http, api, "/chats")
    assert next(c for c in chats["chats"] if c["id"] == CITIZEN)["reply_keyboard"] is None


# -- editing, deleting, callback queries -----------------------------------------------------


async def test_edit_errors_match_telegram(api: FakeBotApi, bot: telegram.Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    sent = await bot.send_message(CITIZEN, "Step 1", reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=CITIZEN, message_id=999)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Step 1", chat_id=CITIZEN, message_id=sent.message_id, reply_markup=keyboard
        )
    # Telegram drops the inline keyboard when an edit does not repeat it.
    edited = await bot.edit_message_text("Step 1", chat_id=CITIZEN, message_id=sent.message_id)
    assert edited.reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(chat_id=CITIZEN, message_id=sent.message_id)
    assert await bot.delete_message(CITIZEN, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(CITIZEN, sent.message_id)
    assert len(api.errors) == 4


async def test_callback_queries_are_answered_once(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Agree", callback_data="v1:agree")]])
    sent = await bot.send_message(CITIZEN, "Consent?", reply_markup=keyboard)
    press = {"user_id": CITIZEN, "message_id": sent.message_id, "data": "v1:forged"}
    status, _ = await control(http, api, "/press", press)
    assert status == 400
    status, pressed = await control(http, api, "/press", {**press, "data": "v1:agree"})
    assert status == 200
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.data == "v1:agree"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(pressed["callback_query_id"], "Thanks", show_alert=True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(pressed["callback_query_id"])
    _, events = await control(http, api, "/events?since=0")
    answers = [e["answer"] for e in events["events"] if e["type"] == "callback_answer"]
    assert answers[0]["text"] == "Thanks"
    assert answers[0]["show_alert"] is True


async def test_forged_callback_data_can_be_forced_for_security_tests(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Agree", callback_data="v1:agree")]])
    sent = await bot.send_message(GROUP, "Case 1", reply_markup=keyboard)
    press = {
        "user_id": STAFF,
        "chat_id": GROUP,
        "message_id": sent.message_id,
        "data": "v1:accept:999",
        "force": True,
    }
    status, _ = await control(http, api, "/press", press)
    assert status == 200
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.data == "v1:accept:999"


# -- updates: polling, confirmation, redelivery, webhook -------------------------------------


async def test_get_updates_drops_updates_once_a_higher_offset_is_asked(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    for text in ("one", "two"):
        await control(http, api, "/send", {"user_id": CITIZEN, "text": text})
    first = await bot.get_updates(limit=1)
    again = await bot.get_updates()
    assert again[0].update_id == first[0].update_id  # not confirmed yet
    rest = await bot.get_updates(offset=first[0].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["two"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    _, state = await control(http, api, "/state")
    assert state["pending_updates"] == 0
    assert state["confirmed_offset"] == rest[-1].update_id + 1


async def test_a_long_poll_returns_as_soon_as_an_update_is_injected(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await control(http, api, "/send", {"user_id": CITIZEN, "text": "wake up"})
    updates = await asyncio.wait_for(poll, 10)  # a guard, not a timing assertion
    assert updates[0].message is not None
    assert updates[0].message.text == "wake up"


async def test_a_second_poller_ends_the_first_with_a_conflict(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
    await asyncio.sleep(0.1)
    async with telegram.Bot(TOKEN, base_url=api.url + "/bot") as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 10)
    assert [e.method for e in api.errors] == ["getUpdates"]


async def test_a_redelivered_update_id_is_delivered_again(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    _, sent = await control(http, api, "/send", {"user_id": CITIZEN, "text": "/start"})
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.entities[0].type == "bot_command"
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    raw = update.to_dict()
    _, again = await control(http, api, "/raw_update", {"update": raw})
    assert again["update_id"] == sent["update_id"]
    (redelivered,) = await bot.get_updates(offset=update.update_id + 1)
    assert redelivered.update_id == update.update_id
    assert await bot.get_updates(offset=update.update_id + 1) == ()


async def test_webhook_delivery_sends_the_secret_and_retries_failures(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    received: list[tuple[str | None, JsonDict]] = []
    delivered = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if len(received) == 1:
            return web.Response(status=500)
        delivered.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-Token")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        _, sent = await control(http, api, "/send", {"user_id": CITIZEN, "text": "via webhook"})
        await asyncio.wait_for(delivered.wait(), 10)
        assert [secret for secret, _ in received] == ["s3cret-Token", "s3cret-Token"]
        assert [body["update_id"] for _, body in received] == [sent["update_id"]] * 2
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        assert info.last_error_message is not None
        assert "500" in info.last_error_message
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()
    assert [e.description for e in api.errors] == [
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first"
    ]


# -- what users send -------------------------------------------------------------------------


async def test_user_messages_become_proper_telegram_updates(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    sends: list[JsonDict] = [
        {"contact": {"phone_number": "+8613800138000", "first_name": "张三", "user_id": CITIZEN}},
        {"location": {"latitude": 30.657, "longitude": 104.081}},
        {"photo": {"file_name": "p.jpg", "mime_type": "image/jpeg", "size": 50_000}},
        {"document": {"file_name": "a.pdf", "mime_type": "application/pdf", "size": 1234}},
        {"sticker": "🙂"},
        {"text": "fwd", "forward_from": {"sender_name": "Hidden"}},
        {"text": "fwd2", "forward_from": {"chat_title": "News"}},
        {"text": "fwd3", "forward_from": {"user_id": STAFF}},
    ]
    for body in sends:
        status, _ = await control(http, api, "/send", {"user_id": CITIZEN, **body})
        assert status == 200
    messages = [u.message for u in await bot.get_updates()]
    assert all(m is not None for m in messages)
    contact, location, photo, document, sticker, hidden, channel, user = messages  # type: ignore[misc]
    assert contact.contact.user_id == CITIZEN
    assert location.location.latitude == pytest.approx(30.657)
    assert len(photo.photo) == 2
    assert photo.photo[-1].file_size == 50_000
    assert (document.document.file_name, document.document.file_size) == ("a.pdf", 1234)
    assert sticker.sticker.emoji == "🙂"
    assert hidden.forward_origin.type == "hidden_user"
    assert channel.forward_origin.type == "channel"
    assert user.forward_origin.sender_user.id == STAFF


async def test_a_user_edit_becomes_an_edited_message_update(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    _, sent = await control(http, api, "/send", {"user_id": CITIZEN, "text": "draft"})
    edit = {"user_id": CITIZEN, "message_id": sent["message"]["message_id"], "text": "final"}
    await control(http, api, "/edit", edit)
    updates = await bot.get_updates()
    assert updates[-1].edited_message is not None
    assert updates[-1].edited_message.text == "final"


# -- files -----------------------------------------------------------------------------------


async def test_uploaded_files_can_be_fetched_and_downloaded(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    sent = await bot.send_document(CITIZEN, b"%PDF-1.4 petition", filename="petition.pdf")
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 petition"
    again = await bot.send_document(
        GROUP, sent.document.file_id, caption="<i>copy</i>", parse_mode="HTML"
    )
    assert again.caption == "copy"
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(GROUP, sent.document.file_id, caption="x" * 1025)
    with pytest.raises(BadRequest, match="Type of file mismatch"):
        await bot.send_photo(GROUP, sent.document.file_id)


async def test_fabricated_files_download_at_their_size_and_big_ones_are_refused(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    for size in (70_000, 25 * 1024 * 1024):
        spec = {"file_name": f"{size}.bin", "mime_type": "application/pdf", "size": size}
        await control(http, api, "/send", {"user_id": CITIZEN, "document": spec})
    small, big = [u.message.document for u in await bot.get_updates() if u.message]
    assert small is not None
    assert big is not None
    file = await bot.get_file(small.file_id)
    assert len(await file.download_as_bytearray()) == 70_000
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(big.file_id)


async def test_media_groups_copies_and_forwards(api: FakeBotApi, bot: telegram.Bot) -> None:
    album = await bot.send_media_group(
        CITIZEN, [telegram.InputMediaPhoto(b"one"), telegram.InputMediaPhoto(b"two", caption="2")]
    )
    assert len({m.media_group_id for m in album}) == 1
    copied = await bot.copy_message(GROUP, CITIZEN, album[1].message_id)
    forwarded = await bot.forward_message(GROUP, CITIZEN, album[0].message_id)
    assert forwarded.forward_origin is not None
    assert api.world.chats[GROUP].messages[copied.message_id].caption == "2"
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(GROUP, CITIZEN, 999)


async def test_chat_and_member_lookups(bot: telegram.Bot) -> None:
    chat = await bot.get_chat(GROUP)
    assert chat.title == "成都市锦江区信访局 staff"
    assert (await bot.get_chat_member(GROUP, STAFF)).status == "member"
    assert (await bot.get_chat_member(GROUP, CITIZEN)).status == "left"
    assert (await bot.get_chat_member(GROUP, 1000000001)).status == "administrator"
    assert await bot.set_my_commands([("start", "Start"), ("status", "Case status")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "status"]


# -- fault injection -------------------------------------------------------------------------


async def test_injected_faults_answer_once_and_are_not_counted_as_bot_errors(
    api: FakeBotApi, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 warns when RetryAfter is built unless opted in to timedelta periods.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    api.fail_next(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CITIZEN, "first")
    assert caught.value.retry_after == dt.timedelta(seconds=3)
    assert (await bot.send_message(CITIZEN, "second")).text == "second"
    assert api.errors == []
    assert [c.injected for c in api.calls if c.method == "sendMessage"] == [True, False]


async def test_state_counts_bot_calls_in_flight(
    api: FakeBotApi, bot: telegram.Bot, http: aiohttp.ClientSession
) -> None:
    api.delay = 0.3
    sending = asyncio.create_task(bot.send_message(CITIZEN, "slow"))
    for _ in range(200):
        _, state = await control(http, api, "/state")
        if state["bot_calls_in_flight"]:
            break
        await asyncio.sleep(0.01)
    assert state["bot_calls_in_flight"] == 1
    await sending
    _, state = await control(http, api, "/state")
    assert state["bot_calls_in_flight"] == 0
    assert state["last_bot_call_at"] is not None


async def test_control_requests_that_telegram_could_not_produce_are_refused(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    other_private_chat = {"user_id": STAFF, "chat_id": CITIZEN, "text": "hi"}
    assert (await control(http, api, "/send", other_private_chat))[0] == 400
    assert (await control(http, api, "/send", {"user_id": 5, "text": "hi"}))[0] == 400
    assert (await control(http, api, "/send", {"user_id": CITIZEN}))[0] == 400
    bad_update = {"update": {"message": {}, "edited_message": {}}}
    assert (await control(http, api, "/raw_update", bad_update))[0] == 400


async def test_the_sandbox_page_is_served(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    async with http.get(api.url + "/") as response:
        assert response.status == 200
        assert 'id="citizen-input"' in await response.text()
    for asset in ("app.js", "style.css"):
        async with http.get(f"{api.url}/static/{asset}") as response:
            assert response.status == 200


# -- the test driver against a real PTB Application ------------------------------------------


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    assert message.text is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
    await message.reply_html(f"You said: <b>{html.escape(message.text)}</b>", reply_markup=keyboard)


async def _careless_echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_html(f"You said: {update.effective_message.text}")


async def _again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Once more")
    await query.edit_message_text("Pressed")


@asynccontextmanager
async def running_bot(
    api: FakeBotApi, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[None]:
    """A real PTB Application polling the stand-in, with the given handlers."""
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(api.url + "/bot")
        .base_file_url(api.url + "/file/bot")
        .build()
    )
    app.add_handlers(handlers)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()


async def test_the_driver_waits_for_the_bots_turn(api: FakeBotApi) -> None:
    echo = MessageHandler(filters.TEXT & ~filters.COMMAND, _echo)
    again = CallbackQueryHandler(_again, pattern="^again$")
    async with running_bot(api, echo, again), Sandbox(api.url) as sb:
        alice = await sb.user(first_name="Alice", language_code="en")
        replies = await alice.say("hello & <goodbye>")
        assert [m.text for m in replies] == ["You said: hello & <goodbye>"]
        assert alice.last is not None
        assert alice.last.buttons == [[("Again", "again")]]
        assert alice.last.html == "You said: <b>hello &amp; &lt;goodbye&gt;</b>"
        edited = await alice.press("Again")
        assert [(m.text, m.edited) for m in edited] == [("Pressed", 1)]
        assert alice.last_answer is not None
        assert (alice.last_answer["text"], alice.last_answer["show_alert"]) == ("Once more", False)
        assert await alice.say("/unknown", expect_reply=False) == []
        await sb.assert_no_errors()


async def test_the_driver_names_the_call_a_careless_bot_got_refused(api: FakeBotApi) -> None:
    careless = MessageHandler(filters.TEXT, _careless_echo)
    async with running_bot(api, careless), Sandbox(api.url) as sb:
        bob = await sb.user(first_name="Bob")
        with pytest.raises(AssertionError, match="can't parse entities: Unescaped"):
            await bob.say("Tom & Jerry")
        with pytest.raises(AssertionError, match="invalid Bot API calls"):
            await sb.assert_no_errors()
