"""The sandbox page in a real browser: a citizen files a petition only by typing and clicking,
and the same person, now playing 锦江区's staff in its group, accepts it and sees the citizen told.

Headless Debian Chromium, driven by Playwright's async API, against the stand-in's page with the
real bot polling behind it (the `bot` fixture). Every wait is one of Playwright's auto-waiting
expectations on what the page shows; there are no fixed sleeps. The rest of the module checks
`tests/browser.py`'s find-or-install logic with fake executables on a fake PATH.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser import Chromium, ensure_chromium, find_chromium

CASE_NUMBER = re.compile(r"XF\d{4}-\d{6}")
CITIZEN_ID = 10001  # the page's default citizen, 张三
JINJIANG_GROUP = "成都市锦江区信访局 · staff"  # the office responsible for 成都市锦江区
ZHANG_WEI = 900003  # its staff member in the example deployment
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 412, "height": 915}  # one pane at a time, switched with the buttons on top
TIMEOUT_MS = 15_000  # per expectation; the bot answers in well under a second
BOT_MESSAGES = "#citizen-messages [data-testid=msg][data-from=bot]"


async def last_bot_message(page: Page, says: str | re.Pattern[str]) -> Locator:
    """The newest bot message in the citizen's chat, once it contains `says`."""
    message = page.locator(BOT_MESSAGES).last
    await expect(message).to_contain_text(says)
    return message


async def press(page: Page, says: str | re.Pattern[str], label: str | re.Pattern[str]) -> None:
    """Wait for the bot's newest message to say `says`, then click its inline button `label`."""
    message = await last_bot_message(page, says)
    await message.locator("button.kb", has_text=label).click()


async def say(page: Page, text: str) -> None:
    """Type into the citizen's message box and click Send; wait until the message shows."""
    await page.locator("#citizen-input").fill(text)
    await page.locator("#citizen-send").click()
    mine = page.locator(f"#citizen-messages [data-testid=msg][data-from='{CITIZEN_ID}']").last
    await expect(mine).to_contain_text(text)


async def speak_english(page: Page) -> None:
    """Switch the citizen to English: the page's language picker changes the user's
    language_code, which the next update carries to the bot."""
    async with page.expect_response(
        lambda r: r.url.endswith("/sandbox/api/users") and r.request.method == "POST"
    ):
        await page.locator("#citizen-lang").select_option("en")


async def file_petition(page: Page, evidence: Path) -> str:
    """Walk the English intake as the citizen, up to the receipt; return the case number."""
    await say(page, "/start")
    await press(page, "Petition service", "New petition")
    await press(page, "Before you start", "I agree")
    await press(page, "What kind of petition is it?", "Appeal or request")

    await last_bot_message(page, "Where is the problem?")
    await say(page, "锦江")
    await press(page, "Which place do you mean?", "Jinjiang")

    await press(page, "Choose a category", "Agriculture and rural affairs")
    await press(page, "choose the closest item", "Farm subsidies")  # no legal route

    await last_bot_message(page, "What do you ask for?")
    await say(page, "Please pay the 2025 farm subsidy that I was promised.")

    await last_bot_message(page, "Facts and reasons")
    await say(page, "I applied in March 2025 at the street office; nothing has been paid.")
    await press(page, "Added.", "Done")

    await last_bot_message(page, "Attached so far: 0")
    await page.locator("#citizen-file").set_input_files(evidence)
    await expect(page.locator("#citizen-messages")).to_contain_text("evidence.txt")
    await press(page, "Attached so far: 1", "Done")

    await last_bot_message(page, "Your name")
    await say(page, "Zhang San")

    await last_bot_message(page, "Your phone number")
    share = page.locator("#citizen-keyboard button.kb", has_text="Share my phone number")
    await share.click()
    await expect(page.locator("#citizen-messages")).to_contain_text("+8613800138000")

    await last_bot_message(page, "Your address")
    await say(page, "1 Chunxi Road, Jinjiang District, Chengdu")

    review = await last_bot_message(page, "Please check your petition")
    await expect(review).to_contain_text("Farm subsidies")
    await expect(review).to_contain_text("Attachments: 1")
    await review.locator("button.kb", has_text="Submit").click()

    receipt = await last_bot_message(page, "Your petition has been submitted.")
    await expect(receipt).to_contain_text(CASE_NUMBER)
    found = CASE_NUMBER.search(await receipt.inner_text())
    assert found is not None
    return found.group()


def write_evidence(tmp_path: Path) -> Path:
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("Receipt for the subsidy application, 2026-03-02.\n", encoding="utf-8")
    return evidence


async def test_a_citizen_files_a_petition_by_clicking_through_the_sandbox_page(
    bot: Any, browser: Chromium, tmp_path: Path
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    evidence = write_evidence(tmp_path)

    async with browser.launch() as chromium:
        context = await chromium.new_context(viewport=DESKTOP)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(bot.api.url + "/")

        # The page has created its default citizen and loaded the staff groups.
        await expect(page.locator("#citizen-user")).to_have_value(str(CITIZEN_ID))
        staff_tab = page.get_by_role("tab", name=JINJIANG_GROUP)
        await expect(staff_tab).to_be_visible()

        await speak_english(page)
        await file_petition(page, evidence)
        await expect(staff_tab).to_be_visible()

        screenshot = await page.screenshot(path=tmp_path / "petition-filed.png", full_page=True)
        await context.close()

    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "petition-filed.png").stat().st_size > 0
    if directory := os.environ.get("PETITION_SCREENSHOTS"):
        await asyncio.to_thread(keep_screenshot, tmp_path / "petition-filed.png", Path(directory))
    assert bot.api.errors == [], f"the stand-in refused bot calls: {bot.api.errors}"


async def test_a_person_files_a_petition_then_accepts_it_as_staff_and_sees_the_citizen_told(
    bot: Any, browser: Chromium, tmp_path: Path
) -> None:
    """Both sides of a case on a phone-sized page: one pane at a time, unread badges on the
    pane switch and the group tabs saying where something new arrived."""
    expect.set_options(timeout=TIMEOUT_MS)
    evidence = write_evidence(tmp_path)

    async with browser.launch() as chromium:
        context = await chromium.new_context(viewport=PHONE)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(bot.api.url + "/")
        to_citizen = page.locator(".pane-switch button[data-pane=citizen-pane]")
        to_staff = page.locator(".pane-switch button[data-pane=staff-pane]")

        await expect(page.locator("#citizen-user")).to_have_value(str(CITIZEN_ID))
        await expect(page.locator("#staff-pane")).to_be_hidden()
        await expect(to_staff.locator(".badge")).to_have_count(0)
        await speak_english(page)
        number = await file_petition(page, evidence)

        # The alert went to 锦江区's group while the person was looking at the citizen's chat.
        await expect(to_staff.locator(".badge")).to_have_text(re.compile(r"^[1-9]\d*$"))
        await to_staff.click()
        await expect(page.locator("#citizen-pane")).to_be_hidden()
        jinjiang = page.get_by_role("tab", name=JINJIANG_GROUP)
        await expect(jinjiang.locator(".badge")).to_be_visible()  # another group is selected
        await jinjiang.click()
        await expect(jinjiang).to_have_attribute("aria-selected", "true")
        await expect(jinjiang.locator(".badge")).to_have_count(0)
        await expect(to_staff.locator(".badge")).to_have_count(0)
        await expect(page.locator("#staff-user")).to_have_value(str(ZHANG_WEI))  # its member

        # Accept with the alert's button, as 张伟; the bot edits the alert in place.
        bot_in_group = page.locator("#staff-messages [data-testid=msg][data-from=bot]")
        alert = bot_in_group.filter(has=page.locator("button.kb")).filter(has_text=number)
        await expect(alert).to_have_count(1)
        alert_id = await alert.get_attribute("data-message-id")
        await alert.locator("button.kb", has_text=re.compile(r"^✅ 受理$")).click()
        edited = page.locator(f"#staff-messages [data-message-id='{alert_id}']")
        await expect(edited).to_contain_text("已受理 — 张伟")
        await expect(edited).to_contain_text(number)
        await expect(edited.locator(".meta")).to_contain_text("edited")
        await expect(edited.locator("button.kb", has_text=re.compile(r"^✅ 受理$"))).to_have_count(
            0
        )
        await page.screenshot(path=tmp_path / "petition-accepted.png", full_page=True)

        # The citizen was told, in English, while the person was on the staff side.
        await expect(to_citizen.locator(".badge")).to_be_visible()
        await to_citizen.click()
        await expect(page.locator("#staff-pane")).to_be_hidden()
        notice = page.locator(BOT_MESSAGES).filter(has_text="was accepted by")
        await expect(notice).to_have_count(1)
        await expect(notice).to_contain_text(number)
        await expect(to_citizen.locator(".badge")).to_have_count(0)
        await context.close()

    if directory := os.environ.get("PETITION_SCREENSHOTS"):
        await asyncio.to_thread(
            keep_screenshot, tmp_path / "petition-accepted.png", Path(directory)
        )
    assert bot.api.errors == [], f"the stand-in refused bot calls: {bot.api.errors}"


def keep_screenshot(screenshot: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, directory / screenshot.name)


# --- finding and installing Chromium (tests/browser.py), with fake executables --------------


def executable(path: Path, script: str) -> Path:
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_apt(tmp_path: Path) -> tuple[str, Path, Path]:
    """A PATH with a fake apt-get that logs its calls and whose `install` makes a chromium."""
    tools, installed = tmp_path / "tools", tmp_path / "installed"
    tools.mkdir()
    installed.mkdir()
    log = tmp_path / "apt.log"
    executable(
        tools / "apt-get",
        f"""echo "$*" >> {log}
if [ "$1" = install ]; then
  sleep 0.3
  printf '#!/bin/sh\\necho Chromium 1.0\\n' > {installed}/chromium
  chmod +x {installed}/chromium
fi
""",
    )
    return f"{installed}{os.pathsep}{tools}", installed, log


def test_chromium_is_found_on_path_before_the_fallbacks(tmp_path: Path) -> None:
    fake = executable(tmp_path / "chromium", "exit 0\n")
    fallback = executable(tmp_path / "fallback-chromium", "exit 0\n")
    assert find_chromium(str(tmp_path), (str(fallback),)) == str(fake)
    fake.unlink()
    assert find_chromium(str(tmp_path), (str(fallback),)) == str(fallback)
    assert find_chromium(str(tmp_path), ()) is None


def test_a_missing_chromium_fails_with_how_to_install_it_when_apt_cannot(tmp_path: Path) -> None:
    logged: list[str] = []
    with pytest.raises(pytest.fail.Exception, match=r"there is no apt-get.*apt-get install -y"):
        ensure_chromium(path=str(tmp_path), fallbacks=(), is_root=True, log=logged.append)
    path, _, _ = fake_apt(tmp_path)
    with pytest.raises(
        pytest.fail.Exception, match=r"needs root.*apt-get install -y .*chromium fonts-noto-cjk"
    ):
        ensure_chromium(path=path, fallbacks=(), is_root=False, log=logged.append)
    assert logged == []


def test_a_missing_chromium_is_installed_once_by_parallel_workers(tmp_path: Path) -> None:
    path, installed, log = fake_apt(tmp_path)
    lock = tmp_path / "install.lock"
    found: list[str] = []
    logged: list[str] = []

    def worker() -> None:
        kwargs: dict[str, Any] = {"fallbacks": (), "is_root": True, "lock_path": lock}
        found.append(ensure_chromium(path=path, log=logged.append, **kwargs))

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()

    assert found == [str(installed / "chromium")] * 3
    assert log.read_text().splitlines() == [
        "update",
        "install -y --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji",
    ]
    assert len(logged) == 2 and "installing chromium" in logged[0]


def test_a_failing_apt_get_fails_the_test_with_its_output(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    executable(tools / "apt-get", 'echo "E: Unable to locate package chromium" >&2; exit 100\n')
    with pytest.raises(
        pytest.fail.Exception, match=r"(?s)exited with 100.*Unable to locate package"
    ):
        ensure_chromium(path=str(tools), fallbacks=(), is_root=True, lock_path=tmp_path / "l")
