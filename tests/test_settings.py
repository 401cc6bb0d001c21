"""Process settings from the environment: the `PETITION_` prefix, the defaults, the limits'
bounds, the `.env` file, and the Bot API URLs PTB is given.

Each test runs in an empty working directory (so no `.env` of the checkout leaks in) with every
`PETITION_` variable of the outer environment removed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import DEFAULT_API_URL, Settings


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("PETITION_"):
            monkeypatch.delenv(name)


def test_defaults_need_no_environment() -> None:
    settings = Settings()

    assert settings.bot_token.get_secret_value() == ""
    assert settings.bot_api_url == DEFAULT_API_URL == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///var/petition-bot.db"
    assert settings.config == Path("examples/deployment.toml")
    assert settings.log_level == "INFO"
    assert settings.draft_timeout_hours == 24
    assert settings.max_request_chars == 500
    assert settings.max_facts_chars == 10_000
    assert settings.max_attachments == 10
    assert settings.max_attachment_bytes == 20 * 1024 * 1024


def test_prefixed_variables_are_read_and_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITION_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("PETITION_BOT_API_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("PETITION_DATABASE_URL", "postgresql+asyncpg://bot@db/petitions")
    monkeypatch.setenv("PETITION_CONFIG", "/etc/petition-bot/deployment.toml")
    monkeypatch.setenv("PETITION_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("PETITION_DRAFT_TIMEOUT_HOURS", "0.5")
    monkeypatch.setenv("PETITION_MAX_ATTACHMENTS", "3")

    settings = Settings()

    assert settings.bot_token.get_secret_value() == "123:abc"
    assert settings.bot_api_url == "http://127.0.0.1:8081"
    assert settings.database_url == "postgresql+asyncpg://bot@db/petitions"
    assert settings.config == Path("/etc/petition-bot/deployment.toml")
    assert settings.log_level == "DEBUG"
    assert settings.draft_timeout_hours == 0.5
    assert settings.max_attachments == 3


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://elsewhere/db")

    settings = Settings()

    assert settings.bot_token.get_secret_value() == ""
    assert settings.database_url.startswith("sqlite")


def test_the_token_is_not_shown_when_settings_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITION_BOT_TOKEN", "123:very-secret")

    settings = Settings()

    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PETITION_DRAFT_TIMEOUT_HOURS", "0"),
        ("PETITION_MAX_REQUEST_CHARS", "9"),
        ("PETITION_MAX_FACTS_CHARS", "99"),
        ("PETITION_MAX_ATTACHMENTS", "51"),
        ("PETITION_MAX_ATTACHMENTS", "-1"),
        ("PETITION_MAX_ATTACHMENT_BYTES", "0"),
        ("PETITION_MAX_ATTACHMENTS", "many"),
    ],
)
def test_a_limit_out_of_bounds_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError) as caught:
        Settings()

    assert [e["loc"] for e in caught.value.errors()] == [(name.removeprefix("PETITION_").lower(),)]


def test_a_dotenv_file_is_read_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "PETITION_BOT_TOKEN=from-file\nPETITION_LOG_LEVEL=WARNING\n", encoding="utf-8"
    )
    monkeypatch.setenv("PETITION_LOG_LEVEL", "ERROR")

    settings = Settings()

    assert settings.bot_token.get_secret_value() == "from-file"
    assert settings.log_level == "ERROR"


def test_ptb_gets_telegrams_urls_by_default() -> None:
    settings = Settings()

    assert settings.api_base == "https://api.telegram.org/bot"
    assert settings.file_base == "https://api.telegram.org/file/bot"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081/sandbox", "http://127.0.0.1:8081/sandbox/"])
def test_api_urls_are_built_the_same_with_or_without_a_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("PETITION_BOT_API_URL", url)

    settings = Settings()

    assert settings.api_base == "http://127.0.0.1:8081/sandbox/bot"
    assert settings.file_base == "http://127.0.0.1:8081/sandbox/file/bot"
