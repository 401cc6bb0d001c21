"""Repository for the reference data: divisions, categories, offices (+ areas, staff), versions.

The only place that builds SQL for these tables. Bulk rewrites use `insert()` with a list of
rows (executemany, batched by SQLAlchemy on SQLite and PostgreSQL alike). These functions add,
delete and flush; they never commit — the use case in `bot.refdata` or `bot.directory` owns the
transaction. Offices are upserted, never blindly replaced, because cases point at them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, inspect, select, text
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


# --- versions ------------------------------------------------------------------------------


async def lock_reference_data(session: AsyncSession) -> None:
    """Serialise rewrites between processes (on SQLite, BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SYNC_LOCK_KEY})


async def loaded_versions(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(ReferenceVersion.name, ReferenceVersion.version))
    return {name: version for name, version in rows}


async def set_loaded_versions(
    session: AsyncSession, versions: Mapping[str, str], at: datetime
) -> None:
    await session.execute(delete(ReferenceVersion).where(ReferenceVersion.name.in_(list(versions))))
    await session.execute(
        insert(ReferenceVersion),
        [{"name": name, "version": version, "loaded_at": at} for name, version in versions.items()],
    )


# --- divisions and categories --------------------------------------------------------------


async def replace_divisions(session: AsyncSession, divisions: Iterable[Division]) -> None:
    await _replace_all(session, Division, divisions)


async def list_divisions(session: AsyncSession) -> list[Division]:
    return list(await session.scalars(select(Division).order_by(Division.code)))


async def replace_categories(session: AsyncSession, categories: Iterable[Category]) -> None:
    await _replace_all(session, Category, categories)


async def list_categories(session: AsyncSession) -> list[Category]:
    """Every category, siblings in display order."""
    query = select(Category).order_by(Category.parent_code, Category.position, Category.code)
    return list(await session.scalars(query))


# --- offices -------------------------------------------------------------------------------


async def upsert_offices(session: AsyncSession, offices: Iterable[Office]) -> None:
    """Insert new offices and update changed ones in place (an office's id is stable)."""
    existing = {o.id: o for o in await session.scalars(select(Office))}
    for office in offices:
        current = existing.get(office.id)
        if current is None:
            session.add(office)
            continue
        for key, value in _values(office).items():
            if getattr(current, key) != value:
                setattr(current, key, value)
    await session.flush()


async def delete_unreferenced_offices(session: AsyncSession, keep: Iterable[str]) -> list[str]:
    """Delete the offices not in `keep` that no case points at; return the ids deleted."""
    referenced = exists().where(Case.office_id == Office.id)
    query = select(Office.id).where(Office.id.not_in(list(keep)), ~referenced).order_by(Office.id)
    doomed = list(await session.scalars(query))
    if doomed:
        await session.execute(delete(Office).where(Office.id.in_(doomed)))
    return doomed


async def list_offices(session: AsyncSession) -> list[Office]:
    return list(await session.scalars(select(Office).order_by(Office.id)))


async def replace_office_areas(session: AsyncSession, areas: Iterable[OfficeArea]) -> None:
    await _replace_all(session, OfficeArea, areas)


async def list_office_areas(session: AsyncSession) -> list[OfficeArea]:
    query = select(OfficeArea).order_by(OfficeArea.office_id, OfficeArea.division_code)
    return list(await session.scalars(query))


async def replace_staff(session: AsyncSession, staff: Iterable[Staff]) -> None:
    await _replace_all(session, Staff, staff)


async def list_staff(session: AsyncSession) -> list[Staff]:
    return list(await session.scalars(select(Staff).order_by(Staff.user_id, Staff.office_id)))
