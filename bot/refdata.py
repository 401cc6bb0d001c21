"""Loading the reference data (divisions, categories, offices, staff) into the database.

`sync_reference_data` runs at start-up: in one transaction it makes the reference tables match the
deployment and the categories file, and records what it loaded in `reference_versions`. When
every version is unchanged it does nothing, so a restart costs one small query. Offices are
upserted rather than replaced, since cases refer to them: an office dropped from the deployment
is deleted only when no case points at it; otherwise it stays, without areas or staff, so it
keeps its name for old cases but is never chosen for new ones. Nothing here knows Telegram.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from bot.categories import CategoryRecord, categories_version
from bot.deployment import Deployment
from bot.divisions import SOURCE_VERSION, DivisionRecord, build_divisions
from storage.db import Database
from storage.directory import CategoryRepo, DivisionRepo, OfficeRepo, ReferenceVersionRepo
from storage.models import Category, Division, Office, OfficeArea, Staff

log = logging.getLogger(__name__)


def reference_versions(deployment: Deployment, categories: list[CategoryRecord]) -> dict[str, str]:
    """The version of each data set as it would be recorded in `reference_versions`."""
    config = deployment.config.model_dump_json().encode()
    return {
        "divisions": SOURCE_VERSION,
        "categories": categories_version(categories),
        "deployment": "sha256:" + hashlib.sha256(config).hexdigest(),
    }


async def sync_reference_data(
    db: Database, deployment: Deployment, categories: list[CategoryRecord]
) -> None:
    """Make the reference tables match `deployment` and `categories` (no-op when unchanged)."""
    wanted = reference_versions(deployment, categories)
    async with db.sessions.begin() as session:
        versions = ReferenceVersionRepo(session)
        await versions.lock()
        if await versions.get_all() == wanted:
            log.debug("reference data up to date")
            return
        await DivisionRepo(session).replace_all(
            _division_row(record) for record in _divisions_with_ancestors(deployment)
        )
        await CategoryRepo(session).replace_all(_category_rows(categories))
        offices = OfficeRepo(session)
        config = deployment.config
        await offices.upsert(
            Office(
                id=o.id,
                name_zh=o.name_zh,
                name_en=o.name_en,
                level=o.level,
                parent_id=o.parent,
                group_chat_id=o.group_chat_id,
            )
            for o in config.offices
        )
        await offices.replace_areas(
            OfficeArea(office_id=o.id, division_code=code) for o in config.offices for code in o.areas
        )
        await offices.replace_staff(
            Staff(user_id=s.user_id, office_id=s.office, name=s.name, role=s.role)
            for s in config.staff
        )
        removed = await offices.delete_unreferenced(o.id for o in config.offices)
        await versions.set_all(wanted, datetime.now(UTC))
    log.info(
        "reference data loaded: %d divisions, %d categories, %d offices (removed: %s)",
        len(deployment.divisions),
        len(categories),
        len(config.offices),
        ", ".join(removed) or "none",
    )


def _divisions_with_ancestors(deployment: Deployment) -> list[DivisionRecord]:
    """The root's subtree plus the root's ancestors, so every parent name resolves."""
    every = build_divisions()
    out = dict(deployment.divisions)
    parent = every[deployment.root].parent_code
    while parent is not None:
        out[parent] = every[parent]
        parent = every[parent].parent_code
    return [out[code] for code in sorted(out)]


def _division_row(record: DivisionRecord) -> Division:
    return Division(
        code=record.code,
        name_zh=record.name_zh,
        name_en=record.name_en,
        level=record.level,
        kind=record.kind,
        parent_code=record.parent_code,
        selectable=record.selectable,
    )


def _category_rows(categories: list[CategoryRecord]) -> list[Category]:
    rows: list[Category] = []
    for i, group in enumerate(categories):
        rows.append(_category_row(group, i))
        rows.extend(_category_row(item, j) for j, item in enumerate(group.children))
    return rows


def _category_row(record: CategoryRecord, position: int) -> Category:
    return Category(
        code=record.code,
        parent_code=record.parent_code,
        position=position,
        name_zh=record.name_zh,
        name_en=record.name_en,
        route=record.route,
        route_zh=record.route_zh,
        route_en=record.route_en,
        limit_zh=record.limit_zh,
        limit_en=record.limit_en,
    )
