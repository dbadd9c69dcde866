"""``dee db``: the database schema; and how the CLI opens storage and reports its errors.

Every command that touches the database opens it through ``storage()``, which uses a
current schema, migrates an old one only when the connected role owns it, and refuses
otherwise (the application role cannot migrate: ``dee db migrate`` does, as the owner);
and runs through ``run_storage``, which turns storage errors into ``EngineError`` lines
so the user sees ``error: ...``, never a traceback.

The storage package is imported inside functions, here and in the other database
commands: SQLAlchemy and Alembic take most of a second to import, which every other
``dee`` command (``dee plan validate`` ...) would otherwise pay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from dee.cli.common import JsonOpt, print_json
from dee.errors import EngineError
from dee.settings import Settings

if TYPE_CHECKING:
    from adapters.storage import Database, DatabaseRoles

T = TypeVar("T")

app = typer.Typer(help="The database: create or migrate its schema.", no_args_is_help=True)


def run_storage(work: Coroutine[Any, Any, T]) -> T:
    """Run a storage coroutine to completion; storage errors become ``EngineError``."""
    from adapters.storage import StorageError  # noqa: PLC0415 - see the module docstring

    try:
        return asyncio.run(work)
    except StorageError as exc:
        raise EngineError([str(exc)]) from None


@asynccontextmanager
async def storage(
    settings: Settings | None = None, *, url: str | None = None
) -> AsyncIterator[Database]:
    """The configured database (or ``url``) with a current schema, closed afterwards."""
    from adapters.storage import open_database  # noqa: PLC0415 - see the module docstring

    database = await open_database(url or (settings or Settings.load()).database_url)
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def retention_storage(settings: Settings | None = None) -> AsyncIterator[Database]:
    """The database as the retention role (``DEE_DATABASE_RETENTION_URL``, if set)."""
    settings = settings or Settings.load()
    async with storage(settings, url=settings.retention_url) as database:
        yield database


def _roles(settings: Settings, schema: str | None) -> DatabaseRoles | None:
    from adapters.storage import DatabaseRoles  # noqa: PLC0415

    if settings.app_role is None and settings.retention_role is None:
        return None  # the migration's defaults for the schema it runs in
    return DatabaseRoles.for_schema(schema or "public", settings.app_role, settings.retention_role)


async def _migrate() -> dict[str, Any]:
    """The database migrated, its revision, and whether the application's own connection
    (when a separate migration URL is set) finds the schema current."""
    from adapters.storage import Database, ensure_current, upgrade  # noqa: PLC0415
    from adapters.storage.migrations import current_revision  # noqa: PLC0415

    settings = Settings.load()
    owner = Database(settings.migration_url or settings.database_url)
    try:
        await upgrade(owner, roles=_roles(settings, owner.search_path))
        done: dict[str, Any] = {
            "database": owner.display_url,
            "revision": await current_revision(owner),
            "applicationDatabase": None,
        }
    finally:
        await owner.dispose()
    if settings.migration_url:
        # The application must now find the schema current, as its own role.
        app_db = Database(settings.database_url, search_path=owner.search_path)
        try:
            await ensure_current(app_db)
        finally:
            await app_db.dispose()
        done["applicationDatabase"] = app_db.display_url  # it found the schema current
    return done


@app.command()
def migrate(as_json: JsonOpt = False) -> None:
    """Create or migrate the schema to the newest revision, as the schema's owner.

    Connects through DEE_DATABASE_MIGRATION_URL (database.migrationUrl) when set, else
    DEE_DATABASE_URL. On PostgreSQL the migration also sets up the application and
    retention roles (docs/database.md). Safe to run again.
    """
    done = run_storage(_migrate())
    if as_json:
        print_json(done)
        return
    print(f"database {done['database']}: schema at revision {done['revision']}")
    if done["applicationDatabase"]:
        print(f"the application's connection {done['applicationDatabase']} finds it current")


@app.command(hidden=True)
def upgrade(as_json: JsonOpt = False) -> None:
    """The former name of ``dee db migrate``."""
    migrate(as_json)


__all__ = ["app", "retention_storage", "run_storage", "storage"]
