"""Cost budgets: reserve an estimate before a send, settle it (commit or release) after.

Boundary: statements inside a caller's transaction (the gate's, or the admin's for
settlement). Amounts are integer micros (see ``money``).

A reservation is one conditional statement,

    UPDATE budgets SET reserved_micros = reserved_micros + :estimate
    WHERE <budget key> AND reserved_micros + spent_micros + :estimate <= limit_micros
    RETURNING ...

so concurrent sends cannot together exceed the limit (PostgreSQL re-checks the
condition on the locked row; SQLite holds the write lock). The budget a send uses is
the tenant's budget named ``PolicyConfig.budget_name`` whose period (both ends
inclusive) covers the send's UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, assert_never

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.config import PolicyConfig
from adapters.policy.errors import SettlementConflict
from adapters.policy.money import money_text, to_micros
from adapters.policy.request import GateRequest
from adapters.policy.tables import BUDGET_RESERVATIONS, BUDGETS

_SECONDS_PER_MINUTE = 60


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One budget, amounts in micros."""

    tenant: str
    name: str
    period_start: date
    period_end: date
    currency: str
    limit_micros: int
    reserved_micros: int
    spent_micros: int

    def proof(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "currency": self.currency,
            "limit": money_text(self.limit_micros),
            "reserved": money_text(self.reserved_micros),
            "spent": money_text(self.spent_micros),
        }


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of reserving a send's estimate.

    Attributes:
        ok: The estimate is reserved (or no budget applies).
        estimate_micros: The send's estimated cost.
        budget: The budget after the reservation (as found, when refused); ``None``
            when the tenant has no covering budget.
        replay: The estimate was already reserved under the same key.
        reason: Why it was refused.
    """

    ok: bool
    estimate_micros: int
    budget: BudgetRow | None
    replay: bool = False
    reason: str | None = None

    def proof(self) -> dict[str, Any]:
        return {
            "estimate": money_text(self.estimate_micros),
            "budget": None if self.budget is None else self.budget.proof(),
            "replay": self.replay,
        }


def estimate_micros(request: GateRequest, config: PolicyConfig) -> int:
    """A send's estimated cost: per email, or per started voice minute times the cap."""
    costs = config.costs
    match request.channel:
        case "email":
            return to_micros(costs.per_email, field="costs.per_email", exact=False)
        case "voice":
            minutes = -(-request.max_duration_seconds // _SECONDS_PER_MINUTE)  # ceiling division
            cost = costs.per_voice_minute * minutes
            return to_micros(cost, field="costs.per_voice_minute", exact=False)
        case _:  # a new channel has a cost of its own: mypy finds this line
            assert_never(request.channel)


async def reserve(
    conn: AsyncConnection, request: GateRequest, config: PolicyConfig, now: datetime
) -> Reservation:
    """Reserve the send's estimate against its budget, once per (run, step, visit)."""
    r = BUDGET_RESERVATIONS.c
    key = (r.run_id == request.run_id, r.step_id == request.step_id, r.visit == request.visit)
    existing = (await conn.execute(select(BUDGET_RESERVATIONS).where(*key))).mappings().first()
    if existing is not None and existing["status"] != "released":
        budget = await load(
            conn, existing["tenant"], existing["budget_name"], existing["period_start"]
        )
        return Reservation(True, existing["estimate_micros"], budget, replay=True)
    estimate = estimate_micros(request, config)
    day = request.at.astimezone(UTC).date()
    budget = await covering(conn, request.tenant, config.budget_name, day)
    if budget is None:
        if not config.budget_required:
            return Reservation(True, estimate, None)
        reason = f"tenant {request.tenant} has no budget {config.budget_name!r} covering {day}"
        return Reservation(False, estimate, None, reason=reason)
    if budget.currency != config.costs.currency:
        reason = (
            f"budget {budget.name!r} is in {budget.currency} but costs are estimated in "
            f"{config.costs.currency}: amounts are never converted"
        )
        return Reservation(False, estimate, budget, reason=reason)
    taken = await _take(conn, budget, estimate)
    if taken is None:
        # Read again: a concurrent reservation may have moved the numbers since.
        current = await load(conn, budget.tenant, budget.name, budget.period_start) or budget
        reason = (
            f"estimated cost {money_text(estimate)} {current.currency} would exceed budget "
            f"{current.name!r} ({current.period_start} to {current.period_end}): limit "
            f"{money_text(current.limit_micros)}, reserved {money_text(current.reserved_micros)}, "
            f"spent {money_text(current.spent_micros)}"
        )
        return Reservation(False, estimate, current, reason=reason)
    await _record(conn, request, existing is not None, taken, estimate, now)
    return Reservation(True, estimate, taken)


async def _take(conn: AsyncConnection, budget: BudgetRow, estimate: int) -> BudgetRow | None:
    """Add ``estimate`` to the reserved amount unless the limit would be exceeded."""
    b = BUDGETS.c
    statement = (
        update(BUDGETS)
        .where(
            *_budget_key(budget.tenant, budget.name, budget.period_start),
            b.reserved_micros + b.spent_micros + estimate <= b.limit_micros,
        )
        .values(reserved_micros=b.reserved_micros + estimate)
        .returning(*BUDGETS.c)
    )
    row = (await conn.execute(statement)).mappings().first()
    return None if row is None else _row(row)


async def _record(
    conn: AsyncConnection,
    request: GateRequest,
    exists: bool,
    budget: BudgetRow,
    estimate: int,
    now: datetime,
) -> None:
    """Write the reservation row of the send's key (new, or one released earlier)."""
    values = {
        "tenant": budget.tenant,
        "budget_name": budget.name,
        "period_start": budget.period_start,
        "estimate_micros": estimate,
        "actual_micros": None,
        "status": "reserved",
        "updated_at": now,
    }
    key = (request.run_id, request.step_id, request.visit)
    if not exists:
        await conn.execute(
            BUDGET_RESERVATIONS.insert().values(
                run_id=key[0], step_id=key[1], visit=key[2], created_at=now, **values
            )
        )
        return
    # Released earlier (a replay denied by an earlier policy, or a settled failed send).
    r = BUDGET_RESERVATIONS.c
    await conn.execute(
        update(BUDGET_RESERVATIONS)
        .where(r.run_id == key[0], r.step_id == key[1], r.visit == key[2])
        .values(**values)
    )


async def settle(
    conn: AsyncConnection,
    key: tuple[str, str, int],
    actual_micros: int | None,
    now: datetime,
) -> dict[str, Any] | None:
    """Commit ``actual_micros`` (or release, when ``None``) a ``reserved`` reservation.

    Returns:
        The settled reservation row, or ``None`` when no reservation of that key is
        ``reserved`` (the caller tells "unknown" from "already settled").
    """
    r = BUDGET_RESERVATIONS.c
    status = "released" if actual_micros is None else "committed"
    row = (
        (
            await conn.execute(
                update(BUDGET_RESERVATIONS)
                .where(
                    r.run_id == key[0],
                    r.step_id == key[1],
                    r.visit == key[2],
                    r.status == "reserved",
                )
                .values(status=status, actual_micros=actual_micros, updated_at=now)
                .returning(*BUDGET_RESERVATIONS.c)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    b = BUDGETS.c
    await conn.execute(
        update(BUDGETS)
        .where(*_budget_key(row["tenant"], row["budget_name"], row["period_start"]))
        .values(
            reserved_micros=b.reserved_micros - row["estimate_micros"],
            spent_micros=b.spent_micros + (actual_micros or 0),
        )
    )
    return dict(row)


async def settle_once(
    conn: AsyncConnection,
    key: tuple[str, str, int],
    actual_micros: int | None,
    now: datetime,
) -> dict[str, Any] | None:
    """``settle``, idempotently: settling again the same way returns the settled row.

    Returns:
        The settled reservation row; ``None`` when the key reserved nothing.

    Raises:
        SettlementConflict: The reservation was settled differently before.
    """
    settled = await settle(conn, key, actual_micros, now)
    if settled is not None:
        return settled
    r = BUDGET_RESERVATIONS.c
    query = select(BUDGET_RESERVATIONS).where(
        r.run_id == key[0], r.step_id == key[1], r.visit == key[2]
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    wanted = "released" if actual_micros is None else "committed"
    if (row["status"], row["actual_micros"]) != (wanted, actual_micros):
        amount = "" if row["actual_micros"] is None else f" at {money_text(row['actual_micros'])}"
        raise SettlementConflict(
            f"send {key[0]}/{key[1]}/{key[2]} is already {row['status']}{amount}; "
            f"it cannot be {wanted} now"
        )
    return dict(row)


async def covering(conn: AsyncConnection, tenant: str, name: str, day: date) -> BudgetRow | None:
    """The tenant's budget of this name whose period covers ``day``."""
    b = BUDGETS.c
    row = (
        (
            await conn.execute(
                select(BUDGETS)
                .where(
                    b.tenant == tenant, b.name == name, b.period_start <= day, b.period_end >= day
                )
                .order_by(b.period_start.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _row(row)


async def load(
    conn: AsyncConnection, tenant: str, name: str, period_start: date
) -> BudgetRow | None:
    """One budget by its key."""
    query = select(BUDGETS).where(*_budget_key(tenant, name, period_start))
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _row(row)


def _budget_key(tenant: str, name: str, period_start: date) -> tuple[Any, ...]:
    b = BUDGETS.c
    return (b.tenant == tenant, b.name == name, b.period_start == period_start)


def _row(row: Any) -> BudgetRow:
    return BudgetRow(**{name: row[name] for name in BudgetRow.__dataclass_fields__})


__all__ = [
    "BudgetRow",
    "Reservation",
    "covering",
    "estimate_micros",
    "load",
    "reserve",
    "settle",
    "settle_once",
]
