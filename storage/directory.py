"""Repositories for the reference data: divisions, categories, offices (+ areas, staff), versions.

The only place that builds SQL for these tables. Bulk rewrites use `insert()` with a list of
rows (executemany, batched by SQLAlchemy on SQLite and PostgreSQL alike). Repositories add,
delete and flush; they never commit — the use case in `bot.refdata` or `bot.directory` owns the
transaction. Offices are upserted, never blindly replaced, because cases point at them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, insert, inspect, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Base,
    Case,
    Category,
    Division,
    Office,
    OfficeArea,
    ReferenceVersion,
    Staff,
)

# Any fixed number: the PostgreSQL advisory lock that serialises reference-data rewrites.
_SYNC_LOCK_KEY = 7_420_260_001


def _values(row: Base) -> dict[str, Any]:
    """The column values of a (transient) model instance, for an executemany insert."""
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs}


async def _replace_all(session: AsyncSession, model: type[Base], rows: Iterable[Base]) -> None:
    await session.execute(delete(model))
    values = [_values(row) for row in rows]
    if values:
        await session.execute(insert(model), values)


class ReferenceVersionRepo:
    """Which version of each reference data set is loaded, and the lock around rewriting them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> None:
        """Serialise rewrites between processes (SQLite's BEGIN IMMEDIATE already does)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SYNC_LOCK_KEY}
            )

    async def get_all(self) -> dict[str, str]:
        rows = await self.session.execute(select(ReferenceVersion.name, ReferenceVersion.version))
        return {name: version for name, version in rows.tuples()}

    async def set_all(self, versions: Mapping[str, str], at: datetime) -> None:
        await self.session.execute(
            delete(ReferenceVersion).where(ReferenceVersion.name.in_(list(versions)))
        )
        await self.session.execute(
            insert(ReferenceVersion),
            [{"name": n, "version": v, "loaded_at": at} for n, v in versions.items()],
        )


class DivisionRepo:
    """The `divisions` table: the root's subtree and its ancestors."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_all(self, divisions: Iterable[Division]) -> None:
        await _replace_all(self.session, Division, divisions)

    async def list_all(self) -> list[Division]:
        return list(await self.session.scalars(select(Division).order_by(Division.code)))


class CategoryRepo:
    """The `categories` table (two levels, `position` orders siblings)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_all(self, categories: Iterable[Category]) -> None:
        await _replace_all(self.session, Category, categories)

    async def get(self, code: str) -> Category | None:
        return await self.session.get(Category, code)

    async def list_children(self, parent_code: str | None) -> list[Category]:
        """The categories under `parent_code`; the first level when it is None."""
        where = (
            Category.parent_code.is_(None)
            if parent_code is None
            else Category.parent_code == parent_code
        )
        query = select(Category).where(where).order_by(Category.position, Category.code)
        return list(await self.session.scalars(query))


class OfficeRepo:
    """Offices, the division codes they cover, and their staff."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, offices: Iterable[Office]) -> None:
        """Insert new offices and update changed ones in place (their ids are stable)."""
        existing = {o.id: o for o in await self.session.scalars(select(Office))}
        for office in offices:
            current = existing.get(office.id)
            if current is None:
                self.session.add(office)
                continue
            for key, value in _values(office).items():
                if getattr(current, key) != value:
                    setattr(current, key, value)
        await self.session.flush()

    async def delete_unreferenced(self, keep: Iterable[str]) -> list[str]:
        """Delete the offices not in `keep` that no case points at; return the ids deleted."""
        referenced = exists().where(Case.office_id == Office.id)
        query = select(Office.id).where(Office.id.not_in(list(keep)), ~referenced)
        doomed = list(await self.session.scalars(query))
        if doomed:
            await self.session.execute(delete(Office).where(Office.id.in_(doomed)))
        return doomed

    async def replace_areas(self, areas: Iterable[OfficeArea]) -> None:
        await _replace_all(self.session, OfficeArea, areas)

    async def replace_staff(self, staff: Iterable[Staff]) -> None:
        await _replace_all(self.session, Staff, staff)

    async def list_covering(self, areas: Mapping[str, str]) -> list[Office]:
        """The offices of each level whose areas include that level's code.

        `areas` maps an office level (`county`, `prefectural`, `provincial`) to the division
        code an office of that level must list to cover the place.
        """
        if not areas:
            return []
        match = or_(
            *(
                and_(Office.level == level, OfficeArea.division_code == code)
                for level, code in areas.items()
            )
        )
        query = (
            select(Office)
            .join(OfficeArea, OfficeArea.office_id == Office.id)
            .where(match)
            .distinct()
            .order_by(Office.id)
        )
        return list(await self.session.scalars(query))
