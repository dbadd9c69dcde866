"""Alembic environment: runs DEE's revisions on a connection handed over by ``upgrade``.

``adapters.storage.migrations.upgrade`` passes its connection in
``config.attributes["connection"]``; the ``alembic`` command line (for writing new
revisions) builds one from ``sqlalchemy.url`` instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.storage.schema import metadata

# Made by revisions on one backend only (0001 on SQLite, 0011 on PostgreSQL), and
# deliberately not in the models.
UNMODELLED_TABLES = frozenset({"audit_retention_grant", "dee_roles"})


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name in UNMODELLED_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"), target_metadata=metadata
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_from_url(str(context.config.get_main_option("sqlalchemy.url"))))
