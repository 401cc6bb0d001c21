"""The intake conversation end to end: the real bot polls the Bot API stand-in over HTTP, and
people play the citizen through the test driver. The driver is strict, so every turn also proves
that every message and edit the bot made is one Telegram accepts.

Each test is a transcript: what the person does, what the bot answers. `tests.dialogs` walks
the happy path up to the step a test is about; the database is only read, to verify.
"""

from __future__ import annotations

import re
from typing import Any

from babel.dates import format_date
from sqlalchemy import func, select

from bot.i18n import catalog
from bot.intake import Step
from storage.models import Attachment, CaseEvent, Draft
from tests.dialogs import (
    CASE_NUMBER,
    CHINESE,
    ENGLISH,
    WAGES,
    Petition,
    assert_no_apology,
    cases_of,
    count_cases,
    current_step,
    file_petition,
    press_keeping_update,
    say_keeping_update,
    sent,
    texts,
)

RECEIPT = re.compile(r"Case number: (XF\d{4}-\d{6})\nQuery code: ([A-Z2-9]{8})\n")
# The same matter as ENGLISH (same place and category, similar text): a duplicate of its case.
SAME_MATTER = Petition(
    request="Please have the broken lift in building 5 repaired soon.",
    facts=ENGLISH.facts,
)


def zh(message: str) -> str:
    """`message` as the zh_CN catalog translates it (it must be translated)."""
    translated = catalog("zh_CN").gettext(message)
    assert translated != message, f"not translated yet: {message!r}"
    return translated


async def drafts_of(bot: Any, user_id: int) -> list[Draft]:
    async with bot.services.db.sessions() as session:
        rows = await session.scalars(
            select(Draft).where(Draft.petitioner_id == user_id).order_by(Draft.id)
        )
        return list(rows)


# --- whole petitions ---------------------------------------------------------------------------


async def test_a_full_petition_in_english_ends_in_a_receipt_and_makes_one_case(bot: Any) -> None:
    alice = await bot.sandbox.user(first_name="Alice", language_code="en")

    consent = await alice.say("/new")
    assert "Before you start" in consent[-1].text
    assert "Sichuan Province" in consent[-1].text
    assert "Your consent is required (PIPL)" in consent[-1].text
    assert "have their own legal routes" in consent[-1].text
    assert consent[-1].labels == ["✅ I agree", "✖ Cancel"]

    kinds = await alice.press("✅ I agree")
    assert kinds[-1].text == "What kind of petition is it?"
    assert kinds[-1].labels == [
        "Suggestion or opinion (建议意见)",
        "Accusation or complaint (检举控告)",
        "Appeal or request (申诉求决)",
        "◀ Back",
        "✖ Cancel",
    ]

    place = await alice.press("Appeal or request (申诉求决)")
    assert sent(place)[0].reply_labels == ["📍 Share a location"]
    assert "Where is the problem?" in place[-1].text
    assert "🗂 Browse the list" in place[-1].labels

    found = await alice.say("锦江")
    assert found[-1].text == "Which place do you mean?"
    assert found[-1].labels[0] == "Jinjiang District (Chengdu City)"

    categories = await alice.press("Jinjiang District (Chengdu City)")
    assert categories[-1].text == "What is the petition about? Choose a category."
    items = await alice.press("Urban and rural construction")
    assert items[-1].text == "Urban and rural construction: choose the closest item."
    request = await alice.press("Property management")
    assert "What do you ask for?" in request[-1].text
    assert "up to 500 characters" in request[-1].text

    facts = await alice.say(ENGLISH.request)
    assert "Facts and reasons" in facts[-1].text
    await alice.say(ENGLISH.facts[0])
    progress = await alice.say(ENGLISH.facts[1])
    joined = len(ENGLISH.facts[0]) + 2 + len(ENGLISH.facts[1])
    assert f"The facts now have {joined} of at most 10000 characters" in progress[-1].text

    attachments = await alice.press("✅ Done")
    assert "Attached so far: 0." in attachments[-1].text
    assert "Skip" in attachments[-1].labels
    await alice.send_photo()
    added = await alice.send_file("contract.pdf", size=300_000, mime="application/pdf")
    assert "Attached so far: 2." in added[-1].text

    name = await alice.press("✅ Done")
    assert "Your name" in name[-1].text
    phone = await alice.say("Alice Li")
    assert sent(phone)[0].reply_labels == ["📱 Share my phone number"]
    address = await alice.share_contact("8613800138000")
    assert "Your address" in address[-1].text

    review = await alice.say(ENGLISH.address)
    shown = review[-1].text
    assert shown.startswith("Please check your petition")
    for line in (
        "Petition type: Appeal or request (申诉求决)",
        "Where the problem is: Jinjiang District, Chengdu City, Sichuan Province",
        "Category: Urban and rural construction / Property management",
        f"Request: {ENGLISH.request}",
        f"Facts and reasons:\n{ENGLISH.facts[0]}\n\n{ENGLISH.facts[1]}",
        "Attachments: 2",
        "Name: Alice Li",
        "Phone: +8613800138000",
        f"Address: {ENGLISH.address}",
    ):
        assert line in shown
    assert review[-1].labels == ["📨 Submit", "✏️ Edit a field", "◀ Back", "✖ Cancel"]

    receipt = await alice.press("📨 Submit")
    text = receipt[-1].text
    assert text.startswith("✅ Your petition has been submitted.")
    match = RECEIPT.search(text)
    assert match is not None, text
    number, query_code = match.groups()
    assert "Sent to: Jinjiang District Bureau of Letters and Visits, Chengdu" in text
    assert "📝 New petition" in receipt[-1].labels

    [case] = await cases_of(bot, alice)
    assert (case.number, case.query_code, case.office_id) == (number, query_code, "cd-jinjiang")
    assert f"by {format_date(case.registration_due, 'long', locale='en')}." in text
    assert (case.place_code, case.category_code, case.petition_type) == ("510104", "0306", "appeal")
    assert (case.name, case.phone, case.address) == ("Alice Li", "+8613800138000", ENGLISH.address)
    assert case.language == "en"
    assert await count_cases(bot) == 1
    async with bot.services.db.sessions() as session:
        files = list(await session.scalars(select(Attachment).where(Attachment.case_id == case.id)))
    assert sorted(f.kind for f in files) == ["document", "photo"]
    assert await current_step(bot, alice) is None


async def test_a_full_petition_in_chinese_is_answered_in_chinese(bot: Any) -> None:
    zhang = await bot.sandbox.user(first_name="张三", language_code="zh-hans")

    consent = await zhang.say("/new")
    assert "四川省" in consent[-1].text
    assert consent[-1].labels == [zh("✅ I agree"), zh("✖ Cancel")]
    kinds = await zhang.press(zh("✅ I agree"))
    assert zh("<b>What kind of petition is it?</b>") == kinds[-1].html
    await zhang.press(zh("Appeal or request (申诉求决)"))

    found = await zhang.say("锦江区")
    assert found[-1].html == zh("<b>Which place do you mean?</b>")
    assert found[-1].labels[0] == "锦江区 (成都市)"
    categories = await zhang.press("锦江区 (成都市)")
    assert "城乡建设" in categories[-1].labels
    items = await zhang.press("城乡建设")
    assert "物业管理" in items[-1].labels
    await zhang.press("物业管理")
    await zhang.say(CHINESE.request)
    await zhang.say(CHINESE.facts[0])
    await zhang.press(zh("✅ Done"))
    await zhang.press(zh("Skip"))
    await zhang.say(CHINESE.name)
    await zhang.say(CHINESE.phone)

    review = await zhang.say(CHINESE.address)
    shown = review[-1].text
    assert review[-1].html.startswith(zh("<b>Please check your petition</b>"))
    for label, value in [
        ("Petition type", zh("Appeal or request (申诉求决)")),
        ("Where the problem is", "四川省 成都市 锦江区"),
        ("Category", "城乡建设 / 物业管理"),
        ("Request", CHINESE.request),
        ("Name", "张三"),
    ]:
        line = zh("<b>%(label)s:</b> %(value)s") % {"label": zh(label), "value": value}
        assert line.replace("<b>", "").replace("</b>", "") in shown
        assert f"{zh(label)}：{value}" in shown  # the Chinese colon, no space
    assert review[-1].labels[:2] == [zh("📨 Submit"), zh("✏️ Edit a field")]

    receipt = await zhang.press(zh("📨 Submit"))
    assert receipt[-1].html.startswith(zh("✅ <b>Your petition has been submitted.</b>"))
    [case] = await cases_of(bot, zhang)
    assert CASE_NUMBER.fullmatch(case.number)
    assert case.number in receipt[-1].text
    assert case.query_code in receipt[-1].text
    assert "成都市锦江区信访局" in receipt[-1].text
    due = format_date(case.registration_due, "long", locale="zh_Hans_CN")
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", due)
    assert due in receipt[-1].text
    assert zh("📝 New petition") in receipt[-1].labels
    assert case.language == "zh_CN"
    assert await count_cases(bot) == 1


# --- validation ------------------------------------------------------------------------------


async def test_a_request_too_short_or_too_long_is_refused_with_the_limit(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.REQUEST)

    short = await alice.say("Fix")
    assert short[-1].text == "That is too short: please write at least 4 characters."
    long = await alice.say("Please " * 80)  # 560 characters
    assert long[-1].text == (
        "That is too long: 559 characters, at most 500 are allowed. Please shorten it."
    )

    facts = await alice.say("Repair the lift.")
    assert "Facts and reasons" in facts[-1].text


async def test_done_without_enough_facts_asks_for_the_facts_first(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.FACTS)

    empty = await alice.press("✅ Done")
    expected = "Please describe the facts first (at least 10 characters), then press Done."
    assert empty[-1].text == expected
    await alice.say("Lift down")  # 9 characters
    still = await alice.press("✅ Done")
    assert still[-1].text == expected

    await alice.say("since March.")
    attachments = await alice.press("✅ Done")
    assert "Attachments" in attachments[-1].text


async def test_facts_beyond_the_limit_are_refused_and_the_room_left_is_told(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.FACTS)

    await alice.say("a" * 4000)
    progress = await alice.say("b" * 4000)
    assert "The facts now have 8002 of at most 10000 characters" in progress[-1].text
    over = await alice.say("c" * 2000)
    assert over[-1].text == (
        "That would make the facts longer than 10000 characters; 1996 characters are left. "
        "Please send a shorter message, or press Done."
    )
    full = await alice.say("c" * 1996)
    assert "The facts now have 10000 of at most 10000 characters" in full[-1].text
    assert "Attachments" in (await alice.press("✅ Done"))[-1].text


async def test_a_file_over_20_mb_and_an_eleventh_attachment_are_refused(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.ATTACHMENTS)

    big = await alice.send_file("video.mp4", size=25 * 2**20, mime="video/mp4")
    assert big[-1].text == (
        "That file is larger than 20 MB, the most a bot can receive. "
        "Please send a smaller file, or leave it out."
    )
    for _ in range(10):
        shown = await alice.send_photo()
    assert "Attached so far: 10." in shown[-1].text
    eleventh = await alice.send_file("eleventh.pdf", mime="application/pdf")
    assert eleventh[-1].text == (
        "You have attached the most files allowed (10). Press Done to go on."
    )

    name = await alice.press("✅ Done")
    assert "Your name" in name[-1].text
    [draft] = await drafts_of(bot, alice.id)
    async with bot.services.db.sessions() as session:
        kept = await session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.draft_id == draft.id)
        )
    assert kept == 10


async def test_name_phone_and_address_are_checked_and_the_reason_is_given(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.NAME)

    digits = await alice.say("12345 !!")
    assert digits[-1].text == "Your name must contain letters, not only digits or symbols."
    phone = await alice.say("Alice Li")
    assert "Your phone number" in phone[-1].text

    invalid = await alice.say("12345")
    assert invalid[-1].text.startswith("That is not a valid phone number.")
    someone_else = await alice.share_contact("+8613911112222", first_name="Bob", own=False)
    assert someone_else[-1].text == (
        "Please share your own phone number with the button, or type it. "
        "Other people's contacts are not accepted."
    )
    address = await alice.say("138 0013 8000")
    assert "Your address" in address[-1].text

    short = await alice.say("Rd.")
    assert short[-1].text == "That is too short: please write at least 4 characters."
    review = await alice.say(ENGLISH.address)
    assert "Name: Alice Li\nPhone: +8613800138000\nAddress: " in review[-1].text


# --- the place ----------------------------------------------------------------------------------


async def test_an_ambiguous_place_name_shows_each_place_with_its_parent(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.PLACE)

    found = await alice.say("市中区")
    assert found[-1].text == "Which place do you mean?"
    assert found[-1].labels[:2] == [
        "Shizhong District (Neijiang City)",
        "Shizhong District (Leshan City)",
    ]
    categories = await alice.press("Shizhong District (Leshan City)")
    assert "Choose a category" in categories[-1].text
    [draft] = await drafts_of(bot, alice.id)
    assert draft.place_code == "511102"  # 乐山市市中区


async def test_browsing_province_city_and_county_pages_through_the_places(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.PLACE)

    province = await alice.press("🗂 Browse the list")
    assert province[-1].text == "Choose the place in Sichuan Province (page 1 of 3):"
    assert province[-1].labels[0] == "Chengdu City ›"
    city = await alice.press("Chengdu City ›")
    assert city[-1].text == "Choose the place in Chengdu City, Sichuan Province (page 1 of 3):"
    assert "« Previous" not in city[-1].labels
    second = await alice.press("Next »")
    assert "(page 2 of 3)" in second[-1].text
    assert "Wuhou District" not in second[-1].labels
    assert {"« Previous", "Next »", "⬆ Up"} <= set(second[-1].labels)
    first = await alice.press("« Previous")
    assert "(page 1 of 3)" in first[-1].text

    categories = await alice.press("Wuhou District")
    assert "Choose a category" in categories[-1].text
    [draft] = await drafts_of(bot, alice.id)
    assert draft.place_code == "510107"  # 成都市武侯区


async def test_a_shared_location_is_confirmed_and_no_asks_for_the_place_again(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.PLACE)

    proposed = await alice.share_location(30.657, 104.081)
    assert proposed[-1].text == (
        "The location is in Jinjiang District, Chengdu City, Sichuan Province. "
        "Is that where the problem is?"
    )
    assert proposed[-1].labels[:2] == ["✅ Yes", "No, choose another place"]
    again = await alice.press("No, choose another place")
    assert "Where is the problem?" in again[-1].text
    assert sent(again)[0].reply_labels == ["📍 Share a location"]

    await alice.share_location(30.657, 104.081)
    categories = await alice.press("✅ Yes")
    assert "Choose a category" in categories[-1].text
    [draft] = await drafts_of(bot, alice.id)
    assert draft.place_code == "510104"


async def test_a_place_outside_the_area_is_refused_naming_the_area_covered(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.PLACE)

    typed = await alice.say("海淀区")
    assert typed[-1].text.startswith(
        "No county-level place called “海淀区” was found in Sichuan Province, "
        "the area this service covers."
    )
    beijing = await alice.share_location(39.9, 116.4)
    assert beijing[-1].text == (
        "That place is outside Sichuan Province, the area this service covers. "
        "Please choose a place inside it."
    )
    ocean = await alice.share_location(0.0, -30.0)
    assert "it covers Sichuan Province" in ocean[-1].text
    assert await current_step(bot, alice) == Step.PLACE

    found = await alice.say("锦江")
    assert "Jinjiang District (Chengdu City)" in found[-1].labels


async def test_a_prefecture_is_not_taken_where_a_county_is_needed(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.PLACE)

    found = await alice.say("成都")
    assert found[-1].labels[0] == "Chengdu City (Sichuan Province) ›"  # browses, never picks
    counties = await alice.press("Chengdu City (Sichuan Province) ›")
    assert "Choose the place in Chengdu City" in counties[-1].text

    draft_id = (await drafts_of(bot, alice.id))[0].id
    forged = await alice.press(data=f"v1:{draft_id}:pl:510100", force=True)
    assert forged[-1].text == "Please choose a county or district, not a larger area."
    assert await current_step(bot, alice) == Step.PLACE


# --- the legal route ---------------------------------------------------------------------------


async def test_a_labour_dispute_shows_its_legal_route_and_taking_it_ends_the_draft(
    bot: Any,
) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.CATEGORY, petition=WAGES)
    await alice.press("Labour and social security")

    route = await alice.press("Wages and benefits")
    text = route[-1].text
    assert text.startswith("This matter has its own legal route.")
    assert "labour dispute arbitration committee" in text
    assert "Time limit: 1 year from when you knew or should have known" in text
    assert route[-1].labels == [
        "I will use that route",
        "Submit here anyway",
        "Choose another category",
        "◀ Back",
        "✖ Cancel",
    ]

    taken = await alice.press("I will use that route")
    assert taken[-1].text.startswith("Your draft is closed. Please apply through the legal route:")
    assert "labour dispute arbitration committee" in taken[-1].text
    assert "Time limit:" in taken[-1].text
    assert "📝 New petition" in taken[-1].labels
    [draft] = await drafts_of(bot, alice.id)
    assert (draft.status, draft.category_code) == ("diverted", "0402")
    assert await count_cases(bot) == 0


async def test_submit_here_anyway_goes_on_and_the_review_says_so(bot: Any) -> None:
    alice = await bot.sandbox.user()
    review = await file_petition(alice, upto=Step.REVIEW, petition=WAGES)
    assert (
        "Category: Labour and social security / Wages and benefits "
        "(submitted despite its legal route)" in review[-1].text
    )

    await alice.press("📨 Submit")
    [case] = await cases_of(bot, alice)
    assert (case.category_code, case.route_acknowledged) == ("0402", True)


async def test_choose_another_category_goes_back_to_the_categories(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.ROUTE, petition=WAGES)

    categories = await alice.press("Choose another category")
    assert categories[-1].text == "What is the petition about? Choose a category."
    await alice.press("Urban and rural construction")
    request = await alice.press("Property management")
    assert "What do you ask for?" in request[-1].text
    [draft] = await drafts_of(bot, alice.id)
    assert (draft.category_code, draft.route_acknowledged) == ("0306", False)


# --- moving around: back, edit, cancel ----------------------------------------------------------


async def test_back_returns_to_the_previous_step_and_keeps_the_answers(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.ATTACHMENTS)

    facts = await alice.press("◀ Back")
    assert "The facts now have" in facts[-1].text  # what was written is kept
    request = await alice.press("◀ Back")
    assert "What do you ask for?" in request[-1].text
    category = await alice.press("◀ Back")
    assert category[-1].text == "What is the petition about? Choose a category."
    place = await alice.press("◀ Back")
    assert "Where is the problem?" in place[-1].text
    kinds = await alice.press("◀ Back")
    assert kinds[-1].text == "What kind of petition is it?"
    consent = await alice.press("◀ Back")
    assert "Before you start" in consent[-1].text
    assert "◀ Back" not in consent[-1].labels

    await alice.press("✅ I agree")
    assert await current_step(bot, alice) == Step.TYPE
    [draft] = await drafts_of(bot, alice.id)
    assert draft.request_text == ENGLISH.request


async def test_back_from_the_review_and_the_phone_goes_one_step_back(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.REVIEW)

    address = await alice.press("◀ Back")
    assert "Your address" in address[-1].text
    phone = await alice.press("◀ Back")
    assert "Your phone number" in phone[-1].text
    name = await alice.press("◀ Back")
    assert "Your name" in name[-1].text


async def test_edit_from_the_review_changes_a_field_and_comes_back_to_the_review(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.REVIEW)

    fields = await alice.press("✏️ Edit a field")
    assert "Which part do you want to change?" in fields[-1].text
    assert {"Request", "Phone", "Where the problem is", "◀ Back to the review"} <= set(
        fields[-1].labels
    )
    request = await alice.press("Request")
    assert "What do you ask for?" in request[-1].text
    review = await alice.say("Please repair the lift and refund this year's lift fees.")
    assert "Request: Please repair the lift and refund this year's lift fees." in review[-1].text
    assert review[-1].labels[0] == "📨 Submit"

    await alice.press("✏️ Edit a field")
    phone = await alice.press("Phone")
    assert "Your phone number" in phone[-1].text
    review = await alice.say("+86 139 1111 2222")
    assert "Phone: +8613911112222" in review[-1].text
    assert f"Address: {ENGLISH.address}" in review[-1].text  # the rest is unchanged

    await alice.press("✏️ Edit a field")
    unchanged = await alice.press("◀ Back to the review")
    assert unchanged[-1].labels[0] == "📨 Submit"
    await alice.press("📨 Submit")
    [case] = await cases_of(bot, alice)
    assert case.request_text == "Please repair the lift and refund this year's lift fees."
    assert case.phone == "+8613911112222"


async def test_cancel_by_button_or_command_ends_the_draft_and_submits_nothing(bot: Any) -> None:
    alice = await bot.sandbox.user()
    cancelled = "Your petition was cancelled. Nothing was submitted."

    await file_petition(alice, upto=Step.TYPE)
    by_button = await alice.press("✖ Cancel")
    assert by_button[-1].text == cancelled
    assert "📝 New petition" in by_button[-1].labels

    await file_petition(alice, upto=Step.CATEGORY)
    await alice.press("Health")
    on_a_second_level = await alice.press("✖ Cancel")
    assert on_a_second_level[-1].text == cancelled

    await file_petition(alice, upto=Step.FACTS)
    by_command = await alice.say("/cancel")
    assert by_command[-1].text == cancelled
    nothing = await alice.say("/cancel")
    assert nothing[-1].text == "There is no petition in progress to cancel."
    after = await alice.say("The lift is still broken.")
    assert after[-1].text == "No petition is in progress. What would you like to do?"

    assert [d.status for d in await drafts_of(bot, alice.id)] == ["cancelled"] * 3
    assert await count_cases(bot) == 0


# --- a second petition ----------------------------------------------------------------------------


async def test_saved_details_are_offered_and_reused_with_one_tap(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice)
    other = Petition(
        category=("11", "1103"),  # 交通运输 / 交通管理
        request="Install a traffic light at the Hongxing Road crossing.",
        facts=("Two children were hit by cars at the crossing this spring.",),
    )

    name = await file_petition(alice, upto=Step.NAME, petition=other)
    assert name[-1].labels[0] == "Use: Alice Li"
    phone = await alice.press("Use: Alice Li")
    assert "Use: +8613800138000" in phone[-1].labels
    address = await alice.press("Use: +8613800138000")
    review = await alice.press(f"Use: {ENGLISH.address[:39]}…")
    assert f"Name: Alice Li\nPhone: +8613800138000\nAddress: {ENGLISH.address}" in (review[-1].text)
    assert "Your address" in address[-1].text


async def test_a_second_petition_on_the_same_matter_can_join_the_open_case(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice)
    [first] = await cases_of(bot, alice)
    await file_petition(alice, upto=Step.REVIEW, petition=SAME_MATTER)

    offer = await alice.press("📨 Submit")
    assert f"You already have an open case, {first.number}, about the same place" in (
        offer[-1].text
    )
    assert offer[-1].labels[:2] == ["Add to my open case", "Submit as a new case"]
    joined = await alice.press("Add to my open case")
    assert joined[-1].text.startswith(f"Your petition was added to case {first.number}")

    assert [c.number for c in await cases_of(bot, alice)] == [first.number]
    async with bot.services.db.sessions() as session:
        actions = list(
            await session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == first.id))
        )
    assert actions == ["submit", "follow_up"]


async def test_a_second_petition_on_the_same_matter_can_still_be_a_new_case(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice)
    await file_petition(alice, upto=Step.REVIEW, petition=SAME_MATTER)

    await alice.press("📨 Submit")
    receipt = await alice.press("Submit as a new case")
    assert receipt[-1].text.startswith("✅ Your petition has been submitted.")
    first, second = await cases_of(bot, alice)
    assert second.number != first.number
    assert second.number in receipt[-1].text


# --- nothing lost, nothing twice ---------------------------------------------------------------


async def test_a_draft_continues_after_a_restart_exactly_where_it_was(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.FACTS)
    await alice.say(ENGLISH.facts[0])

    await bot.restart()
    progress = await alice.say(ENGLISH.facts[1])
    joined = len(ENGLISH.facts[0]) + 2 + len(ENGLISH.facts[1])
    assert f"The facts now have {joined} of at most" in progress[-1].text
    await alice.press("✅ Done")

    await bot.restart()
    name = await alice.press("Skip")  # a button sent before the restart
    assert "Your name" in name[-1].text
    phone = await alice.say("Alice Li")
    assert "Your phone number" in phone[-1].text
    [draft] = await drafts_of(bot, alice.id)
    assert (draft.step, draft.name) == (Step.PHONE, "Alice Li")
    assert draft.facts_text == f"{ENGLISH.facts[0]}\n\n{ENGLISH.facts[1]}"


async def test_a_press_answered_too_late_is_still_applied_without_an_apology(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.TYPE)
    await bot.sandbox.fail_next(  # as after a slow turn or a redelivery: the query is spent
        "answerCallbackQuery",
        status=400,
        description="Bad Request: query is too old and response timeout expired or query ID is "
        "invalid",
    )

    place = await alice.press("Appeal or request (申诉求决)")
    assert_no_apology(place)
    assert "Where is the problem?" in texts(place)
    assert await current_step(bot, alice) == Step.PLACE


async def test_submit_pressed_twice_makes_one_case_and_says_it_was_submitted(bot: Any) -> None:
    alice = await bot.sandbox.user()
    review = (await file_petition(alice, upto=Step.REVIEW))[-1]
    submit = review.data_for("📨 Submit")
    assert submit is not None

    await alice.press("📨 Submit")
    # The receipt comes through the outbox, so on a busy machine it may follow the press's turn:
    # let it arrive, or it would be read as the answer to the second press.
    await bot.drained()
    await alice.messages()
    first = alice.last
    assert first is not None
    again = await alice.press(data=submit, message_id=review.message_id, force=True)
    assert again[-1].text.startswith("This petition was already submitted.")
    [case] = await cases_of(bot, alice)
    assert case.number in first.text
    assert case.number in again[-1].text
    assert_no_apology(again)


async def test_a_redelivered_submit_press_makes_one_case(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.REVIEW)
    receipt, update = await press_keeping_update(bot, alice, "📨 Submit")
    [case] = await cases_of(bot, alice)
    assert case.number in receipt[-1].text

    redelivered = await bot.sandbox.raw_update(update, chat_id=alice.chat_id)
    await bot.restart()  # a redelivery typically follows a crash: a new process gets it too
    after_restart = await bot.sandbox.raw_update(update, chat_id=alice.chat_id)

    for turn in (redelivered, after_restart):
        assert_no_apology(turn)
        said = texts(sent(turn))
        assert not said or ("already submitted" in said and case.number in said)
    assert await count_cases(bot) == 1


async def test_a_redelivered_facts_message_is_not_added_twice(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.FACTS)
    _, update = await say_keeping_update(bot, alice, ENGLISH.facts[0])

    redelivered = await bot.sandbox.raw_update(update, chat_id=alice.chat_id)
    assert_no_apology(redelivered)
    [draft] = await drafts_of(bot, alice.id)
    assert draft.facts_text == ENGLISH.facts[0]
    await alice.say(ENGLISH.facts[1])
    attachments = await alice.press("✅ Done")
    assert "Attachments" in texts(attachments)
    [draft] = await drafts_of(bot, alice.id)
    assert draft.facts_text == f"{ENGLISH.facts[0]}\n\n{ENGLISH.facts[1]}"


async def test_new_with_a_draft_open_offers_to_continue_or_start_over(bot: Any) -> None:
    alice = await bot.sandbox.user(first_name="Alice", language_code="en")
    await file_petition(alice, upto=Step.REQUEST)

    offer = await alice.say("/new")
    assert offer[-1].text.startswith("You have a petition in progress.")
    assert offer[-1].labels == ["▶ Continue", "↺ Start over"]

    resumed = await alice.press("▶ Continue")
    assert "What do you ask for?" in resumed[-1].text
    assert await current_step(bot, alice) == Step.REQUEST

    await alice.say("/new")
    fresh = await alice.press("↺ Start over")
    assert fresh[-1].text.startswith("Before you start")
    assert await current_step(bot, alice) == Step.CONSENT
    assert_no_apology(await alice.messages())
