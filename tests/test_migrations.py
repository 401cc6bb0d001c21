"""The Alembic migrations build the schema of `storage.models` on a fresh SQLite file and on a
fresh PostgreSQL database, and SQLite connections are set up so concurrent writers lose nothing.

The upgrade tests run on both backends (`database_url` in conftest: a new, empty database on the
local PostgreSQL server, dropped afterwards; when the server cannot be reached they fail, never
skip). The rest are about SQLite files and connections, so they run on SQLite only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from storage.migrate import current, head, upgrade
from storage.models import Base, CaseCounter


def _head() -> str:
    revision = head()
    assert revision is not None
    return revision


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


@asynccontextmanager
async def _database(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


async def _upgrade_and_compare(database: Database) -> None:
    assert await current(database) is None

    await upgrade(database)

    assert await current(database) == _head()
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_schema_differences) == []


async def test_upgrade_builds_the_models_schema_on_a_fresh_database(database_url: str) -> None:
    async with _database(database_url) as database:
        await _upgrade_and_compare(database)


async def test_upgrade_creates_the_directory_of_a_new_sqlite_file(tmp_path: Path) -> None:
    async with _database(f"sqlite+aiosqlite:///{tmp_path}/var/petition-bot.db") as database:
        await _upgrade_and_compare(database)

    assert (tmp_path / "var" / "petition-bot.db").is_file()


async def test_upgrading_an_up_to_date_database_changes_nothing(database_url: str) -> None:
    async with _database(database_url) as database:
        await upgrade(database)
        await upgrade(database)

        assert await current(database) == _head()


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    async with (
        _database(f"sqlite+aiosqlite:///{tmp_path}/bot.db") as database,
        database.engine.connect() as conn,
    ):
        journal_mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        busy_timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()

    assert journal_mode == "wal"
    assert busy_timeout == SQLITE_BUSY_TIMEOUT_MS > 0
    assert foreign_keys == 1


async def test_concurrent_read_modify_write_on_sqlite_loses_no_update(tmp_path: Path) -> None:
    async with _database(f"sqlite+aiosqlite:///{tmp_path}/bot.db") as database:
        await upgrade(database)
        async with database.sessions.begin() as session:
            session.add(CaseCounter(year=2026, last=0))

        async def take_next_number() -> int:
            async with database.sessions.begin() as session:
                counter = await session.get_one(CaseCounter, 2026)
                await asyncio.sleep(0)  # let the other writers run between the read and the write
                counter.last += 1
                return counter.last

        numbers = await asyncio.gather(*(take_next_number() for _ in range(50)))

        async with database.sessions() as session:
            final = await session.get_one(CaseCounter, 2026)

    assert sorted(numbers) == list(range(1, 51))  # every writer saw its predecessor's number
    assert final.last == 50


async def test_a_read_on_sqlite_does_not_wait_for_a_writer_and_sees_what_was_committed(
    tmp_path: Path,
) -> None:
    async with _database(f"sqlite+aiosqlite:///{tmp_path}/bot.db") as database:
        await upgrade(database)
        async with database.sessions.begin() as session:
            session.add(CaseCounter(year=2026, last=7))

        async with database.sessions.begin() as writing:
            counter = await writing.get_one(CaseCounter, 2026)
            counter.last = 8
            await writing.flush()  # the write lock is held until this block ends
            # A read-only unit of work reads the last committed state at once; a second writer
            # (BEGIN IMMEDIATE) would wait here for the lock until the busy timeout.
            async with asyncio.timeout(2), database.reads() as reading:
                seen = (await reading.get_one(CaseCounter, 2026)).last

        async with database.reads() as reading:
            after = (await reading.get_one(CaseCounter, 2026)).last

    assert (seen, after) == (7, 8)


async def test_on_sqlite_a_write_transaction_inside_another_fails_instead_of_waiting_forever(
    tmp_path: Path,
) -> None:
    # Write transactions queue for one lock per process, before SQLite's own: one opened inside
    # another in the same task would wait for itself.
    async with _database(f"sqlite+aiosqlite:///{tmp_path}/bot.db") as database:
        await upgrade(database)
        async with database.sessions.begin():
            with pytest.raises(RuntimeError, match="inside another"):
                async with asyncio.timeout(5), database.sessions.begin():
                    pass
        async with database.sessions.begin() as session:  # the lock was let go
            session.add(CaseCounter(year=2026, last=1))
