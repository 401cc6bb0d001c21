"""Turning an outbox row into the one Bot API call that delivers it, in the row's language.

The dispatcher (`handlers.delivery`) calls `Deliverer.deliver` for each due row. Petitioner
notices are written from the row's payload; alerts are rendered from the case as it is now, and
the alert's message id is kept so later rows edit it in place. Every text a person wrote is
escaped. One row is exactly one call, so retries and rate limits count calls correctly.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message

from bot import notices as kinds
from bot.i18n import _, format_date, use_locale
from bot.intake import Receipt
from bot.outbox import OutboxItem
from bot.services import Services
from handlers.casecard import (
    CHOICES,
    CardDeps,
    alert,
    choice_label,
    due_line,
    office_name,
    petitioner_markup,
)
from handlers.prompts import shorten
from handlers.replies import menu_markup
from handlers.review import receipt

MEDIA_SENDERS = {"photo", "document", "video", "voice", "audio"}


def _date(value: object) -> str:
    return format_date(date.fromisoformat(str(value))) if value else "—"


class Deliverer:
    """Renders and sends outbox rows for one running bot."""

    def __init__(self, bot: Bot, services: Services) -> None:
        self._bot = bot
        self._services = services
        self._deps = CardDeps(services.directory, services.deployment.tz)

    async def deliver(self, item: OutboxItem) -> int | None:
        with use_locale(str(item.payload.get("locale") or "zh_CN")):
            return await self._deliver(item)

    async def _deliver(self, item: OutboxItem) -> int | None:
        kind, p = item.kind, item.payload
        if kind in {kinds.ALERT, kinds.ALERT_REFRESH}:
            return await self._alert(item, refresh=kind == kinds.ALERT_REFRESH)
        if kind in {kinds.STAFF_FILE, kinds.CASE_FILE}:
            return await self._file(item)
        if kind == kinds.REMINDER:
            return await self._send(item.chat_id, await self._reminder(p))
        view = await self._services.cases.card(item.case_id or 0)
        if view is None:
            return None
        number = html.escape(view.number)
        if kind == kinds.RECEIPT:
            office = await self._services.directory.office(view.office_id)
            text = receipt(
                Receipt(
                    view.number,
                    view.query_code,
                    office,
                    view.registration_due,
                    view.submitted_at,
                    again=False,
                )
            )
            return await self._send(item.chat_id, text, menu_markup())
        if kind == kinds.FULL_TEXT:
            part, parts = int(p["part"]), int(p["parts"])
            size = kinds.FULL_TEXT_PART_CHARS
            chunk = view.facts_text[part * size : (part + 1) * size]
            head = _("<b>Case %(number)s — facts and reasons (%(part)d/%(parts)d)</b>") % {
                "number": number,
                "part": part + 1,
                "parts": parts,
            }
            return await self._send(item.chat_id, f"{head}\n{html.escape(chunk)}")
        if kind == kinds.STAFF_MESSAGE:
            return await self._send(item.chat_id, self._staff_message(number, p))
        # STATUS and LAPSED: the petitioner is told about a change of their case.
        text = await self._status(number, p)
        keyboard = petitioner_markup(view) if view.state == p.get("state") else None
        return await self._send(item.chat_id, text, keyboard)

    async def _send(self, chat_id: int, text: str, keyboard: Any = None) -> int:
        sent = await self._bot.send_message(chat_id, text, reply_markup=keyboard)
        return sent.message_id

    async def _alert(self, item: OutboxItem, *, refresh: bool) -> int | None:
        cases = self._services.cases
        view = await cases.card(item.case_id or 0)
        if view is None:
            return None
        group = await self._services.directory.office_of_group(item.chat_id)
        can_act = group is not None and any(
            o.id == group.id for o in await self._services.directory.office_chain(view.office_id)
        )
        reply = await alert(self._deps, view, can_act=can_act)
        if refresh:
            message_id = await cases.alert_message(view.id, item.chat_id)
            if message_id is None:
                return None  # the alert itself never arrived; nothing to edit
            keyboard = reply.markup if isinstance(reply.markup, InlineKeyboardMarkup) else None
            edited = await self._bot.edit_message_text(
                reply.text, item.chat_id, message_id, reply_markup=keyboard
            )
            return edited.message_id if isinstance(edited, Message) else message_id
        message_id = await self._send(item.chat_id, reply.text, reply.markup)
        await cases.record_alert(view.id, item.chat_id, message_id)
        return message_id

    async def _file(self, item: OutboxItem) -> int:
        p = item.payload
        view = await self._services.cases.card(item.case_id or 0)
        number = html.escape(view.number) if view else ""
        caption = (
            _("File from the petitioner for case %(number)s")
            if item.kind == kinds.STAFF_FILE
            else _("Attachment of case %(number)s")
        ) % {"number": number}
        media = str(p.get("media"))
        method = media if media in MEDIA_SENDERS else "document"
        sender = getattr(self._bot, f"send_{method}")
        sent: Message = await sender(item.chat_id, p["file_id"], caption=caption)
        return sent.message_id

    async def _status(self, number: str, p: dict[str, Any]) -> str:
        action = str(p.get("action"))
        values = {
            "number": number,
            "office": await office_name(self._deps, p.get("office_id")),
            "due": _date(p.get("due")),
            "days": p.get("days") or "",
            "choice": choice_label(p.get("detail")) if p.get("detail") in CHOICES else "",
            "text": html.escape(shorten(str(p.get("text") or ""), 3000)),
        }
        texts = {
            "accept": _(
                "✅ Case %(number)s was accepted by %(office)s. It must be handled by %(due)s."
            )
            if p.get("due")
            else _("✅ Your suggestion %(number)s was accepted by %(office)s."),
            "transfer": _(
                "↪️ Case %(number)s was transferred to %(office)s, which must register it and tell "
                "you whether it is accepted by %(due)s."
            ),
            "return": _(
                "↩️ Case %(number)s was sent back to %(office)s, which decides where it goes.\n"
                "Reason: %(text)s"
            ),
            "not_accept": _("⛔ Case %(number)s was not accepted.\nReason: %(text)s"),
            "redirect": _(
                "🧭 Case %(number)s belongs to another procedure, not to petitions.\n"
                "Where to go: %(text)s\n\nPetitioning does not stop or extend the time limits of "
                "that procedure, so please apply there in time."
            ),
            "extend": _(
                "⏳ The handling period of case %(number)s was extended by %(days)s days, to "
                "%(due)s.\nReason: %(text)s"
            ),
            "answer": _(
                "📨 Case %(number)s has been answered. Opinion: <b>%(choice)s</b>\n\n%(text)s\n\n"
                "If you disagree, you may ask the office one level up for a review until %(due)s. "
                "Please also rate the answer."
            ),
            "reply": _("📨 Your suggestion %(number)s was answered: <b>%(choice)s</b>\n\n%(text)s"),
            "decide_review": _(
                "⚖️ The review of case %(number)s was decided: <b>%(choice)s</b>\n\n%(text)s\n\n"
                "If you disagree, you may ask for a recheck until %(due)s."
            ),
            "decide_recheck": _(
                "⚖️ The recheck of case %(number)s was decided: <b>%(choice)s</b>\n\n%(text)s\n\n"
                "This decision is final: the same facts and reasons will not be accepted again."
            ),
            "withdraw": _("Case %(number)s is withdrawn."),
            "request_review": _(
                "Your review request for case %(number)s went to %(office)s, which must decide by "
                "%(due)s."
            ),
            "request_recheck": _(
                "Your recheck request for case %(number)s went to %(office)s, which must decide by "
                "%(due)s."
            ),
            "lapse": _(
                "Case %(number)s is closed: the period to ask for a review ended without a request."
            ),
        }
        return texts.get(action, _("Case %(number)s changed.")) % values

    def _staff_message(self, number: str, p: dict[str, Any]) -> str:
        values = {
            "number": number,
            "text": html.escape(shorten(str(p.get("text") or ""), 3000)),
            "choice": choice_label(p.get("detail")) if p.get("detail") in CHOICES else "",
        }
        action = p.get("action")
        if action == "withdraw":
            return _("The petitioner withdrew case %(number)s.") % values
        if action == "rate":
            text = _("The petitioner rated the answer to case %(number)s: %(choice)s.") % values
            return text + ("\n" + values["text"] if values["text"] else "")
        if p.get("detail") == "file":
            return _("The petitioner sent a file for case %(number)s (below).") % values
        return _("More information from the petitioner for case %(number)s:\n%(text)s") % values

    async def _reminder(self, p: dict[str, Any]) -> str:
        today = date.fromisoformat(str(p["today"]))
        overdue: list[str] = []
        soon: list[str] = []
        for number, state, due in p.get("items", []):
            day = date.fromisoformat(due) if due else None
            line = "• " + due_line(number, state, day)
            (overdue if day is not None and day < today else soon).append(line)
        lines = [_("⏰ <b>Deadlines</b> — %(today)s") % {"today": format_date(today)}]
        if overdue:
            lines += ["", _("<b>Overdue</b>"), *overdue]
        if soon:
            lines += ["", _("<b>Due within %(days)d days</b>") % {"days": p.get("days", 3)}, *soon]
        if p.get("more"):
            lines.append(_("… and %(more)d more.") % {"more": p["more"]})
        return "\n".join(lines)
