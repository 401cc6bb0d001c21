"""The one error handler: log with the traceback, apologise to the user in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.i18n import _
from handlers.context import Ctx

log = logging.getLogger(__name__)


async def on_error(update: object, ctx: Ctx) -> None:
    """Log the failure (ids only, never message text) and tell the user something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=ctx.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        await ctx.bot.send_message(
            update.effective_chat.id,
            _(
                "Sorry, something went wrong on our side. Your answers so far are saved; "
                "please try again."
            ),
        )
    except (Forbidden, TelegramError) as exc:
        log.warning("could not apologise in chat: %s", exc.__class__.__name__)
