"""Run the Alembic migrations programmatically, inside an already running event loop.

`upgrade(database)` brings the schema to head on SQLite or PostgreSQL; `current(database)` tells
the revision in place (None for an empty database).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every migration up to `revision`."""
    async with database.engine.connect() as conn:
        await conn.run_sync(_upgrade, revision)
        await conn.commit()


async def current(database: Database) -> str | None:
    """The schema revision of the database, or None when no migration has run."""
    async with database.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
