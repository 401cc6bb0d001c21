"""The Bot API methods that change or remove messages, and callback-query answers.

editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage(s) and
answerCallbackQuery, with Telegram's behaviour where bots most often trip: an edit that omits
`reply_markup` drops the inline keyboard, an edit that changes nothing is refused as "message
is not modified", only the bot's own messages can be edited, and a callback query can be
answered once and only while it is fresh. Like the other method modules it only reads and
changes the `World`.
"""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.api_input import (
    Params,
    bad_request,
    caption_param,
    markup_param,
    text_param,
)
from bot.sandbox.messaging import MEDIA_METHODS, Method, find_chat, find_message
from bot.sandbox.world import BOT_ID, JsonDict, Message, World

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


class Editing:
    """Edit, delete and callback-answer methods over one `World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.query_ttl = 60.0  # seconds a callback query may wait for its answer

    def table(self) -> dict[str, Method]:
        return {
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "answercallbackquery": self.answer_callback_query,
        }

    def _editable(self, params: Params) -> Message:
        message = find_message(self.world, params, "message to edit not found")
        if message.sender_id != BOT_ID:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _new_markup(params: Params) -> JsonDict | None:
        inline, keyboard = markup_param(params)
        if keyboard is not None:
            raise bad_request("inline keyboard expected")
        return inline

    def _commit(
        self, message: Message, fields: dict[str, Any], source: tuple[str | None, str | None]
    ) -> JsonDict:
        """Apply an edit unless it changes nothing visible; `source` is (as sent, parse mode)."""
        if all(getattr(message, key) == value for key, value in fields.items()):
            raise bad_request(_NOT_MODIFIED)
        for key, value in fields.items():
            setattr(message, key, value)
        message.source, message.parse_mode = source
        message.edited += 1
        message.edit_date = int(time.time())
        self.world.touch(message, "edit")
        return self.world.message_json(message)

    def edit_message_text(self, params: Params) -> JsonDict:
        message = self._editable(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        source, parsed, mode = text_param(params)
        fields = {
            "text": parsed.text,
            "entities": parsed.entities,
            "reply_markup": self._new_markup(params),
        }
        return self._commit(message, fields, (source, mode))

    def edit_message_caption(self, params: Params) -> JsonDict:
        message = self._editable(params)
        if message.kind not in MEDIA_METHODS:
            raise bad_request("there is no caption in the message to edit")
        source, parsed, mode = caption_param(params)
        fields = {
            "caption": parsed.text or None,
            "entities": parsed.entities,
            "reply_markup": self._new_markup(params),
        }
        return self._commit(message, fields, (source or None, mode))

    def edit_message_reply_markup(self, params: Params) -> JsonDict:
        message = self._editable(params)
        fields = {"reply_markup": self._new_markup(params)}
        return self._commit(message, fields, (message.source, message.parse_mode))

    def delete_message(self, params: Params) -> bool:
        message = find_message(self.world, params, "message to delete not found")
        message.deleted = True
        self.world.touch(message, "delete")
        return True

    def delete_messages(self, params: Params) -> bool:
        chat = find_chat(self.world, params)
        ids = params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty Array of at most 100 items")
        for message_id in ids:
            message = self.world.live_message(chat, int(message_id))
            if message is not None:
                message.deleted = True
                self.world.touch(message, "delete")
        return True

    def answer_callback_query(self, params: Params) -> bool:
        query = self.world.queries.get(params.string("callback_query_id") or "")
        if query is None or query.answered or time.monotonic() - query.created > self.query_ttl:
            raise bad_request(_QUERY_INVALID)
        text = params.string("text") or ""
        if len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.world.emit(
            "callback_answer",
            query.chat_id,
            answer={
                "callback_query_id": query.id,
                "user_id": query.user_id,
                "message_id": query.message_id,
                "text": text,
                "show_alert": params.flag("show_alert"),
                "url": params.string("url"),
            },
        )
        return True
