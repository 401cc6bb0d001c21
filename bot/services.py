"""The use-case objects one running bot shares, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.cases import Cases
from bot.casework import Casework
from bot.deployment import Deployment
from bot.directory import Directory
from bot.inbox import Inbox
from bot.intake import Intake
from bot.leases import Leases
from bot.outbox import Delivery
from bot.petitioners import Petitioners
from bot.reminders import Reminders
from bot.settings import Settings
from storage.db import Database


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    deployment: Deployment
    db: Database
    directory: Directory
    intake: Intake
    petitioners: Petitioners
    cases: Cases
    casework: Casework
    delivery: Delivery
    reminders: Reminders
    inbox: Inbox
    leases: Leases
    geo_cache: Path
    # Called after a use case committed outbox rows: the dispatcher looks at once.
    wakers: list[Callable[[], None]] = field(default_factory=list)

    def wake_outbox(self) -> None:
        for wake in self.wakers:
            wake()
