"""The use-case objects one running bot shares, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.cases import Cases
from bot.deployment import Deployment
from bot.directory import Directory
from bot.intake import Intake
from bot.petitioners import Petitioners
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
    geo_cache: Path
