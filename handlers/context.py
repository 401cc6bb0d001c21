"""The typed callback context: handlers reach the use cases as `context.services`."""

from __future__ import annotations

from typing import Any, cast

from telegram.ext import CallbackContext, ExtBot

from bot.services import Services

SERVICES_KEY = "services"


class Ctx(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with typed access to the shared services."""

    @property
    def services(self) -> Services:
        return cast(Services, self.bot_data[SERVICES_KEY])
