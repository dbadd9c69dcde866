"""The per-contact send cap: at most ``sends`` sends to one contact in ``days`` days.

Every deployment has one (``DEFAULT_CONTACT_CAP``: 10 sends in 7 days, on all
channels together, across all of a tenant's runs), so that no plan, whichever way it
loops, can send one contact more than that; a tenant may have its own, or none
(``PolicyConfig.contact_caps``). A send past the cap is denied (policy
``contact_cap``): the run fails like on any other denial, with the rule in its audit.

The cap itself (``ContactCap``) is configuration and lives in ``config``, below both
this module and ``request``, so the three import one way only.

Boundary: statements inside the gate's transaction, like the daily counter. Each
allowed send is a row of ``contact_sends`` keyed by ``(run, step, visit)``: a
re-evaluation of a send already counted finds its row and is allowed again (counted
once). The window is ``(at - days, at]`` plus any row stamped later (another run's
clock may be ahead): counting those too only ever denies sooner.

The row is the contact's ledger entry (``adapters.policy.ledger``): it also records the
send's debt, subject and caller id, which the compliance rules count by. Attempts
imported from a prior dialer are rows too, and the cap counts them: they reached the
contact as much as DEE's own sends did (the fail-closed reading).

Concurrency: two runs sending to one contact at the same instant must not both see
``sends - 1``. The check holds the contact's ledger lock first (``ledger.lock_contact``:
on PostgreSQL a transaction-level advisory lock on the (tenant, contact) pair, so the
second waits for the first to commit and then counts its row; on SQLite the transaction
holds the write lock, ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.config import ContactCap
from adapters.policy.ledger import lock_contact
from adapters.policy.request import GateRequest
from adapters.policy.tables import CONTACT_SENDS
from adapters.storage.database import Dialect


@dataclass(frozen=True, slots=True)
class CapCount:
    """What the cap found: earlier sends in the window, and whether this one fits.

    Attributes:
        cap: The cap applied (``None``: the tenant has none; sends are still recorded).
        earlier: The contact's other sends in the window.
        replay: This send was counted before (a retried check): allowed again.
    """

    cap: ContactCap | None
    earlier: int
    replay: bool

    @property
    def reached(self) -> bool:
        return not self.replay and self.cap is not None and self.earlier >= self.cap.sends

    def proof(self) -> dict[str, Any]:
        cap = None if self.cap is None else {"sends": self.cap.sends, "days": self.cap.days}
        return {"cap": cap, "earlier": self.earlier, "replay": self.replay}

    def reason(self, request: GateRequest) -> str:
        assert self.cap is not None
        return (
            f"contact send cap reached: the contact had {self.earlier} sends in the "
            f"{self.cap.days} days up to {request.at.isoformat()} "
            f"(cap {self.cap.describe()} for tenant {request.tenant})"
        )


async def count_contact_send(
    conn: AsyncConnection, dialect: Dialect, request: GateRequest, cap: ContactCap | None
) -> CapCount:
    """Count this send against its contact's cap; record it when it fits."""
    await lock_contact(conn, dialect, request.tenant, request.contact_id)
    t = CONTACT_SENDS.c
    mine = (
        await conn.execute(
            select(t.run_id).where(
                t.run_id == request.run_id, t.step_id == request.step_id, t.visit == request.visit
            )
        )
    ).first()
    if mine is not None:
        return CapCount(cap, 0, replay=True)
    earlier = 0
    if cap is not None:
        since = request.at - timedelta(days=cap.days)
        counted = await conn.scalar(
            select(func.count())
            .select_from(CONTACT_SENDS)
            .where(
                t.tenant == request.tenant,
                t.contact_id == request.contact_id,
                t.sent_at > since,
            )
        )
        earlier = int(counted or 0)
    result = CapCount(cap, earlier, replay=False)
    if not result.reached:
        await conn.execute(
            CONTACT_SENDS.insert().values(
                run_id=request.run_id,
                step_id=request.step_id,
                visit=request.visit,
                tenant=request.tenant,
                contact_id=request.contact_id,
                channel=request.channel,
                sent_at=request.at,
                debt_ref=request.debt_ref,
                subject=request.subject,
                caller_id=request.caller_id,
                source="run",
            )
        )
    return result


__all__ = ["CapCount", "count_contact_send"]
