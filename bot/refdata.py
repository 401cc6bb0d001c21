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
from storage import directory as repo
from storage.db import Database
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
    config = deployment.config
    async with db.sessions.begin() as session:
        await repo.lock_reference_data(session)
        if await repo.loaded_versions(session) == wanted:
            log.debug("reference data up to date")
            return
        await repo.replace_divisions(
            session, map(_division_row, _divisions_with_ancestors(deployment))
        )
        await repo.replace_categories(session, _category_rows(categories))
        await repo.upsert_offices(
            session,
            (
                Office(
                    id=o.id,
                    name_zh=o.name_zh,
                    name_en=o.name_en,
                    level=o.level,
                    parent_id=o.parent,
                    group_chat_id=o.group_chat_id,
                    language=o.language,
                )
                for o in config.offices
            ),
        )
        await repo.replace_office_areas(
            session,
            (OfficeArea(office_id=o.id, division_code=c) for o in config.offices for c in o.areas),
        )
        await repo.replace_staff(
            session,
            (
                Staff(user_id=s.user_id, office_id=s.office, name=s.name, role=s.role)
                for s in config.staff
            ),
        )
        # Last, so the areas and staff of a dropped office are gone either way.
        removed = await repo.delete_unreferenced_offices(session, (o.id for o in config.offices))
        await repo.set_loaded_versions(session, wanted, datetime.now(UTC))
    log.info(
        "reference data loaded: %d divisions, %d categories, %d offices (removed: %s)",
        len(deployment.divisions),
        sum(1 + len(group.children) for group in categories),
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
