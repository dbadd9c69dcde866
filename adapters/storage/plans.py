"""The plan store: published plan versions, immutable once stored.

Boundary: storage of plan bodies by ``(tenant, id, version)`` (revision 0014). A store
is bound to one tenant: it stores, reads and lists only that tenant's plans, and another
tenant's plan id is to it exactly an unknown one (docs/tenants.md). Validation is the
caller's job (``interpreter.validate``); a database trigger refuses UPDATE and DELETE on
the table, so immutability does not rest on this code alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.database import Database
from adapters.storage.errors import PlanConflict, StorageError, UnknownPlan
from adapters.storage.schema import Plan
from interpreter.errors import PlanError
from interpreter.loading import parse_plan
from interpreter.plan import ExecutionPlan

PLANS = cast(Table, Plan.__table__)


# The tenant of an engine configured with none (``EngineConfig.tenant``).
DEFAULT_TENANT = "default"


class PlanStore:
    """One tenant's published plans by ``(id, version)``."""

    def __init__(self, database: Database, tenant: str = DEFAULT_TENANT) -> None:
        self._db = database
        self.tenant = tenant

    def _mine(self, plan_id: str) -> list[ColumnElement[bool]]:
        return [PLANS.c.tenant == self.tenant, PLANS.c.plan_id == plan_id]

    async def put(self, plan: ExecutionPlan) -> bool:
        """Store a plan version; return ``True`` if it was new.

        Storing the identical body again is a no-op (``False``).

        Raises:
            PlanConflict: A different body is stored under this ``(id, version)``.
        """
        dialect_insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(PLANS)
            .values(
                tenant=self.tenant,
                plan_id=plan.id,
                version=plan.version,
                name=plan.name,
                content_hash=plan.content_hash,
                body=plan.to_document(),
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["tenant", "plan_id", "version"])
        )
        async with self._db.transaction() as conn:
            inserted = (await conn.execute(statement)).rowcount == 1
            if inserted:
                return True
            stored = (
                await conn.execute(
                    select(PLANS.c.content_hash).where(
                        *self._mine(plan.id), PLANS.c.version == plan.version
                    )
                )
            ).scalar_one()
        if stored != plan.content_hash:
            raise PlanConflict(
                f"plan {plan.id} version {plan.version} is already stored with content {stored}; "
                f"this body is {plan.content_hash}. Plans are immutable: publish a new version."
            )
        return False

    async def get(self, plan_id: str, version: int | None = None) -> ExecutionPlan:
        """A stored plan; the newest version when ``version`` is ``None``.

        Raises:
            UnknownPlan: No such plan (version) is stored.
        """
        query = select(PLANS.c.version, PLANS.c.body).where(*self._mine(plan_id))
        if version is not None:
            query = query.where(PLANS.c.version == version)
        async with self._db.snapshot() as conn:
            row = (await conn.execute(query.order_by(PLANS.c.version.desc()).limit(1))).first()
        if row is None:
            which = f"plan {plan_id!r}" + (f" version {version}" if version is not None else "")
            raise UnknownPlan(f"unknown plan: {which} is not stored")
        try:
            return parse_plan(row.body, source=f"stored plan {plan_id} v{row.version}")
        except PlanError as exc:
            # Only possible if the plan model changed incompatibly since it was stored.
            raise StorageError(
                f"stored plan {plan_id} v{row.version} no longer parses: {exc}"
            ) from None

    async def content_hash(self, plan_id: str, version: int) -> str:
        """The stored content hash of a plan version.

        Raises:
            UnknownPlan: No such plan version is stored.
        """
        query = select(PLANS.c.content_hash).where(*self._mine(plan_id), PLANS.c.version == version)
        async with self._db.snapshot() as conn:
            found = (await conn.execute(query)).scalar_one_or_none()
        if found is None:
            raise UnknownPlan(f"unknown plan: plan {plan_id!r} version {version} is not stored")
        return str(found)

    async def versions(self, plan_id: str) -> list[int]:
        """The stored versions of a plan, ascending (empty when none)."""
        async with self._db.snapshot() as conn:
            rows = await conn.execute(
                select(PLANS.c.version).where(*self._mine(plan_id)).order_by(PLANS.c.version)
            )
            return list(rows.scalars())


__all__ = ["DEFAULT_TENANT", "PlanStore"]
