"""Every handler, registered in one place, in priority order.

Group -2 resolves the sender's locale for the whole update; group -1 applies flood control
(slow, warn once, or drop). Group 0 then tries, in order:
edited messages (before the commands, which PTB would otherwise run again for an edited
command), commands (the staff's work in any chat), button presses by their data prefix (staff
`v1:s:`, petitioner `v1:c:`, drafts, menu), bare case numbers, and finally any other private
message, which completes a waiting case action or goes to the open draft's step. In groups,
other commands get a pointer to the private chat; plain messages matter only when a staff
member was asked for words.
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
from handlers import flood, intake, menu, staff, status
from handlers.errors import on_error

PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS


class _CaseNumber(filters.MessageFilter):
    """A message that is nothing but a case number (a status query)."""

    def filter(self, message: Message) -> bool:
        return bool(message.text and parse_case_number(message.text))


CASE_NUMBER = _CaseNumber(name="CaseNumber")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(TypeHandler(Update, menu.set_user_locale), group=-2)
    # Flood control after the locale (its warning is translated), before any handler.
    app.add_handler(TypeHandler(Update, flood.gate), group=-1)

    # Edited messages are never treated as new answers, nor as commands run again.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, menu.edited))
    app.add_handler(CommandHandler("start", menu.welcome, filters=PRIVATE))
    app.add_handler(CommandHandler("new", menu.start, filters=PRIVATE))
    app.add_handler(CommandHandler("cancel", menu.cancel, filters=PRIVATE))
    app.add_handler(CommandHandler("help", menu.help_command, filters=PRIVATE))
    app.add_handler(CommandHandler("language", menu.language, filters=PRIVATE))
    app.add_handler(CommandHandler("cases", status.my_cases, filters=PRIVATE))
    app.add_handler(CommandHandler("status", status.status, filters=PRIVATE))
    # Staff commands work in their office's group and in a private chat with the bot.
    app.add_handler(CommandHandler("case", staff.case_command))
    app.add_handler(CommandHandler("queue", staff.queue))
    app.add_handler(CommandHandler("overdue", staff.overdue))
    app.add_handler(CommandHandler("status", staff.case_command, filters=GROUPS))
    app.add_handler(CommandHandler("cancel", staff.cancel, filters=GROUPS))

    app.add_handler(CallbackQueryHandler(menu.menu_press, pattern=r"^v1:m:"))
    app.add_handler(CallbackQueryHandler(menu.language_chosen, pattern=r"^v1:lang:"))
    app.add_handler(CallbackQueryHandler(staff.press, pattern=r"^v1:s:"))
    app.add_handler(CallbackQueryHandler(status.case_press, pattern=r"^v1:c:"))
    app.add_handler(CallbackQueryHandler(intake.dispatch_press, pattern=r"^v1:\d+:"))
    app.add_handler(CallbackQueryHandler(menu.stale_button))  # anything else: forged or ancient

    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, menu.unknown_command))
    app.add_handler(
        MessageHandler(PRIVATE & filters.TEXT & CASE_NUMBER, status.case_number_message)
    )
    # A waiting case action (a reason, a follow-up) takes the message first, else the intake.
    app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.MESSAGE, status.private_message))
    app.add_handler(MessageHandler(GROUPS & filters.COMMAND, menu.group_command))
    # In a staff group, only the words a member was asked for concern the bot.
    app.add_handler(MessageHandler(GROUPS & filters.UpdateType.MESSAGE, staff.group_message))

    app.add_error_handler(on_error)
