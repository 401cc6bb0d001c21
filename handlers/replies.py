"""Sending and editing messages, the main menu, and the words for refused input.

Every domain error code and every unexpected kind of input has one translated sentence here,
so a person always learns what was wrong and what is expected instead.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from bot.errors import DomainError
from bot.i18n import _
from handlers.context import Ctx
from handlers.keyboards import button, markup, menu_data
from handlers.prompts import Reply

log = logging.getLogger(__name__)


async def send(ctx: Ctx, chat_id: int, reply: Reply) -> Message:
    return await ctx.bot.send_message(chat_id, reply.text, reply_markup=reply.markup)


async def edit_or_send(ctx: Ctx, chat_id: int, msg: Message | None, reply: Reply) -> None:
    """Replace `msg` with `reply` (browsing pages); send a new message if it cannot be edited."""
    keyboard = reply.markup if isinstance(reply.markup, InlineKeyboardMarkup) else None
    if msg is not None:
        try:
            await msg.edit_text(reply.text, reply_markup=keyboard)
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
            log.info("could not edit message %s: %s", msg.message_id, exc.message)
    await send(ctx, chat_id, reply)


async def clear_buttons(ctx: Ctx, msg: Message | None) -> None:
    """Take the buttons off an answered prompt, so they cannot be pressed again."""
    if msg is None or not isinstance(msg.reply_markup, InlineKeyboardMarkup):
        return
    try:
        await msg.edit_reply_markup(reply_markup=None)
    except BadRequest as exc:
        log.info("could not clear buttons of %s: %s", msg.message_id, exc.message)


async def answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press (a toast, or only the end of the spinner). Best effort: Telegram
    refuses the answer when the query is too old (the bot was down or slow) or was answered
    before (a redelivered update), and the press has been handled all the same."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        log.info("could not answer callback query %s: %s", query.id, exc.message)


def menu_markup() -> InlineKeyboardMarkup:
    return markup(
        [
            [button(_("📝 New petition"), menu_data("new"))],
            [
                button(_("📂 My cases"), menu_data("cases")),
                button(_("🔎 Check status"), menu_data("status")),
            ],
            [
                button(_("🌐 Language"), menu_data("language")),
                button(_("❓ Help"), menu_data("help")),
            ],
        ]
    )


def explain(error: DomainError, **context: object) -> str:
    """The translated sentence for a refused answer; `context` adds what the handler knows
    (`area`: the area this service covers, HTML-escaped)."""
    p = {**context, **error.params}
    messages = {
        "empty": lambda: _("The answer is empty. Please type it."),
        "too_short": lambda: (
            _("That is too short: please write at least %(minimum)d characters.") % p
        ),
        "too_long": lambda: (
            _(
                "That is too long: %(length)d characters, at most %(maximum)d are allowed. "
                "Please shorten it."
            )
            % p
        ),
        "facts_too_long": lambda: (
            _(
                "That would make the facts longer than %(maximum)d characters; %(left)d "
                "characters are left. Please send a shorter message, or press Done."
            )
            % p
        ),
        "facts_missing": lambda: (
            _("Please describe the facts first (at least %(minimum)d characters), then press Done.")
            % p
        ),
        "name_invalid": lambda: _("Your name must contain letters, not only digits or symbols."),
        "phone_invalid": lambda: _(
            "That is not a valid phone number. Type a mainland mobile number such as 13800138000, "
            "or an international number starting with +."
        ),
        "contact_not_own": lambda: _(
            "Please share your own phone number with the button, or type it. Other people's "
            "contacts are not accepted."
        ),
        "place_outside": lambda: (
            _(
                "That place is outside %(area)s, the area this service covers. Please choose a "
                "place inside it."
            )
            % p
        ),
        "place_not_county": lambda: _("Please choose a county or district, not a larger area."),
        "location_unknown": lambda: (
            _(
                "That location is not in any county this service knows; it covers %(area)s. "
                "Please type the place name or browse the list."
            )
            % p
        ),
        "attachment_kind": lambda: _(
            "This kind of file cannot be attached. Send a photo, document, video or voice message."
        ),
        "attachment_too_large": lambda: (
            _(
                "That file is larger than %(maximum_mb)d MB, the most a bot can receive. "
                "Please send a smaller file, or leave it out."
            )
            % p
        ),
        "attachments_full": lambda: (
            _("You have attached the most files allowed (%(maximum)d). Press Done to go on.") % p
        ),
        "incomplete": lambda: _("Some parts of the petition are missing. Please complete them."),
        "too_many_drafts": lambda: (
            _(
                "You have started %(maximum)d petitions in the last 24 hours, the most allowed. "
                "Please continue one you have, or try again tomorrow."
            )
            % p
        ),
    }
    make = messages.get(error.code)
    return make() if make else _("That answer could not be used. Please try again.")


def expected(kind: str, message: Message) -> str:
    """What the step wanted, when something of another kind arrived."""
    if kind == "buttons":
        return _("Please choose one of the buttons above.")
    if kind == "files":
        return _(
            "Please send a photo, document, video or voice message, or press Done or Skip above."
        )
    if kind == "phone":
        return _(
            "Please type your phone number, or share it with the button below the message box."
        )
    if kind == "place":
        return _("Please type the name of the place, share a location, or browse the list.")
    if message.sticker is not None:
        return _("Stickers cannot be used here. Please type your answer.")
    return _("Please type your answer as text.")
