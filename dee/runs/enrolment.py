"""Bulk enrolment: one plan, many contacts (``RunStarter.execute_many``, ``dee start --contacts``).

What ``Engine.execute`` does once per run is done once per batch here: the plan is
validated and registered once, the workflow starts go out concurrently, and the run
rows are written in one transaction after the starts (start first, then record, as
``execute`` does: a failed start leaves no row). The runs come back as recorded
(``PENDING``) without asking each new workflow for its state, which would cost a
worker round trip per contact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from temporalio.client import Client

from adapters.storage import RunRecord, RunStore, StorageError
from dee.errors import EngineError
from dee.runs import start_values
from dee.runs.ids import run_id
from dee.runs.reading import ExecutionRun, from_record
from dee.runs.start_payload import InputEncoder
from interpreter import ExecutionPlan

# Starts in flight at once: enough to keep the frontend busy without a burst of
# thousands of open requests from one client.
CONCURRENCY = 64


class Starts(Protocol):
    """What a bulk enrolment needs of a single start (``dee.runs.starter.RunStarter``)."""

    @property
    def client(self) -> Client: ...

    @property
    def runs(self) -> RunStore: ...

    async def register_plan(self, plan: ExecutionPlan) -> None: ...

    async def existing_run(self, run_id: str, record: RunRecord) -> ExecutionRun | None: ...

    async def start_run(
        self,
        run_id: str,
        tenant: str,
        plan: ExecutionPlan,
        contact: dict[str, Any],
        variables: dict[str, Any],
        start_at: datetime | None = None,
        *,
        plan_hash: str | None = None,
        encoder: InputEncoder | None = None,
    ) -> None: ...


async def enrol(
    starts: Starts,
    plan: ExecutionPlan,
    contacts: Sequence[Mapping[str, Any]],
    *,
    variables: Mapping[str, Any] | None,
    idempotency_key: str | None,
    tenant: str,
    on_started: Callable[[], None] | None,
) -> list[ExecutionRun | EngineError]:
    """Start ``plan`` for every contact; one outcome per contact, in order.

    With an ``idempotency_key`` each contact's run is keyed ``<key>:<contact id>``, so
    repeating the call starts nothing twice. A contact that cannot start gets an
    ``EngineError`` in its place; the others still start.

    Raises:
        EngineError: the plan is invalid or cannot be registered (nothing starts).
    """
    start_values.check(variables or {}, "variables")  # shared by all: refuse them all
    start_values.check_limits(tenant=tenant, variables=variables or {})
    await starts.register_plan(plan)
    # Made once: a sha256 and a pydantic dump of the whole plan each time.
    digest, document = plan.content_hash, plan.to_document()
    encoder = InputEncoder(starts.client.data_converter, document)
    gate = asyncio.Semaphore(CONCURRENCY)
    fresh: list[RunRecord] = []

    async def one(contact: Mapping[str, Any]) -> ExecutionRun | EngineError:
        contact_id = contact.get("id")
        if not isinstance(contact_id, str) or not contact_id:
            return EngineError(["contact: a contact needs a non-empty string 'id'"])
        bad = start_values.problem(contact, "contact")
        if bad is not None:
            return EngineError([bad])
        past = start_values.limit_problems(contact=contact)
        if past:
            return EngineError(past)
        try:
            contact = start_values.start_contact(contact)
        except EngineError as exc:
            return exc
        key = None if idempotency_key is None else f"{idempotency_key}:{contact_id}"
        new_id = run_id(tenant, plan.id, key)
        record = RunRecord(new_id, tenant, plan.id, plan.version, contact_id, "PENDING")
        try:
            async with gate:
                if key is not None:
                    existing = await starts.existing_run(new_id, record)
                    if existing is not None:
                        return existing
                await starts.start_run(
                    new_id,
                    tenant,
                    plan,
                    dict(contact),
                    dict(variables or {}),
                    plan_hash=digest,
                    encoder=encoder,
                )
        except EngineError as exc:
            return exc
        fresh.append(record)
        if on_started is not None:
            on_started()
        return from_record(record)

    outcomes = await asyncio.gather(*(one(c) for c in contacts))
    try:
        await starts.runs.create_many(fresh)
    except StorageError as exc:  # started, but not listed until their first activity
        raise EngineError([f"started {len(fresh)} runs but could not record them: {exc}"]) from None
    return list(outcomes)
