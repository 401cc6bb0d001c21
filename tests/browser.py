"""Chromium for the browser tests: found on the machine, or installed by the project itself.

Playwright's own browser download (`playwright install`) needs Playwright's CDN, which CI
machines here cannot reach, so the tests drive Debian's Chromium package through
`executable_path=` (tech-notes §7.6). On a fresh machine `ensure_chromium` installs it — when
running as root with apt-get — together with the fonts that Chinese text needs:

    apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk ...

Parallel pytest workers take a file lock under the system temp dir, so only one of them runs
apt-get; the others wait and then find the browser. When Chromium is missing and cannot be
installed, the test fails (never skips) and says how to install it.

`launch` starts Playwright (async API) and the browser in the running event loop, with the
flags that work on these machines, and closes both on exit.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

# Debian's package installs /usr/bin/chromium; the fallback covers a PATH without /usr/bin.
FALLBACKS = ("/usr/bin/chromium",)
# The browser first: the fonts alone are not worth failing a test over.
APT_PACKAGES = ("chromium", "fonts-noto-cjk", "fonts-noto-color-emoji")
FONT_PACKAGES = APT_PACKAGES[1:]
INSTALL_HINT = (
    "Install Debian's Chromium as root: `apt-get update && apt-get install -y "
    f"--no-install-recommends {' '.join(APT_PACKAGES)}` (or put a `chromium` on PATH). "
    "`playwright install` does not work here: it downloads from a CDN this network cannot reach."
)
LOCK_PATH = Path(tempfile.gettempdir()) / "petition-bot-chromium-install.lock"
APT_TIMEOUT = 1800.0  # seconds for each apt-get command; a first install takes a minute or two
# Without the background-networking flags Chromium keeps dialing Google on a closed network.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

Log = Callable[[str], None]


def stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def find_chromium(path: str | None = None, fallbacks: tuple[str, ...] = FALLBACKS) -> str | None:
    """The Chromium executable on `path` (default: $PATH), else the first usable fallback."""
    found = shutil.which("chromium", path=path)
    if found:
        return found
    return next((f for f in fallbacks if os.path.isfile(f) and os.access(f, os.X_OK)), None)


def missing_packages(packages: tuple[str, ...], path: str | None = None) -> list[str] | None:
    """Which of the Debian `packages` are not installed; None when dpkg-query is not there."""
    dpkg_query = shutil.which("dpkg-query", path=path)
    if dpkg_query is None:
        return None
    missing = []
    for package in packages:
        result = subprocess.run(
            [dpkg_query, "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def why_apt_impossible(path: str | None = None, is_root: bool | None = None) -> str | None:
    """None when apt-get can install packages here, else the reason it cannot."""
    if is_root is None:
        is_root = os.geteuid() == 0
    if shutil.which("apt-get", path=path) is None:
        return "there is no apt-get (not a Debian-like system)"
    if not is_root:
        return "installing needs root, and the tests do not run as root"
    return None


@contextmanager
def install_lock(lock_path: Path = LOCK_PATH) -> Iterator[None]:
    """An exclusive lock shared by every pytest worker (and run) on this machine."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apt_install(packages: list[str], *, path: str | None = None, log: Log = stderr_line) -> None:
    """`apt-get update` then install `packages` without recommends; raises with apt's output."""
    apt_get = shutil.which("apt-get", path=path)
    assert apt_get is not None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    log(
        f"tests/browser.py: installing {' '.join(packages)} with apt-get for the browser tests "
        "(once per machine; this takes a minute or two)…"
    )
    commands = (
        [apt_get, "update"],
        [apt_get, "install", "-y", "--no-install-recommends", *packages],
    )
    for command in commands:
        result = subprocess.run(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"`{' '.join(command)}` exited with {result.returncode}:\n{tail}")
    log(f"tests/browser.py: installed in {time.monotonic() - started:.0f} s.")


def ensure_chromium(
    *,
    path: str | None = None,
    fallbacks: tuple[str, ...] = FALLBACKS,
    is_root: bool | None = None,
    lock_path: Path = LOCK_PATH,
    log: Log = stderr_line,
) -> str:
    """The Chromium executable, installed with apt-get first if it is missing and we can.

    Fails the calling test (pytest.fail) when Chromium is missing and cannot be installed.
    Missing fonts are installed along when possible, but are no reason to fail.
    """
    chromium = find_chromium(path, fallbacks)
    fonts = missing_packages(FONT_PACKAGES, path) or []
    if chromium is not None and not fonts:
        return chromium
    reason = why_apt_impossible(path, is_root)
    if reason is not None:
        if chromium is None:
            pytest.fail(f"Chromium is needed for the browser tests and {reason}. {INSTALL_HINT}")
        log(f"tests/browser.py: {' '.join(fonts)} missing ({reason}); CJK text may not render.")
        return chromium
    with install_lock(lock_path):
        # Another worker may have installed everything while this one waited for the lock.
        chromium = find_chromium(path, fallbacks)
        fonts = missing_packages(FONT_PACKAGES, path)
        if fonts is None:  # no dpkg-query to ask: take the fonts along with the browser
            fonts = [] if chromium is not None else list(FONT_PACKAGES)
        wanted = ([] if chromium is not None else [APT_PACKAGES[0]]) + fonts
        if wanted:
            try:
                apt_install(wanted, path=path, log=log)
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                if chromium is None:
                    pytest.fail(f"Installing Chromium failed: {exc}\n{INSTALL_HINT}")
                log(f"tests/browser.py: installing fonts failed, going on without them: {exc}")
        chromium = find_chromium(path, fallbacks)
    if chromium is None:
        pytest.fail(f"apt-get finished but no `chromium` executable was found. {INSTALL_HINT}")
    return chromium


@asynccontextmanager
async def launch(executable: str, *, headless: bool = True) -> AsyncIterator[Browser]:
    """Playwright and a Chromium browser in the running event loop; both closed on exit."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=headless
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass(frozen=True)
class Chromium:
    """A Chromium executable that Playwright can drive (the `browser` fixture)."""

    executable: str

    def launch(self, *, headless: bool = True) -> AbstractAsyncContextManager[Browser]:
        return launch(self.executable, headless=headless)
