"""Operator actions on the policy data: consent, suppressions, budgets, settlements.

Boundary: validates operator input (errors name the field), writes the policy tables of
``adapters.storage``, and returns plain records (``records``). The ``dee`` CLI and the
``Engine`` call this; the gate reads what it writes.

Daily limits are not here: the schema has no table to persist them in, so they live in
``PolicyConfig`` until one exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy import budget as budgets
from adapters.policy import limits
from adapters.policy import records as check
from adapters.policy.config import CHANNELS
from adapters.policy.errors import PolicyInputError, UnknownSuppression
from adapters.policy.keys import id_key, normalize_key
from adapters.policy.money import from_micros, to_micros
from adapters.policy.records import BudgetStatus, ConsentEntry, Settlement, SuppressionEntry
from adapters.policy.tables import BUDGETS, CONSENT, SUPPRESSIONS, upsert
from adapters.storage.database import Database


class PolicyAdmin:
    """Consent, suppression and budget administration over one database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def grant_consent(
        self,
        tenant: str,
        contact_id: str,
        channel: str,
        source: str,
        wording_version: str,
        at: datetime | None = None,
        *,
        detail: Mapping[str, Any] | None = None,
    ) -> ConsentEntry:
        """Record an opt-in: who agreed, where (``source``), to which wording, when (``at``)."""
        wording = check.text("wording_version", wording_version)
        return await self._consent(
            "opted_in", tenant, contact_id, channel, source, wording, at, detail
        )

    async def revoke_consent(
        self,
        tenant: str,
        contact_id: str,
        channel: str,
        source: str,
        at: datetime | None = None,
        *,
        wording_version: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> ConsentEntry:
        """Record an opt-out; it denies in every consent mode until a newer opt-in."""
        wording = (
            None if wording_version is None else check.text("wording_version", wording_version)
        )
        return await self._consent(
            "opted_out", tenant, contact_id, channel, source, wording, at, detail
        )

    async def _consent(
        self,
        status: str,
        tenant: str,
        contact_id: str,
        channel: str,
        source: str,
        wording_version: str | None,
        at: datetime | None,
        detail: Mapping[str, Any] | None,
    ) -> ConsentEntry:
        entry = ConsentEntry(
            tenant=check.text("tenant", tenant),
            contact_id=id_key(check.text("contact_id", contact_id)),
            channel=check.channel("channel", channel),
            status=status,
            source=check.text("source", source),
            wording_version=wording_version,
            recorded_at=check.instant("at", at),
        )
        async with self._db.transaction() as conn:
            await conn.execute(CONSENT.insert().values(**_fields(entry), detail=dict(detail or {})))
        return entry

    async def suppress(
        self,
        tenant: str,
        scope: str,
        scope_key: str | None,
        contact_key: str,
        reason: str,
        source: str,
        expires_at: datetime | None = None,
        *,
        at: datetime | None = None,
    ) -> SuppressionEntry:
        """Add a suppression, or replace the reason, source and expiry of an existing one.

        Args:
            tenant: The tenant.
            scope: ``global``, ``channel`` or ``plan``.
            scope_key: ``None``/``""`` for global, the channel, or the plan id.
            contact_key: A contact id, e-mail address (exactly one mailbox) or phone
                number (``+`` and country code), stored in canonical form
                (``keys.normalize_key``).
            reason: Why (shown in the denial).
            source: Who or what asked (operator, bounce, complaint, reply-stop ...).
            expires_at: When it stops applying; ``None`` for never.
            at: When it was added (default: now).
        """
        scope, scope_key = check.scope(scope, scope_key)
        entry = SuppressionEntry(
            tenant=check.text("tenant", tenant),
            scope=scope,
            scope_key=scope_key,
            contact_key=normalize_key(check.text("contact_key", contact_key)),
            reason=check.text("reason", reason, check.REASON_MAX),
            source=check.text("source", source),
            created_at=check.instant("at", at),
            expires_at=None if expires_at is None else check.instant("expires_at", expires_at),
        )
        insert = upsert(self._db.dialect, SUPPRESSIONS).values(**_fields(entry))
        statement = insert.on_conflict_do_update(
            index_elements=["tenant", "scope", "scope_key", "contact_key"],
            set_={
                "reason": insert.excluded.reason,
                "source": insert.excluded.source,
                "expires_at": insert.excluded.expires_at,
            },
        ).returning(*SUPPRESSIONS.c)
        async with self._db.transaction() as conn:
            row = (await conn.execute(statement)).mappings().one()
        return _suppression(row)

    async def unsuppress(
        self, tenant: str, scope: str, scope_key: str | None, contact_key: str
    ) -> SuppressionEntry:
        """Remove a suppression and return it.

        Raises:
            UnknownSuppression: None is stored under that tenant, scope and key.
        """
        tenant = check.text("tenant", tenant)
        scope, scope_key = check.scope(scope, scope_key)
        key = normalize_key(check.text("contact_key", contact_key))
        s = SUPPRESSIONS.c
        statement = (
            delete(SUPPRESSIONS)
            .where(
                s.tenant == tenant, s.scope == scope, s.scope_key == scope_key, s.contact_key == key
            )
            .returning(*SUPPRESSIONS.c)
        )
        async with self._db.transaction() as conn:
            row = (await conn.execute(statement)).mappings().first()
        if row is None:
            where = f"{scope} {scope_key}" if scope_key else scope
            raise UnknownSuppression(f"tenant {tenant}: {key} is not suppressed ({where})")
        return _suppression(row)

    async def list_suppressions(
        self,
        tenant: str,
        *,
        scope: str | None = None,
        contact_key: str | None = None,
        active_at: datetime | None = None,
    ) -> list[SuppressionEntry]:
        """A tenant's suppressions, optionally filtered; ``active_at`` hides expired ones."""
        s = SUPPRESSIONS.c
        query = select(SUPPRESSIONS).where(s.tenant == check.text("tenant", tenant))
        if scope is not None:
            query = query.where(s.scope == check.scope_name(scope))
        if contact_key is not None:
            key = normalize_key(check.text("contact_key", contact_key))
            query = query.where(s.contact_key == key)
        if active_at is not None:
            moment = check.instant("active_at", active_at)
            query = query.where(s.expires_at.is_(None) | (s.expires_at > moment))
        query = query.order_by(s.scope, s.scope_key, s.contact_key)
        async with self._db.snapshot() as conn:
            return [_suppression(row) for row in (await conn.execute(query)).mappings()]

    async def set_daily_limit(self, tenant: str, channel: str, limit: int | None) -> int | None:
        """Store a daily send limit for the tenant's channel; ``None`` clears it.

        A stored limit overrides the configured one from the next decision on;
        after clearing, the configuration decides again. Returns the limit stored.
        """
        tenant = check.text("tenant", tenant)
        if channel not in CHANNELS:
            raise PolicyInputError("channel", f"{channel!r} is not one of {', '.join(CHANNELS)}")
        async with self._db.transaction() as conn:
            if limit is None:
                await limits.clear_limit(conn, tenant, channel)
                return None
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise PolicyInputError("limit", f"must be an integer >= 0, got {limit!r}")
            await limits.store_limit(
                conn, self._db.dialect, tenant, channel, limit, datetime.now(UTC)
            )
        return limit

    async def daily_limit(self, tenant: str, channel: str) -> int | None:
        """The stored limit for the tenant's channel (``None``: configuration decides)."""
        async with self._db.snapshot() as conn:
            return await limits.stored_limit(conn, tenant, channel)

    async def set_budget(
        self,
        tenant: str,
        name: str,
        period_start: date,
        period_end: date,
        currency: str,
        limit: Decimal,
    ) -> BudgetStatus:
        """Create a budget, or change the end, currency or limit of an existing one.

        The period includes both ends; one tenant's budgets of one name may not overlap
        (a send must find exactly one). The currency cannot change once money is
        reserved or spent against the budget. Lowering the limit below what is used
        is allowed: it refuses further sends.

        Raises:
            PolicyInputError: A bad value, an overlapping period, or a currency change.
        """
        tenant, name = check.text("tenant", tenant), check.text("name", name)
        start, end = check.day("period_start", period_start), check.day("period_end", period_end)
        if end < start:
            raise PolicyInputError("period_end", f"{end} is before period_start {start}")
        currency = check.currency(currency)
        limit_micros = to_micros(limit, field="limit")
        async with self._db.transaction() as conn:
            await self._check_budget_change(conn, tenant, name, start, end, currency)
            insert = upsert(self._db.dialect, BUDGETS).values(
                tenant=tenant,
                name=name,
                period_start=start,
                period_end=end,
                currency=currency,
                limit_micros=limit_micros,
                reserved_micros=0,
                spent_micros=0,
            )
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["tenant", "name", "period_start"],
                    set_={
                        "period_end": insert.excluded.period_end,
                        "currency": insert.excluded.currency,
                        "limit_micros": insert.excluded.limit_micros,
                    },
                )
            )
            stored = await budgets.load(conn, tenant, name, start)
        assert stored is not None  # written in this transaction
        return _budget(stored)

    @staticmethod
    async def _check_budget_change(
        conn: AsyncConnection, tenant: str, name: str, start: date, end: date, currency: str
    ) -> None:
        b = BUDGETS.c
        overlapping = await conn.execute(
            select(b.period_start, b.period_end).where(
                b.tenant == tenant,
                b.name == name,
                b.period_start != start,
                b.period_start <= end,
                b.period_end >= start,
            )
        )
        other = overlapping.first()
        if other is not None:
            raise PolicyInputError(
                "period_start",
                f"budget {name!r} of tenant {tenant} already covers {other.period_start} to "
                f"{other.period_end}; periods may not overlap",
            )
        current = await budgets.load(conn, tenant, name, start)
        used = current is not None and current.reserved_micros + current.spent_micros > 0
        if current is not None and used and current.currency != currency:
            raise PolicyInputError(
                "currency",
                f"budget {name!r} holds amounts in {current.currency}; its currency cannot change",
            )

    async def get_budget(self, tenant: str, name: str, on: date) -> BudgetStatus | None:
        """The tenant's budget of this name whose period covers the day ``on``, if any."""
        async with self._db.snapshot() as conn:
            found = await budgets.covering(conn, tenant, name, check.day("on", on))
        return None if found is None else _budget(found)

    async def settle_budget(
        self, run_id: str, step_id: str, visit: int, actual: Decimal | None
    ) -> Settlement | None:
        """After a send: commit its actual cost, or release its estimate (``None``).

        Idempotent: settling again the same way returns the same settlement.

        Returns:
            The settlement, or ``None`` when the send reserved nothing (no budget applied).

        Raises:
            SettlementConflict: Already settled differently.
        """
        actual_micros = None if actual is None else to_micros(actual, field="actual", exact=False)
        if isinstance(visit, bool) or not isinstance(visit, int) or visit < 0:
            raise PolicyInputError("visit", f"must be an integer >= 0, got {visit!r}")
        key = (check.text("run_id", run_id), check.text("step_id", step_id), visit)
        async with self._db.transaction() as conn:
            row = await budgets.settle_once(conn, key, actual_micros, datetime.now(UTC))
            if row is None:
                return None
            stored = await budgets.load(
                conn, row["tenant"], row["budget_name"], row["period_start"]
            )
        assert stored is not None  # a reservation's budget exists (foreign key)
        return Settlement(
            run_id=key[0],
            step_id=key[1],
            visit=visit,
            status=row["status"],
            estimate=from_micros(row["estimate_micros"]),
            actual=None if row["actual_micros"] is None else from_micros(row["actual_micros"]),
            budget=_budget(stored),
        )


def _fields(entry: ConsentEntry | SuppressionEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}


def _suppression(row: Any) -> SuppressionEntry:
    return SuppressionEntry(**{name: row[name] for name in SuppressionEntry.__dataclass_fields__})


def _budget(row: budgets.BudgetRow) -> BudgetStatus:
    return BudgetStatus(
        tenant=row.tenant,
        name=row.name,
        period_start=row.period_start,
        period_end=row.period_end,
        currency=row.currency,
        limit=from_micros(row.limit_micros),
        reserved=from_micros(row.reserved_micros),
        spent=from_micros(row.spent_micros),
    )


__all__ = ["PolicyAdmin"]
