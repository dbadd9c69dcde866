"""``dee db``: the database schema; and how the CLI opens storage and reports its errors.

Every command that touches the database opens it through ``storage()``, which brings
the schema up to date first (idempotent), and runs through ``run_storage``, which turns
storage errors into ``EngineError`` lines so the user sees ``error: ...``, never a
traceback.

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

from dee.errors import EngineError
from dee.settings import Settings

if TYPE_CHECKING:
    from adapters.storage import Database

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
async def storage(settings: Settings | None = None) -> AsyncIterator[Database]:
    """The configured database, migrated to the newest schema, closed afterwards."""
    from adapters.storage import open_database  # noqa: PLC0415 - see the module docstring

    database = await open_database((settings or Settings.load()).database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def _upgrade() -> tuple[str, str | None]:
    from adapters.storage.migrations import current_revision  # noqa: PLC0415

    async with storage() as database:
        return database.display_url, await current_revision(database)


@app.command()
def upgrade() -> None:
    """Create or migrate the schema to the newest revision (safe to run again)."""
    url, revision = run_storage(_upgrade())
    print(f"database {url}: schema at revision {revision}")


__all__ = ["app", "run_storage", "storage"]
