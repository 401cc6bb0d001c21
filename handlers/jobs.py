"""Repeating jobs that talk to Telegram: closing idle drafts and telling their owners."""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot.i18n import _, use_locale
from handlers.context import Ctx

log = logging.getLogger(__name__)


async def expire_drafts(ctx: Ctx) -> None:
    """Close drafts idle past the timeout; tell each owner in their language."""
    expired = await ctx.services.intake.expire_stale()
    hours = ctx.services.settings.draft_timeout_hours
    for item in expired:
        with use_locale(item.locale):
            text = _(
                "Your unfinished petition was closed after %(hours)g hours without activity. "
                "Nothing was submitted. Send /new to start again."
            ) % {"hours": hours}
        try:
            await ctx.bot.send_message(item.chat_id, text)
        except TelegramError as exc:
            log.warning("could not tell chat about an expired draft: %s", exc.__class__.__name__)
    if expired:
        log.info("closed %d idle drafts", len(expired))


async def daily_run(ctx: Ctx) -> None:
    """Run the daily reminders and closings when today's run is due."""
    report = await ctx.services.reminders.run_if_due()
    if report is not None:
        ctx.services.wake_outbox()
