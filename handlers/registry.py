"""Every handler, registered in one place, in priority order.

Group -1 resolves the sender's locale for the whole update. Group 0 then tries, in order:
edited messages (before the commands, which PTB would otherwise run again for an edited
command), commands, button presses by their data prefix, bare case numbers, and finally
any other private message, which goes to the open draft's step. Group chats only get a pointer
to the private chat when someone sends them a command.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.cases import parse_case_number
from handlers import intake, menu
from handlers.errors import on_error

PRIVATE = filters.ChatType.PRIVATE


class _CaseNumber(filters.MessageFilter):
    """A message that is nothing but a case number (a status query)."""

    def filter(self, message: Message) -> bool:
        return bool(message.text and parse_case_number(message.text))


CASE_NUMBER = _CaseNumber(name="CaseNumber")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(TypeHandler(Update, menu.set_user_locale), group=-1)

    # Edited messages are never treated as new answers, nor as commands run again.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, menu.edited))
    app.add_handler(CommandHandler("start", menu.welcome, filters=PRIVATE))
    app.add_handler(CommandHandler("new", menu.start, filters=PRIVATE))
    app.add_handler(CommandHandler("cancel", menu.cancel, filters=PRIVATE))
    app.add_handler(CommandHandler("help", menu.help_command, filters=PRIVATE))
    app.add_handler(CommandHandler("language", menu.language, filters=PRIVATE))
    app.add_handler(CommandHandler("cases", menu.my_cases, filters=PRIVATE))
    app.add_handler(CommandHandler("status", menu.status, filters=PRIVATE))

    app.add_handler(CallbackQueryHandler(menu.menu_press, pattern=r"^v1:m:"))
    app.add_handler(CallbackQueryHandler(menu.language_chosen, pattern=r"^v1:lang:"))
    app.add_handler(CallbackQueryHandler(intake.dispatch_press, pattern=r"^v1:\d+:"))
    app.add_handler(CallbackQueryHandler(menu.stale_button))  # anything else: forged or ancient

    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, menu.unknown_command))
    app.add_handler(MessageHandler(PRIVATE & filters.TEXT & CASE_NUMBER, menu.case_number_message))
    app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.MESSAGE, intake.dispatch_message))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, menu.group_command))

    app.add_error_handler(on_error)
