"""The bot's aiohttp connection to the Bot API (`bot.telegram_http`), through a real PTB `Bot`
against the stand-in over real HTTP: calls, uploads and Telegram's answers arrive as with PTB's
own httpx request, and failures to talk raise the errors the dispatcher judges by."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import telegram
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.sandbox.botapi import FakeBotApi
from bot.telegram_http import AiohttpRequest

TOKEN = "123456:TEST-token"
PERSON = 10001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    api.add_user(PERSON, "user")
    yield api
    await api.stop()


def bot_for(url: str, request: AiohttpRequest) -> telegram.Bot:
    return telegram.Bot(
        TOKEN, base_url=url + "/bot", base_file_url=url + "/file/bot", request=request
    )


async def test_a_message_goes_and_its_answer_comes_back(api: FakeBotApi) -> None:
    async with bot_for(api.url, AiohttpRequest(4)) as bot:
        me = await bot.get_me()
        sent = await bot.send_message(PERSON, "<b>信访</b> &amp; 1 &lt; 2", parse_mode="HTML")

    assert me.is_bot
    stored = api.world.chats[PERSON].messages[sent.message_id]
    assert stored.text == sent.text == "信访 & 1 < 2"


async def test_a_file_is_uploaded_as_multipart_with_its_name(api: FakeBotApi) -> None:
    async with bot_for(api.url, AiohttpRequest(4)) as bot:
        sent = await bot.send_document(
            PERSON, b"%PDF-1.4 minimal", filename="答复.pdf", caption="答复书"
        )
        file = await bot.get_file(sent.document.file_id if sent.document else "")
        content = await file.download_as_bytearray()

    assert sent.document is not None and sent.document.file_name == "答复.pdf"
    assert sent.caption == "答复书"
    assert bytes(content) == b"%PDF-1.4 minimal"


async def test_telegram_s_refusals_are_ptb_s_errors(
    api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22 warns when it builds RetryAfter otherwise
    api.fail_next("sendMessage", status=429, description="Too Many Requests", retry_after=7)
    api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    async with bot_for(api.url, AiohttpRequest(4)) as bot:
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(PERSON, "one")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(PERSON, "two")

    assert flood.value.retry_after == timedelta(seconds=7)


async def test_an_answer_slower_than_the_read_timeout_is_timed_out(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=500, description="Internal Server Error", delay=0.8)
    async with bot_for(api.url, AiohttpRequest(4, read_timeout=0.3)) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(PERSON, "slow")


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AiohttpRequest(1) as request:
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")

    assert not isinstance(refused.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in refused.value.message


async def test_a_request_that_is_not_initialized_says_so() -> None:
    with pytest.raises(NetworkError, match="not initialized"):  # as PTB wraps any failure
        await AiohttpRequest().post("http://127.0.0.1:9/botX/getMe")


async def test_a_failure_never_quotes_the_token() -> None:
    # aiohttp names a URL it cannot use in its error; the URL holds the token.
    async with AiohttpRequest(1) as request:
        with pytest.raises(NetworkError) as failed:
            await request.post(f"http:///bot{TOKEN}/getMe")

    assert "InvalidUrlClientError" in failed.value.message
    assert TOKEN not in failed.value.message
