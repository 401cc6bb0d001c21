"""The place and category steps: where the problem is, and what it is about.

A place is found by a typed name (fuzzy, inside the jurisdiction; equal names shown with their
parent), by a shared location (mapped offline to a county and confirmed), or by browsing
province → city → county page by page. A category is chosen from the two-level tree; one with a
legal route shows the route and its time limit before the petition goes on. Browsing edits the
message in place; choosing calls the intake use case.
"""

from __future__ import annotations

import asyncio

from telegram import KeyboardButton, Message, ReplyKeyboardMarkup

from bot import validation
from bot.directory import CategoryInfo, Directory, Place, locate
from bot.errors import DomainError, StaleAction
from bot.i18n import _, current_locale
from bot.intake import DraftView, Limits
from bot.petitioners import Actor
from handlers import replies
from handlers.context import Ctx
from handlers.keyboards import Press, button, draft_data, in_rows, markup
from handlers.prompts import Reply, Screen, esc, nav_row, shorten

PAGE_SIZE = 8


async def prompt_place(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    root = await directory.root_place()
    text = _(
        "<b>Where is the problem?</b>\n\n"
        "Type the name of the county or district (for example 锦江区), browse the list, or "
        "share a location with the button below the message box. It must be a county-level "
        "place in %(area)s."
    ) % {"area": esc(root.name(current_locale()))}
    keyboard = markup(
        [
            [button(_("🗂 Browse the list"), draft_data(draft.id, "pb", f"{root.code}:0"))],
            nav_row(draft),
        ]
    )
    location = ReplyKeyboardMarkup(
        [[KeyboardButton(_("📍 Share a location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return Screen(
        [
            Reply(_("You can share a location with the button below."), location),
            Reply(text, keyboard),
        ]
    )


async def browse(draft: DraftView, directory: Directory, code: str, page: int) -> Reply:
    """One page of the places under `code`."""
    parent = await directory.place(code)
    children = await directory.children(code)
    if parent is None or not children:
        parent = await directory.root_place()
        children = await directory.children(parent.code)
    locale = current_locale()
    pages = max(1, (len(children) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = children[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [
        button(
            child.name(locale) if child.selectable else child.name(locale) + " ›",
            draft_data(
                draft.id,
                "pl" if child.selectable else "pb",
                child.code if child.selectable else f"{child.code}:0",
            ),
        )
        for child in shown
    ]
    rows = in_rows(buttons, 2)
    paging = []
    if page > 0:
        paging.append(
            button(_("« Previous"), draft_data(draft.id, "pb", f"{parent.code}:{page - 1}"))
        )
    if page + 1 < pages:
        paging.append(button(_("Next »"), draft_data(draft.id, "pb", f"{parent.code}:{page + 1}")))
    rows.append(paging)
    root = await directory.root_place()
    if parent.code != root.code and parent.parent_code:
        rows.append([button(_("⬆ Up"), draft_data(draft.id, "pb", f"{parent.parent_code}:0"))])
    rows.append(nav_row(draft))
    text = _("<b>Choose the place</b> in %(parent)s (page %(page)d of %(pages)d):") % {
        "parent": esc(parent.full_name(locale)),
        "page": page + 1,
        "pages": pages,
    }
    return Reply(text, markup(rows))


def matches(draft: DraftView, places: list[Place]) -> Reply:
    """Search results as buttons, each with its parent so equal names can be told apart."""
    locale = current_locale()
    rows = []
    for place in places:
        parent = place.parent_name_zh if locale == "zh_CN" else place.parent_name_en
        label = f"{place.name(locale)} ({parent})" if parent else place.name(locale)
        if place.selectable:
            rows.append([button(label, draft_data(draft.id, "pl", place.code))])
        else:
            rows.append([button(label + " ›", draft_data(draft.id, "pb", f"{place.code}:0"))])
    rows.append([button(_("🗂 Browse the list"), draft_data(draft.id, "pb", "root:0"))])
    rows.append(nav_row(draft))
    return Reply(_("<b>Which place do you mean?</b>"), markup(rows))


async def prompt_place_confirm(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    place = await directory.place(draft.place_candidate or "")
    name = place.full_name(current_locale()) if place else "?"
    text = _("The location is in <b>%(place)s</b>. Is that where the problem is?") % {
        "place": esc(name)
    }
    keyboard = markup(
        [
            [button(_("✅ Yes"), draft_data(draft.id, "plc", "yes"))],
            [button(_("No, choose another place"), draft_data(draft.id, "plc", "no"))],
            nav_row(draft),
        ]
    )
    return Screen([Reply(text, keyboard)])


async def prompt_category(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    return Screen([await categories(draft, directory, None)])


async def categories(draft: DraftView, directory: Directory, parent: str | None) -> Reply:
    """First-level categories, or the second level under `parent`."""
    locale = current_locale()
    items = await directory.categories(parent)
    rows = in_rows([button(c.name(locale), draft_data(draft.id, "cg", c.code)) for c in items], 2)
    if parent is not None:
        rows.append([button(_("⬆ All categories"), draft_data(draft.id, "cgu"))])
        head = await directory.category(parent)
        text = _("<b>%(category)s</b>: choose the closest item.") % {
            "category": esc(head.name(locale) if head else "")
        }
    else:
        text = _("<b>What is the petition about?</b> Choose a category.")
    rows.append(nav_row(draft))
    return Reply(text, markup(rows))


async def prompt_route(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    category = await directory.category(draft.category_code or "")
    return Screen([route_offer(draft, category)])


def route_offer(draft: DraftView, category: CategoryInfo | None) -> Reply:
    locale = current_locale()
    text = _(
        "<b>This matter has its own legal route.</b>\n\n"
        "<b>%(category)s</b>\n%(route)s\n\n<b>Time limit:</b> %(limit)s\n\n"
        "Do not rely on a petition to stop or extend this time limit. You may use that route, "
        "submit the petition here anyway (the office decides how to handle it), or choose another "
        "category."
    ) % {
        "category": esc(category.name(locale) if category else ""),
        "route": esc(category.route_text(locale) if category else ""),
        "limit": esc(category.limit_text(locale) if category else ""),
    }
    keyboard = markup(
        [
            [button(_("I will use that route"), draft_data(draft.id, "rt", "go"))],
            [button(_("Submit here anyway"), draft_data(draft.id, "rt", "submit"))],
            [button(_("Choose another category"), draft_data(draft.id, "rt", "other"))],
            nav_row(draft),
        ]
    )
    return Reply(text, keyboard)


def route_taken(category: CategoryInfo) -> str:
    locale = current_locale()
    return _(
        "Your draft is closed. Please apply through the legal route:\n\n<b>%(category)s</b>\n"
        "%(route)s\n\n<b>Time limit:</b> %(limit)s\n\nSend /new to start another petition."
    ) % {
        "category": esc(category.name(locale)),
        "route": esc(category.route_text(locale)),
        "limit": esc(category.limit_text(locale)),
    }


# --- operations ----------------------------------------------------------------------------


async def pick_place(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.choose_place(actor, draft.id, press.arg)


async def browse_place(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> None:
    code, _sep, page = press.arg.partition(":")
    if code == "root":
        code = ctx.services.deployment.root
    reply = await browse(draft, ctx.services.directory, code, int(page) if page.isdigit() else 0)
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)


async def search_place(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> None:
    # Cleaned like every answer: a control or bidi-override character must not reach the echo.
    query = validation.one_line(text)
    if not query:
        raise DomainError("empty")
    places = await ctx.services.directory.search(query)
    if not places:
        root = await ctx.services.directory.root_place()
        await replies.send(
            ctx,
            actor.chat_id,
            Reply(
                _(
                    "No county-level place called “%(text)s” was found in %(area)s, the area "
                    "this service covers. Check the name, or browse the list."
                )
                % {
                    "text": esc(shorten(query, 40)),
                    "area": esc(root.name(current_locale())),
                },
                markup(
                    [
                        [
                            button(
                                _("🗂 Browse the list"), draft_data(draft.id, "pb", f"{root.code}:0")
                            )
                        ],
                        nav_row(draft),
                    ]
                ),
            ),
        )
        return None
    await replies.send(ctx, actor.chat_id, matches(draft, places))
    return None


async def location(
    ctx: Ctx, actor: Actor, draft: DraftView, latitude: float, longitude: float
) -> DraftView:
    code = await asyncio.to_thread(locate, latitude, longitude, ctx.services.geo_cache)
    return await ctx.services.intake.propose_place(actor, draft.id, code)


async def confirm_place(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    if press.arg == "yes":
        return await ctx.services.intake.choose_place(actor, draft.id, draft.place_candidate or "")
    return await ctx.services.intake.reject_place(actor, draft.id)


async def choose_category(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    category = await ctx.services.directory.category(press.arg)
    if category is None:
        raise StaleAction
    if category.is_leaf:
        return await ctx.services.intake.choose_category(actor, draft.id, category.code)
    reply = await categories(draft, ctx.services.directory, category.code)
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)
    return None


async def categories_up(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> None:
    reply = await categories(draft, ctx.services.directory, None)
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)


async def decide_route(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    intake = ctx.services.intake
    if press.arg == "go":
        category = await intake.take_route(actor, draft.id)
        await replies.clear_buttons(ctx, msg)
        await replies.send(ctx, actor.chat_id, Reply(route_taken(category), replies.menu_markup()))
        return None
    if press.arg == "submit":
        return await intake.submit_anyway(actor, draft.id)
    if press.arg == "other":
        return await intake.other_category(actor, draft.id)
    raise StaleAction
