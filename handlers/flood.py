"""Group -1 of every update: apply the flood gate's admission (see `handlers.ordering`).

An update over the person's rate is held until its turn (slowed), or, when it would have to wait
longer than the limit, not handled at all (dropped). The first update of a flood tells the
person once, in their language, in a private chat; staff groups are not written to.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.i18n import _
from handlers.context import Ctx
from handlers.ordering import KeyedUpdateProcessor

log = logging.getLogger(__name__)


async def gate(update: Update, ctx: Ctx) -> None:
    processor = ctx.application.update_processor
    if not isinstance(processor, KeyedUpdateProcessor):
        return
    found = processor.admissions.pop(update.update_id, None)
    if found is None:
        return
    admission, not_before = found
    chat = update.effective_chat
    if admission.warn and chat is not None and chat.type == "private":
        await ctx.bot.send_message(
            chat.id,
            _(
                "You are sending messages very fast. I answer them in turn; please wait a "
                "moment before sending more. Messages sent too quickly may be ignored."
            ),
        )
    if admission.drop:
        user = update.effective_user
        log.info("flood: dropped update %d of user %s", update.update_id, user.id if user else None)
        raise ApplicationHandlerStop
    delay = not_before - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
