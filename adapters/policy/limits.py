"""Operator-set daily send limits (``dee limits set``), stored per tenant and channel.

A stored limit overrides the configuration's; clearing it falls back to configuration.
The gate reads it inside the same transaction that reserves the send, so a limit
changed concurrently applies either wholly before or wholly after one decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.tables import LIMITS, upsert
from adapters.storage.database import Dialect


async def stored_limit(conn: AsyncConnection, tenant: str, channel: str) -> int | None:
    """The stored limit, or ``None`` when the configuration decides."""
    row = (
        await conn.execute(
            select(LIMITS.c.daily_limit).where(
                LIMITS.c.tenant == tenant, LIMITS.c.channel == channel
            )
        )
    ).first()
    return None if row is None else int(row[0])


async def store_limit(
    conn: AsyncConnection, dialect: Dialect, tenant: str, channel: str, limit: int, now: datetime
) -> None:
    insert = upsert(dialect, LIMITS).values(
        tenant=tenant, channel=channel, daily_limit=limit, updated_at=now
    )
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=["tenant", "channel"],
            set_={"daily_limit": insert.excluded.daily_limit, "updated_at": now},
        )
    )


async def clear_limit(conn: AsyncConnection, tenant: str, channel: str) -> bool:
    result = await conn.execute(
        delete(LIMITS).where(LIMITS.c.tenant == tenant, LIMITS.c.channel == channel)
    )
    return bool(result.rowcount)
