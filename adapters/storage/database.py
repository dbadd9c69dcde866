"""The database handle: URL handling, the async engine, and transactions.

Boundary: this module knows SQLAlchemy, asyncpg and aiosqlite; it maps their
connection failures to ``DatabaseUnavailable``. Everything else in the storage
package goes through ``Database.transaction`` / ``Database.snapshot``.

Two backends are supported: PostgreSQL through asyncpg (production) and SQLite
through aiosqlite (the embedded default). On SQLite every write transaction is
``BEGIN IMMEDIATE``: it takes the write lock up front, so concurrent writers queue on
the busy timeout instead of failing when a read lock cannot be upgraded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from adapters.storage.errors import DatabaseUnavailable, StorageError

Dialect = Literal["postgresql", "sqlite"]

# Seconds: a database that does not answer within this is reported unreachable
# instead of leaving a CLI command hanging.
CONNECT_TIMEOUT = 10
SQLITE_BUSY_TIMEOUT = 30
_READ_OPTION = "dee_read_only"


def normalize_url(url: str) -> URL:
    """Parse a database URL and pick the async driver when none is named.

    ``postgresql://`` and ``postgres://`` become ``postgresql+asyncpg://``;
    ``sqlite://`` becomes ``sqlite+aiosqlite://``. Other backends are refused.
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise DatabaseUnavailable(f"database URL {url!r} is not a valid URL: {error}") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise DatabaseUnavailable(
        f"database URL {parsed.render_as_string(hide_password=True)!r}: unsupported backend "
        f"{backend!r}; use postgresql+asyncpg://... or sqlite+aiosqlite:///path/to/file.db"
    )


class Database:
    """An async engine with DEE's connection settings and error mapping.

    Args:
        url: A SQLAlchemy URL (see ``normalize_url``). A PostgreSQL URL may end in
            ``?search_path=<schema>`` to keep DEE's tables in that schema.
        search_path: PostgreSQL only: the schema to work in (overrides the URL's).
    """

    def __init__(self, url: str, *, search_path: str | None = None) -> None:
        parsed = normalize_url(url)
        self.dialect: Dialect = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql"
        # ``?search_path=schema`` in a PostgreSQL URL is ours, not the driver's.
        from_url = parsed.query.get("search_path")
        self.search_path = search_path or (from_url if isinstance(from_url, str) else None)
        self.url = parsed.difference_update_query(["search_path"])
        self.engine = self._create_engine()
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        shown = self.url.render_as_string(hide_password=True)
        return f"{shown} (schema {self.search_path})" if self.search_path else shown

    def _create_engine(self) -> AsyncEngine:
        connect_args: dict[str, Any]
        if self.dialect == "postgresql":
            connect_args = {"timeout": CONNECT_TIMEOUT}
            if self.search_path:
                connect_args["server_settings"] = {"search_path": self.search_path}
            return create_async_engine(self.url, connect_args=connect_args, pool_pre_ping=True)
        database = self.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseUnavailable(
                    f"cannot create the directory of the database file {database}: "
                    f"{error.strerror or error}"
                ) from error
        engine = create_async_engine(self.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        _sqlite_transactions(engine)
        return engine

    def session(self) -> AsyncSession:
        """A new ORM session (for callers that prefer the ORM to Core statements)."""
        return self.sessions()

    async def _connect(self) -> AsyncConnection:
        try:
            return await self.engine.connect()
        except (OSError, TimeoutError, exc.DBAPIError) as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()
            reason = cause[0] if cause else type(error).__name__
            raise DatabaseUnavailable(
                f"cannot reach the database at {self.display_url}: {reason}"
            ) from error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block exits, rolled back on error."""
        conn = await self._connect()
        try:
            async with conn.begin():
                yield conn
        except exc.DBAPIError as error:
            raise self._mapped(error) from error
        finally:
            await conn.close()

    def _mapped(self, error: exc.DBAPIError) -> StorageError:
        """Driver errors stop here: transient ones are retryable, the rest permanent."""
        if error.connection_invalidated:
            return DatabaseUnavailable(f"lost the connection to the database at {self.display_url}")
        detail = str(error.orig).splitlines()[0] if error.orig is not None else str(error)
        if isinstance(error, exc.OperationalError):  # locked, serialization failure, ...
            return DatabaseUnavailable(f"the database at {self.display_url} is busy: {detail}")
        return StorageError(f"the database at {self.display_url} refused a write: {detail}")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read transaction that sees one consistent state of the database.

        PostgreSQL: REPEATABLE READ, so a retention run that moves a chain head
        mid-read cannot make a chain look broken. SQLite: a deferred transaction,
        which in WAL mode reads one snapshot without taking the write lock.
        """
        conn = await self._connect()
        try:
            if self.dialect == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                await conn.execution_options(**{_READ_OPTION: True})
            async with conn.begin():
                yield conn
        finally:
            await conn.close()

    async def ping(self) -> None:
        """Raise ``DatabaseUnavailable`` unless the database answers."""
        async with self.snapshot() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.

    The sqlite3 module's own implicit BEGIN is deferred; we turn it off and emit
    ``BEGIN IMMEDIATE`` for writes (see the module docstring) and ``BEGIN`` for reads.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers proceed while a writer appends; foreign keys are off by default.
        _ensure_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _ensure_wal(cursor: Any) -> None:
    """Put the file in WAL mode (a persistent setting) unless it already is.

    Switching the journal mode takes an exclusive lock without consulting the busy
    handler, so processes opening a brand-new file at the same moment get "database is
    locked" at once. The switch is therefore skipped when the file is already in WAL
    and otherwise retried, within the busy timeout, until one of them has made it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.fetchall()
            return
        except Exception as error:  # the driver's own OperationalError, not yet wrapped
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        # Runs inside SQLAlchemy's greenlet bridge: yield to the event loop while waiting.
        await_(asyncio.sleep(delay))
        delay = min(delay * 2, 0.2)


__all__ = ["CONNECT_TIMEOUT", "Database", "Dialect", "normalize_url"]
