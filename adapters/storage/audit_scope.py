"""Whose a run's audit chain is: the tenant an audit reader bound to one tenant may see.

A run's tenant is its entries' ``tenant`` column (revision 0013), else its run row's
(a run with pending entries or an archived head only). A chain that names no tenant
at all (entries stored before 0013 whose run had no row, or appended by a tool that
gave none) counts as the ``default`` tenant's, the tenant an unconfigured engine has:
it stays visible to the deployment that wrote it and to no named tenant.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage.audit_append import ENTRIES
from adapters.storage.schema import Run

RUNS = cast(Table, Run.__table__)
UNNAMED = "default"


async def owner_of(conn: AsyncConnection, run_id: str) -> str:
    """The tenant whose chain ``run_id`` is (``UNNAMED`` when nothing names one)."""
    named = await conn.execute(
        select(ENTRIES.c.tenant)
        .where(ENTRIES.c.run_id == run_id, ENTRIES.c.tenant.is_not(None))
        .limit(1)
    )
    tenant = named.scalar()
    if tenant is None:
        row = await conn.execute(select(RUNS.c.tenant).where(RUNS.c.run_id == run_id))
        tenant = row.scalar()
    return str(tenant) if tenant is not None else UNNAMED


async def owners(conn: AsyncConnection) -> dict[str, str]:
    """Every run's tenant, as ``owner_of`` decides it, for the runs anything names."""
    found = {r.run_id: r.tenant for r in await conn.execute(select(RUNS.c.run_id, RUNS.c.tenant))}
    named = select(ENTRIES.c.run_id, ENTRIES.c.tenant).where(ENTRIES.c.tenant.is_not(None))
    found.update({r.run_id: r.tenant for r in await conn.execute(named.distinct())})
    return found


def owner(found: dict[str, str], run_id: str) -> str:
    return found.get(run_id, UNNAMED)


def entries_of(tenant: str) -> Any:
    """A filter on ``audit_entries`` rows for the tenant's entries."""
    if tenant == UNNAMED:
        return or_(ENTRIES.c.tenant == tenant, ENTRIES.c.tenant.is_(None))
    return ENTRIES.c.tenant == tenant


__all__ = ["UNNAMED", "entries_of", "owner", "owner_of", "owners"]
