"""Test databases on both backends, shared by the storage and policy suites.

SQLite is always tested (a temporary file). PostgreSQL is the server at
``DEE_TEST_POSTGRES_URL`` (default: 127.0.0.1:5432, trust auth, database ``test``);
each test gets its own schema, dropped afterwards. When the server does not answer,
the PostgreSQL cases are skipped locally and FAIL under CI (``CI`` set), since CI must
exercise PostgreSQL.

Migrating a PostgreSQL schema also sets up its application and retention roles
(``<schema>_app``, ``<schema>_retention``: roles are cluster-wide, so each test schema
has its own); they are dropped with the schema. ``role_url`` connects as one of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adapters.storage import Database, open_database
from tests.integration.temporal_env import TEST_CODEC_KEYS

PG_URL = os.environ.get(
    "DEE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]

_pg_problem: list[str | None] = []


async def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (``None`` when it can); asked once per session."""
    if not _pg_problem:
        dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            await conn.close()
            _pg_problem.append(None)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            _pg_problem.append(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
    return _pg_problem[0]


async def require_postgres() -> None:
    problem = await _postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem} (CI must exercise PostgreSQL)")
    pytest.skip(problem)


@asynccontextmanager
async def empty_database_url(backend: str, tmp_path: Path, prefix: str) -> AsyncIterator[str]:
    """The URL of an empty (not yet migrated) database, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}"
        return
    await require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_URL}?search_path={schema}"
    finally:
        await drop_schema(schema)


async def drop_schema(schema: str, *roles: str) -> None:
    """Drop a test schema, its default roles and ``roles`` (shared server: leave nothing)."""
    admin = Database(PG_URL)
    try:
        async with admin.transaction() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            for role in (f"{schema}_app", f"{schema}_retention", *roles):
                await conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await admin.dispose()


async def login_role(role: str) -> None:
    """Let ``role`` (made NOLOGIN by the migration) log in; the test server trusts it."""
    admin = Database(PG_URL)
    try:
        async with admin.transaction() as conn:
            await conn.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN')
    finally:
        await admin.dispose()


def role_url(db_url: str, role: str) -> str:
    """``db_url`` (a PostgreSQL test schema's) connecting as ``role`` instead."""
    url = make_url(db_url).set(username=role, password=None)
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def migrated(db_url: str) -> AsyncIterator[Database]:
    db = await open_database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


def cli_environment(db_url: str, tmp_path: Path) -> Mapping[str, str]:
    """Environment for running the ``dee`` CLI against a test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    env["DEE_DATABASE_URL"] = db_url
    env["DEE_DATA_DIR"] = str(tmp_path / "data")
    env["DEE_CODEC_KEYS"] = TEST_CODEC_KEYS  # the key ring of the tests' own clients
    return env
