"""How a case reads: state and action labels, the history, the next deadline, the staff alert.

Shared by status answers (petitioner and staff), the alerts in staff groups and the notices.
Everything a person wrote is escaped; long texts are shortened so each message fits Telegram.
Buttons are built from the lifecycle table, so a card offers exactly the actions allowed now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.cases import CaseView, EventView
from bot.directory import Directory
from bot.i18n import N_, _, current_locale, format_date, format_datetime
from bot.lifecycle import TERMINAL, By, actions_for
from handlers.keyboards import button, case_data, in_rows, markup
from handlers.prompts import TYPE_LABELS, Reply, esc, shorten

ALERT_FACTS_CHARS = 1200
HISTORY_TEXT_CHARS = 300

STATE_LABELS = {
    "submitted": N_("Submitted, waiting for registration"),
    "transferred": N_("Transferred"),
    "accepted": N_("Accepted"),
    "not_accepted": N_("Not accepted"),
    "redirected": N_("Redirected to a legal route"),
    "extended": N_("Handling period extended"),
    "answered": N_("Answered"),
    "review_requested": N_("Review requested"),
    "reviewed": N_("Reviewed"),
    "recheck_requested": N_("Recheck requested"),
    "rechecked": N_("Rechecked (final)"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}

ACTION_BUTTONS = {
    "accept": N_("✅ Accept"),
    "transfer": N_("↪️ Transfer"),
    "return": N_("↩️ Send back"),
    "not_accept": N_("⛔ Not accept"),
    "redirect": N_("🧭 Redirect"),
    "extend": N_("⏳ Extend"),
    "answer": N_("📝 Answer"),
    "reply": N_("📝 Reply and close"),
    "decide_review": N_("⚖️ Decide the review"),
    "decide_recheck": N_("⚖️ Decide the recheck"),
    "note": N_("🗒 Internal note"),
    "withdraw": N_("Withdraw the case"),
    "follow_up": N_("Add information"),
    "rate": N_("Rate the answer"),
    "request_review": N_("Ask for a review"),
    "request_recheck": N_("Ask for a recheck"),
}

CHOICES = {
    "support": N_("Support"),
    "explain": N_("Explain"),
    "not_support": N_("Not support"),
    "adopted": N_("Adopted"),
    "partly_adopted": N_("Partly adopted"),
    "not_adopted": N_("Not adopted"),
    "upheld": N_("Upheld"),
    "changed": N_("Changed"),
    "revoked": N_("Revoked"),
    "satisfied": N_("Satisfied"),
    "basically_satisfied": N_("Basically satisfied"),
    "not_satisfied": N_("Not satisfied"),
}

EVENTS = {
    "submit": N_("Submitted"),
    "accept": N_("Accepted"),
    "transfer": N_("Transferred to %(office)s"),
    "return": N_("Sent back to %(office)s"),
    "not_accept": N_("Not accepted"),
    "redirect": N_("Redirected to another route"),
    "extend": N_("Handling period extended by %(days)s days"),
    "answer": N_("Answered: %(choice)s"),
    "reply": N_("Replied: %(choice)s"),
    "decide_review": N_("Review decided: %(choice)s"),
    "decide_recheck": N_("Recheck decided: %(choice)s"),
    "note": N_("Internal note"),
    "withdraw": N_("Withdrawn by the petitioner"),
    "follow_up": N_("More information from the petitioner"),
    "rate": N_("Rated by the petitioner: %(choice)s"),
    "request_review": N_("Review requested from %(office)s"),
    "request_recheck": N_("Recheck requested from %(office)s"),
    "lapse": N_("Closed: the period to ask for a review ended"),
}


@dataclass(frozen=True, slots=True)
class CardDeps:
    """What rendering a case needs: names of places, offices and staff; the time zone."""

    directory: Directory
    tz: ZoneInfo


def state_label(state: str) -> str:
    return _(STATE_LABELS[state]) if state in STATE_LABELS else state


def choice_label(arg: str | None) -> str:
    return _(CHOICES[arg]) if arg in CHOICES else esc(arg)


async def office_name(deps: CardDeps, office_id: str | None) -> str:
    if not office_id:
        return ""
    try:
        office = await deps.directory.office(office_id)
    except LookupError:
        return esc(office_id)
    return esc(office.name(current_locale()))


async def actor_name(deps: CardDeps, event: EventView) -> str:
    if event.by == By.STAFF and event.actor_id is not None:
        members = await deps.directory.staff_member(event.actor_id)
        return esc(members[0].name) if members else _("staff")
    if event.by == By.PETITIONER:
        return _("the petitioner")
    return _("the system")


async def event_line(deps: CardDeps, event: EventView, *, as_staff: bool) -> str:
    label = EVENTS.get(event.action)
    what = (
        _(label)
        % {
            "office": await office_name(deps, event.office_id),
            "days": esc(event.detail),
            "choice": choice_label(event.detail),
        }
        if label
        else esc(event.action)
    )
    line = f"{format_date(event.at.astimezone(deps.tz).date())} — {what}"
    if as_staff:
        line += " " + _("(%(who)s)") % {"who": await actor_name(deps, event)}
    text = event.internal_note if as_staff and event.internal_note else event.public_text
    if text and (event.action != "follow_up" or as_staff):
        line += "\n    " + esc(shorten(text, HISTORY_TEXT_CHARS))
    return line


def next_deadline(view: CaseView) -> str | None:
    """What the next deadline is, in words, or None when nothing more is due."""
    due = view.due_on
    if view.state in TERMINAL or due is None:
        if view.state in {"accepted", "extended"}:
            return _("Suggestions have no statutory time limit; the office will reply.")
        return None
    texts = {
        "submitted": N_("The office must register it and say whether it is accepted by %(due)s."),
        "transferred": N_("The office must register it and say whether it is accepted by %(due)s."),
        "accepted": N_("The office must handle it by %(due)s."),
        "extended": N_("The office must handle it by %(due)s (extended)."),
        "answered": N_("A review may be asked for until %(due)s."),
        "review_requested": N_("The review must be decided by %(due)s."),
        "reviewed": N_("A recheck may be asked for until %(due)s."),
        "recheck_requested": N_("The recheck must be decided by %(due)s."),
    }
    text = texts.get(view.state)
    return _(text) % {"due": format_date(due)} if text else None


def _field(label: str, value: str) -> str:
    return _("<b>%(label)s:</b> %(value)s") % {"label": label, "value": value}


async def status_text(deps: CardDeps, view: CaseView, *, as_staff: bool) -> str:
    """The answer to /status: state, next deadline and the dated history."""
    lines = [
        _("<b>Case %(number)s</b>") % {"number": esc(view.number)},
        _field(_("State"), state_label(view.state)),
        _field(_("Office"), await office_name(deps, view.office_id)),
    ]
    deadline = next_deadline(view)
    if deadline:
        lines.append(_field(_("Next deadline"), deadline))
    lines += ["", _("<b>History</b>")]
    history = view.history[-15:]
    for event in history:
        lines.append(await event_line(deps, event, as_staff=as_staff))
    return "\n".join(lines)


def petitioner_buttons(view: CaseView) -> list[list[InlineKeyboardButton]]:
    """The petitioner's actions allowed now, as buttons under their status answer."""
    rows = []
    for transition in actions_for(By.PETITIONER, view.state, view.petition_type):
        if transition.action == "rate" and not view.can_rate:
            continue
        label = _(ACTION_BUTTONS[transition.action])
        rows.append([button(label, case_data("c", view.id, transition.action))])
    return rows


def petitioner_markup(view: CaseView) -> InlineKeyboardMarkup | None:
    rows = petitioner_buttons(view)
    return markup(rows) if rows else None


async def alert(deps: CardDeps, view: CaseView, *, can_act: bool) -> Reply:
    """The case as its staff group sees it, with the actions allowed now (if this group's
    office may act on it)."""
    locale = current_locale()
    place = await deps.directory.place(view.place_code)
    category = await deps.directory.category(view.category_code)
    parent = await deps.directory.category(category.parent_code or "") if category else None
    category_name = " / ".join(c.name(locale) for c in (parent, category) if c)
    last = view.last
    state = state_label(view.state)
    if last is not None and last.action != "submit":
        state = _("%(state)s — %(who)s, %(when)s") % {
            "state": state,
            "who": await actor_name(deps, last),
            "when": format_datetime(last.at, deps.tz),
        }
    type_label = _(TYPE_LABELS[view.petition_type]) if view.petition_type in TYPE_LABELS else ""
    lines = [
        _("📂 <b>Case %(number)s</b>") % {"number": esc(view.number)},
        _field(_("State"), state),
        _field(_("Office"), await office_name(deps, view.office_id)),
        _field(_("Type"), type_label),
        _field(_("Place"), esc(place.full_name(locale) if place else view.place_code)),
        _field(_("Category"), esc(category_name)),
        _field(_("Request"), esc(view.request_text)),
        _field(_("Facts and reasons"), esc(shorten(view.facts_text, ALERT_FACTS_CHARS))),
        _field(_("Attachments"), str(view.attachments)),
        _field(_("Petitioner"), esc(f"{view.name} · {view.phone} · {shorten(view.address, 200)}")),
        _field(_("Submitted"), format_datetime(view.submitted_at, deps.tz)),
    ]
    deadline = next_deadline(view)
    if deadline:
        lines.append(_field(_("Deadline"), deadline))
    if view.route_acknowledged:
        lines.append(_("⚠️ Submitted despite its category's legal route."))
    rows: list[list[InlineKeyboardButton]] = []
    if can_act:
        actions = [
            button(_(ACTION_BUTTONS[t.action]), case_data("s", view.id, t.action))
            for t in actions_for(By.STAFF, view.state, view.petition_type)
        ]
        rows += in_rows(actions, 2)
    details = [button(_("📄 Full text"), case_data("s", view.id, "full"))]
    if view.attachments:
        details.append(button(_("📎 Files"), case_data("s", view.id, "files")))
    details.append(button(_("📜 History"), case_data("s", view.id, "history")))
    rows.append(details)
    return Reply("\n".join(lines), markup(rows))


def due_line(number: str, state: str, due: date | None) -> str:
    return _("%(number)s — %(state)s — due %(due)s") % {
        "number": esc(number),
        "state": state_label(state),
        "due": format_date(due) if due else "—",
    }
