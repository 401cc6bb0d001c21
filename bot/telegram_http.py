"""PTB's connection to the Bot API: over aiohttp instead of httpx, within the bot's send budget.

python-telegram-bot talks to Telegram through a `BaseRequest`; its own, `HTTPXRequest`, costs the
bot more CPU per call than anything else it does once many calls are in flight together: httpx's
connection pool (httpcore) checks every waiting request against every connection whenever one
finishes (encode/httpcore#1035). aiohttp, which the bot already runs its web server on, parses
responses in C and hands connections out from a queue. This class only moves bytes: PTB builds
each request's parameters (`RequestData`) and reads every answer, status codes and errors
included (`BaseRequest.post`), exactly as with httpx.

`ReplyLimiter` is PTB's `AIORateLimiter` for the calls handlers make while a person waits, which
also records each such call in the outbox's `Throttle`: the bot has one send budget, and the
replies come first (`bot.pacing`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, UploadFileDict
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter
from telegram.request import BaseRequest, RequestData

from bot.pacing import Throttle

Result = bool | JSONDict | list[JSONDict]


class AiohttpRequest(BaseRequest):
    """Bot API calls over one aiohttp session with up to `connections` connections.

    Timeouts mean what they mean for `HTTPXRequest`: `connect_timeout` to open a connection,
    `pool_timeout` to wait for a free one (both within aiohttp's `connect`), `read_timeout`
    between two reads of the answer, `write_timeout` to send the request (not enforced apart:
    aiohttp has no write timeout, so a request's whole time is capped at the sum of all four).
    A call that runs out of time raises `TimedOut`, any other failure to talk raises
    `NetworkError`, like `HTTPXRequest`.
    """

    def __init__(
        self,
        connections: int = 256,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connections = connections
        self._read, self._write, self._connect, self._pool = (
            read_timeout,
            write_timeout,
            connect_timeout,
            pool_timeout,
        )
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                auto_decompress=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(  # noqa: PLR0917 - BaseRequest's signature
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        fields = request_data.json_parameters if request_data else {}
        files = request_data.multipart_data if request_data else {}
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=_body(fields, files), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's timeouts (ServerTimeoutError) are TimeoutErrors
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # Some of aiohttp's errors quote the URL, which holds the bot's token: never in a
            # message that may be logged.
            said = str(err).replace(url, "<the Bot API URL>")
            raise NetworkError(f"aiohttp.{type(err).__name__}: {said}") from err


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _body(fields: dict[str, str], files: UploadFileDict) -> Any:
    """The parameters as a form: urlencoded, or multipart when there are files to upload."""
    if not files:
        return fields or None
    # Names as they are (UTF-8), as Telegram reads them; aiohttp would percent-encode them.
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form


class ReplyLimiter(AIORateLimiter):
    """PTB's rate limiter for the bot's direct calls, in the bot's one send budget.

    Calls that carry a `chat_id` go out at `rate` a second, after a burst of up to
    `burst_seconds` worth at once (a leaky bucket): people answering the bot arrive unevenly, and
    a reply held in a full bucket is a person kept waiting, while the outbox can wait. A group's
    calls keep to `group_rate` per `group_period`. Each call made (each try, when Telegram says
    to retry after a while) is recorded in `throttle`, so the outbox dispatcher sends only in
    what the replies leave of the same overall rate, chat spacing and group windows; a 429
    pauses the outbox for its `retry_after` as it pauses the replies.
    """

    def __init__(
        self,
        throttle: Throttle,
        *,
        rate: float,
        burst_seconds: float,
        group_rate: int,
        group_period: float,
        max_retries: int,
    ) -> None:
        super().__init__(
            overall_max_rate=rate * burst_seconds,
            overall_time_period=burst_seconds,
            group_max_rate=group_rate,
            group_time_period=group_period,
            max_retries=max_retries,
        )
        self._throttle = throttle

    async def process_request(  # noqa: PLR0917 - BaseRateLimiter's signature
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat_id: int | None = None
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(data["chat_id"]) if "chat_id" in data else None

        async def counted(*call_args: Any, **call_kwargs: Any) -> Result:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter as exc:  # Telegram's pause is the bot's: the outbox waits too
                self._throttle.pause(retry_seconds(exc))
                raise
            finally:
                if chat_id is not None:
                    self._throttle.record(chat_id)

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait: PTB 22 gives an int, or a timedelta when PTB_TIMEDELTA is
    set (the future default)."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
