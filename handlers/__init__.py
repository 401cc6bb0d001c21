"""Telegram in, Telegram out: parse the update, call one use case, translate, reply.

`register` adds every handler to the Application in priority order. Handlers never touch
storage, SQL or aiohttp; they call the use cases of `bot` through `context.services`.
"""

from __future__ import annotations

from handlers.registry import register

__all__ = ["register"]
