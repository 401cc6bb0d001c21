"""Process settings from the environment (prefix `PETITION_`); the only module that reads it.

Secrets (the bot token, the webhook secret) and the database URL come from here; everything
about the deployment itself (jurisdiction, offices, staff) is in the TOML file named by
`PETITION_CONFIG`, parsed by `bot.deployment`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org"


class Settings(BaseSettings):
    """Everything the process needs from its environment."""

    model_config = SettingsConfigDict(env_prefix="PETITION_", env_file=".env", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    # Base URL of the Bot API server: Telegram's, a self-hosted telegram-bot-api, or the sandbox.
    bot_api_url: str = DEFAULT_API_URL
    database_url: str = "sqlite+aiosqlite:///var/petition-bot.db"
    config: Path = Path("examples/deployment.toml")
    # Where the process keeps files of its own (the geocoder's cache).
    data_dir: Path = Path("var")
    log_level: str = "INFO"

    # Limits (documented in docs/configuration.md).
    draft_timeout_hours: float = Field(default=24, gt=0)
    max_request_chars: int = Field(default=500, ge=10)
    max_facts_chars: int = Field(default=10_000, ge=100)
    max_attachments: int = Field(default=10, ge=0, le=50)
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    # How fast the outbox dispatcher sends (Telegram's limits are about 30 messages a second
    # overall, one a second per chat and 20 a minute per group; these stay below them).
    send_rate: float = Field(default=25, gt=0)
    chat_interval: float = Field(default=1.0, gt=0)
    group_rate: int = Field(default=20, gt=0)
    group_period: float = Field(default=60, gt=0)

    # The daily job: the local hour (deployment time zone) from which it runs, and how many
    # days ahead its reminders look.
    daily_hour: int = Field(default=8, ge=0, le=23)
    reminder_days: int = Field(default=3, ge=0, le=30)

    # Abuse limits (per person): a sustained rate of updates with a burst on top, the longest an
    # update is held back before it is dropped, and new petitions started per day.
    flood_rate: float = Field(default=1.0, gt=0)
    flood_burst: int = Field(default=10, ge=1)
    flood_max_wait: float = Field(default=10.0, ge=0)
    max_drafts_per_day: int = Field(default=20, ge=1)

    # Several processes on one database (docs/deployment.md): how long a process's hold on a
    # role (polling, sending the outbox) and on the updates it handles lasts without renewal;
    # another process takes them over this long after it stopped.
    lease_seconds: float = Field(default=15, ge=1, le=300)

    @property
    def api_base(self) -> str:
        """The URL PTB appends `<token>/<method>` to."""
        return self.bot_api_url.rstrip("/") + "/bot"

    @property
    def file_base(self) -> str:
        return self.bot_api_url.rstrip("/") + "/file/bot"

    # Webhook mode (`petition-bot run --webhook`, docs/deployment.md): the public URL Telegram
    # posts updates to, the secret token it sends back with each (required in that mode; checked
    # by `bot.web.webhook_problems`, which never echoes it), the host:port the bot's own server
    # listens on behind the reverse proxy, and the path it serves (default: the URL's path).
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "0.0.0.0:8443"  # all interfaces: in a container, behind the proxy
    webhook_path: str = ""

    @field_validator("webhook_listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        _split_listen(value)
        return value

    @field_validator("webhook_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @property
    def webhook_address(self) -> tuple[str, int]:
        """`webhook_listen` as (host, port); port 0 binds a free port (tests)."""
        return _split_listen(self.webhook_listen)

    @property
    def webhook_route(self) -> str:
        """The path the webhook is served on: `webhook_path`, else the path of `webhook_url`."""
        return self.webhook_path or urlsplit(self.webhook_url).path or "/"


def _split_listen(value: str) -> tuple[str, int]:
    """`host:port` (IPv6 in brackets: `[::]:8443`) as (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("expected host:port, e.g. 0.0.0.0:8443 or 127.0.0.1:8443")
    return host.removeprefix("[").removesuffix("]"), int(port)
