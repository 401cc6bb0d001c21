"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite runs in WAL mode with a busy timeout, and every transaction of `Database.sessions`
starts with `BEGIN IMMEDIATE`, so a read-modify-write can never lose an update (tech-notes
§4.1). The process's write transactions (`sessions.begin()`) also queue for one asyncio lock,
first come first served, before they ask SQLite: a transaction that waits for the write lock
inside SQLite sleeps in its busy handler in steps of up to 100 ms whatever moment the lock
frees, so it could go on waiting long after a transaction of a few milliseconds ended; queued
here it starts the moment the one before it ends. `Database.reads` is for units of work that
only read: on SQLite they start with a plain `BEGIN` and read a snapshot (WAL) without waiting
for the write lock; they never commit.
This module opens connections; it does not know the schema's meaning.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "petition_read_only"  # execution option of `Database.reads`' connections


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions are not isolated).
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    """Create an async engine for `url`, creating the SQLite file's directory if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def dialect_insert(session: AsyncSession, table: Any) -> PgInsert | SqliteInsert:
    """An INSERT for `table` in the session's dialect, which has `on_conflict_do_…` (both
    PostgreSQL and SQLite have ON CONFLICT, with the same form)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


class _QueuedWrites(async_sessionmaker[AsyncSession]):
    """A session factory whose `begin()` first waits its turn in this process (SQLite)."""

    def __init__(self, bind: AsyncEngine, **kw: Any) -> None:
        super().__init__(bind, **kw)
        self._turn = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError("a write transaction inside another one would wait for itself")
        async with self._turn:
            self._holder = task
            try:
                async with super().begin() as session:
                    yield session
            finally:
                self._holder = None


class Database:
    """An engine and its session factory: one session per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        factory = _QueuedWrites if self.is_sqlite else async_sessionmaker
        self.sessions: async_sessionmaker[AsyncSession] = factory(
            self.engine, expire_on_commit=False
        )
        # Reads only: nothing written in one of these sessions is ever committed.
        self.reads: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def ping(self) -> None:
        """Run `SELECT 1` (a health check); raises when the database does not answer. On
        SQLite it briefly takes the write lock (`BEGIN IMMEDIATE`), so it also tells whether the
        database is writable."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
