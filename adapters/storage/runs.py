"""Run bookkeeping: which plan version a run follows for which contact, and its status.

Boundary: a queryable mirror of run state for listings and operators. The run's
truth is its workflow and its audit chain; this table is what lists and filters
read without asking Temporal.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, exc, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.storage.database import Database
from adapters.storage.errors import StorageError, UnknownRun
from adapters.storage.run_facts import RunFacts
from adapters.storage.schema import Run

RUNS = cast(Table, Run.__table__)
_IDENTITY = ("tenant", "plan_id", "plan_version", "contact_id")
# Rows per executemany call: bounds the memory one call holds.
_BATCH = 500
_FACTS = ("outcome", "failure", "exit_rule")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run's bookkeeping row. Timestamps are set by the store.

    ``outcome``, ``failure`` and ``exit_rule`` say how the run ended
    (``adapters.storage.run_facts``); only the workflow's persist writes them, through
    ``upsert_in``'s ``facts``. ``facts_kept`` is false on rows written before revision
    0008, which hold none of them.

    One of three run types, one per boundary. This one is the table's row: storage
    imports neither ``activities`` nor ``dee``, so it cannot share the workflow's
    ``activities.contracts.RunRow`` (frozen by recorded histories, no timestamps) or
    the public ``dee.runs.reading.ExecutionRun`` (which adds what a live read knows,
    and a ``DEAD`` status no row stores). The mappings, one function each:
    ``activities.bookkeeping.record_of`` (``RunRow`` to this) and
    ``dee.runs.reading.from_record`` (this to ``ExecutionRun``).
    """

    run_id: str
    tenant: str
    plan_id: str
    plan_version: int
    contact_id: str
    status: str
    current_step: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    outcome: str | None = None
    failure: dict[str, str] | None = None
    exit_rule: dict[str, Any] | None = None
    facts_kept: bool = True


class RunStore:
    """Insert-or-update and read run bookkeeping rows."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def database(self) -> Database:
        return self._db

    async def upsert(self, record: RunRecord) -> RunRecord:
        """Create the run, or update its status and current step.

        A run's identity (tenant, plan id and version, contact) never changes.

        Raises:
            StorageError: The run exists with a different identity, or its plan
                version is not stored (a run refers to a published plan).
        """
        async with self._db.transaction() as conn:
            return await self.upsert_in(conn, record)

    async def upsert_in(
        self, conn: AsyncConnection, record: RunRecord, facts: RunFacts | None = None
    ) -> RunRecord:
        """``upsert`` inside the caller's transaction (the audit append shares it).

        ``facts``: what the entries stored with the row decide of how the run ended;
        the facts they do not decide keep their stored values.
        """
        decided = tuple(n for n in _FACTS if facts is not None and n in facts.decided)
        values = _values(record)
        if facts is not None:
            values.update({n: getattr(facts, n) for n in decided})
        try:
            row = (
                (await conn.execute(_upsert(self._db.dialect, decided), values)).mappings().first()
            )
        except exc.IntegrityError as error:
            # The foreign key to plans is the only constraint a well-formed row can
            # break; checking it here instead of reading first saves a round trip.
            if "foreign key" not in str(error.orig).lower():
                raise
            raise StorageError(
                f"run {record.run_id}: plan {record.plan_id} version {record.plan_version} "
                "is not stored; store the plan before its runs"
            ) from None
        if row is None:
            stored = _record(await _row(conn, record.run_id))
            differing = [n for n in _IDENTITY if getattr(stored, n) != getattr(record, n)]
            raise StorageError(
                f"run {record.run_id} exists with a different {', '.join(differing)}: "
                "a run's tenant, plan and contact never change"
            )
        return _record(row)

    async def create_many(self, records: Sequence[RunRecord]) -> None:
        """Record many new runs in one transaction (a bulk enrolment's starts).

        Like ``create``, never changes a stored row; the caller derived every run id
        freshly or checked it first, so a conflict means the row is already right.
        """
        if not records:
            return
        dialect_insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        # One single-row statement with a list of parameter sets: the driver's
        # executemany (batched by SQLAlchemy's insertmanyvalues), instead of compiling a
        # multi-row VALUES statement per batch, which cost ~0.5 ms a row when measured.
        statement = dialect_insert(RUNS).on_conflict_do_nothing(index_elements=["run_id"])
        async with self._db.transaction() as conn:
            for start in range(0, len(records), _BATCH):
                await conn.execute(statement, [_values(r) for r in records[start : start + _BATCH]])

    async def create(self, record: RunRecord) -> RunRecord:
        """Record a new run unless it is already recorded (then return what is stored).

        Never changes a stored row: the run's workflow may already have written a later
        status than the caller's (it starts before its starter records it).

        Raises:
            StorageError: The run exists with a different identity, or its plan version
                is not stored.
        """
        dialect_insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        values = _values(record)
        async with self._db.transaction() as conn:
            await conn.execute(
                dialect_insert(RUNS)
                .values(values)
                .on_conflict_do_nothing(index_elements=["run_id"])
            )
        stored = await self.get(record.run_id)
        differing = [n for n in _IDENTITY if getattr(stored, n) != getattr(record, n)]
        if differing:
            raise StorageError(
                f"run {record.run_id} exists with a different {', '.join(differing)}: "
                "a run's tenant, plan and contact never change"
            )
        return stored

    async def get(self, run_id: str) -> RunRecord:
        """A run's bookkeeping row.

        Raises:
            UnknownRun: No run with this id is recorded.
        """
        async with self._db.snapshot() as conn:
            row = await _row(conn, run_id)
        if row is None:
            raise UnknownRun(run_id, what="no run record exists for it")
        return _record(row)

    async def list(
        self,
        *,
        tenant: str | None = None,
        status: str | None = None,
        statuses: Sequence[str] | None = None,
        contact_id: str | None = None,
        limit: int | None = 100,
    ) -> list[RunRecord]:
        """Runs, newest first, filtered by tenant, status(es) and contact; ``limit=None``: all."""
        query = select(RUNS)
        if tenant is not None:
            query = query.where(RUNS.c.tenant == tenant)
        if status is not None:
            query = query.where(RUNS.c.status == status)
        if statuses is not None:
            query = query.where(RUNS.c.status.in_(list(statuses)))
        if contact_id is not None:
            query = query.where(RUNS.c.contact_id == contact_id)
        query = query.order_by(RUNS.c.created_at.desc(), RUNS.c.run_id)
        if limit is not None:
            query = query.limit(limit)
        async with self._db.snapshot() as conn:
            return [_record(row) for row in (await conn.execute(query)).mappings()]

    async def count_by_tenant(self, status: str) -> dict[str, int]:
        """How many runs are in ``status``, per tenant (the FAILED-runs gauge)."""
        query = (
            select(RUNS.c.tenant, func.count())
            .where(RUNS.c.status == status)
            .group_by(RUNS.c.tenant)
        )
        async with self._db.snapshot() as conn:
            return {tenant: n for tenant, n in (await conn.execute(query)).all()}


@functools.cache
def _upsert(dialect: str, decided: tuple[str, ...]) -> Any:
    """Insert the run, or update its status, step and ``decided`` facts when its identity
    matches.

    Built once per dialect and set of facts, and executed with each row's values:
    building it per call (its ``excluded`` column proxies) cost more than the
    statement's round trip.
    """
    insert_run = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RUNS)
    updated = ("status", "current_step", "updated_at", *decided)
    return insert_run.on_conflict_do_update(
        index_elements=["run_id"],
        set_={name: insert_run.excluded[name] for name in updated},
        where=(RUNS.c.tenant == insert_run.excluded.tenant)
        & (RUNS.c.plan_id == insert_run.excluded.plan_id)
        & (RUNS.c.plan_version == insert_run.excluded.plan_version)
        & (RUNS.c.contact_id == insert_run.excluded.contact_id),
    ).returning(*RUNS.c)


def _values(record: RunRecord) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "run_id": record.run_id,
        "tenant": record.tenant,
        "plan_id": record.plan_id,
        "plan_version": record.plan_version,
        "contact_id": record.contact_id,
        "status": record.status,
        "current_step": record.current_step,
        "created_at": now,
        "updated_at": now,
        "outcome": None,
        "failure": None,
        "exit_rule": None,
        "facts_kept": True,
    }


async def _row(conn: AsyncConnection, run_id: str) -> Any:
    """The run's row as a mapping, or None."""
    return (await conn.execute(select(RUNS).where(RUNS.c.run_id == run_id))).mappings().first()


def _record(row: Any) -> RunRecord:
    return RunRecord(**{name: row[name] for name in RunRecord.__dataclass_fields__})


__all__ = ["RunRecord", "RunStore"]
