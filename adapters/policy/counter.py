"""The daily send counter: one atomic reservation per send, idempotent per (run, step, visit).

Boundary: statements inside the gate's transaction; the caller rolls the transaction
back when the limit is reached (or a later policy denies), so a refused send leaves
neither a reservation nor a count behind.

The day is the *UTC* date of the request's ``at``: a tenant's daily limit is one
counter per UTC day, whatever the contacts' zones (a contact's local date would let a
tenant exceed its limit by spreading contacts across zones).

How the count stays exact under concurrency: the reservation row is inserted first
(``ON CONFLICT DO NOTHING`` on its primary key, so a replay of the same send inserts
nothing and counts nothing), then the counter is incremented by one statement,

    INSERT INTO send_counters ... VALUES (..., 1)
    ON CONFLICT (tenant, channel, day)
    DO UPDATE SET count = send_counters.count + 1 WHERE send_counters.count < :limit
    RETURNING count

which on PostgreSQL locks the counter row and re-checks the condition against the
newest committed count, and on SQLite runs under the write lock ``BEGIN IMMEDIATE``
took. No row returned means the limit is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.errors import PolicyError
from adapters.policy.request import GateRequest
from adapters.policy.tables import COUNTERS, SEND_RESERVATIONS, upsert
from adapters.storage.database import Dialect


@dataclass(frozen=True, slots=True)
class Counted:
    """The outcome of a counter reservation.

    Attributes:
        day: The UTC day counted against.
        count: The counter after this send (``None`` when the limit was reached).
        limit: The limit applied (``None``: unlimited).
        replay: The send was already counted earlier under the same key.
    """

    day: date
    count: int | None
    limit: int | None
    replay: bool

    @property
    def reached(self) -> bool:
        return self.count is None

    def proof(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "count": self.count,
            "limit": self.limit,
            "replay": self.replay,
        }


async def reserve_send(
    conn: AsyncConnection,
    dialect: Dialect,
    request: GateRequest,
    limit: int | None,
    now: datetime,
) -> Counted:
    """Count this send against its tenant's channel and UTC day, once per key."""
    day = request.at.astimezone(UTC).date()
    inserted = await conn.execute(
        upsert(dialect, SEND_RESERVATIONS)
        .values(
            run_id=request.run_id,
            step_id=request.step_id,
            visit=request.visit,
            tenant=request.tenant,
            channel=request.channel,
            day=day,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["run_id", "step_id", "visit"])
        .returning(SEND_RESERVATIONS.c.run_id)
    )
    if inserted.first() is None:
        return await _replayed(conn, request, limit)
    if limit is not None and limit < 1:
        return Counted(day, None, limit, replay=False)
    statement = upsert(dialect, COUNTERS).values(
        tenant=request.tenant, channel=request.channel, day=day, count=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["tenant", "channel", "day"],
        set_={"count": COUNTERS.c.count + 1},
        where=None if limit is None else COUNTERS.c.count < limit,
    )
    row = (await conn.execute(statement.returning(COUNTERS.c.count))).first()
    return Counted(day, None if row is None else int(row[0]), limit, replay=False)


async def _replayed(conn: AsyncConnection, request: GateRequest, limit: int | None) -> Counted:
    r, c = SEND_RESERVATIONS.c, COUNTERS.c
    reservation = (
        await conn.execute(
            select(r.day, r.tenant, r.channel).where(
                r.run_id == request.run_id, r.step_id == request.step_id, r.visit == request.visit
            )
        )
    ).one()
    if (reservation.tenant, reservation.channel) != (request.tenant, request.channel):
        raise PolicyError(
            f"send {request.run_id}/{request.step_id}/{request.visit} was counted for tenant "
            f"{reservation.tenant} on {reservation.channel}, not {request.tenant} on "
            f"{request.channel}: one key, one send"
        )
    count = await conn.scalar(
        select(c.count).where(
            c.tenant == reservation.tenant,
            c.channel == reservation.channel,
            c.day == reservation.day,
        )
    )
    return Counted(reservation.day, int(count or 0), limit, replay=True)


__all__ = ["Counted", "reserve_send"]
