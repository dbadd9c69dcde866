"""Reading runs: ``Engine.get_run``, ``list_runs``, ``get_timeline`` and ``sends``.

A run is read from three places: its bookkeeping row (always), its live workflow (the
``state`` query, when a worker answers) and its Temporal execution's own status. The
last one matters when Temporal ended the execution from outside: the row is then
stale, and the run is reported ``DEAD`` with ``temporal_status`` and
``temporal_reason`` (``dee.runs.execution_status``). A run that had already completed or
been canceled before its execution died keeps that status; the two fields still say
what Temporal did.

A run an exit rule ended (an ``exit`` audit entry with the rule's outcome, see
``interpreter.machine``) reads ``COMPLETED`` with that outcome, and ``exit_rule`` says
which rule and which event ended it. An ``exit`` entry that only announces an exit
waiting for a send in flight (``inFlight``), or records a rule that failed to evaluate
(``error``), ends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import Client, RPCError, WorkflowExecutionStatus

from adapters.storage import (
    AuditStore,
    LedgerRow,
    RunRecord,
    RunStore,
    SendLedger,
    StoredEntry,
    UnknownRun,
)
from adapters.storage.run_facts import RunFacts, exit_of, fold
from dee.errors import EngineError
from dee.runs.execution_status import DEAD, Death, all_deaths, death_of, deaths
from dee.tenants import run_of
from interpreter.state import FINAL_STATUSES, Status
from workflows.plan_run import PlanRunWorkflow

FINAL = sorted(s.value for s in FINAL_STATUSES)
NOT_FINAL = sorted(s.value for s in Status if s not in FINAL_STATUSES)
_PLAN_SCAN = 10_000  # rows read to filter by plan (the run table has no plan index)


@dataclass(frozen=True, slots=True)
class ExecutionRun:
    """A run as the engine reports it.

    ``temporal_status`` and ``temporal_reason`` are set only when the run's Temporal
    execution ended abnormally: the Temporal status (``TERMINATED``, ``FAILED``,
    ``TIMED_OUT``, ``CANCELED``) and the termination reason, failure message or
    cancellation reason. ``status`` is then ``DEAD`` unless the run had already ended.
    ``exit_rule`` is set when an exit rule ended the run: the exit entry's detail (the
    rule's index, ``ruleEvent``/``ruleStep``/``when``, and the ``event`` that matched)
    and its ``tick``.

    One of three run types, one per boundary. This one is what the public API returns:
    the stored row (``adapters.storage.RunRecord``, mapped by ``from_record`` and
    nowhere else) plus what only a live read knows: the workflow's ``state`` view
    (status, step, ``next_wake_tick``) and Temporal's word on an execution that died.
    It is not a ``RunRecord`` subclass, so a ``DEAD`` run can never be handed to the
    store as a row to write, and storage's own fields (``facts_kept``) stay out of the
    API. The workflow's ``activities.contracts.RunRow`` reaches it only through the
    stored row.
    """

    run_id: str
    tenant: str
    plan_id: str
    plan_version: int
    contact_id: str
    status: str
    current_step: str | None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    outcome: str | None = None
    failure: Mapping[str, str] | None = None
    next_wake_tick: int | None = None
    temporal_status: str | None = None
    temporal_reason: str | None = None
    exit_rule: Mapping[str, Any] | None = None


def describe_exit(exit_rule: Mapping[str, Any]) -> str:
    """``exit rule 0 (event email.replied) on event email.replied (id e-1) at tick 10``."""
    said = [
        f"{name} {exit_rule[key]}"
        for name, key in (("event", "ruleEvent"), ("step", "ruleStep"), ("when", "when"))
        if key in exit_rule
    ]
    event = exit_rule.get("event")
    trigger = ""
    if isinstance(event, Mapping):
        extra = [
            f"{name} {event[k]}" for k, name in (("stepId", "step"), ("id", "id")) if k in event
        ]
        trigger = f" on event {event.get('type')}" + (f" ({', '.join(extra)})" if extra else "")
    return (
        f"exit rule {exit_rule.get('rule')} ({', '.join(said)}){trigger} "
        f"at tick {exit_rule.get('tick')}"
    )


def ended_refusal(run: ExecutionRun, action: str) -> EngineError | None:
    """The refusal of an operator ``action`` on ``run`` if it has ended, saying how: an
    operator who finds a run completed by an exit rule (an unsubscribe, say) learns which.
    """
    if run.status not in FINAL:
        return None
    how = f"the run is {run.status.lower()}"
    if run.outcome:
        how += f" with outcome {run.outcome!r}"
    if run.exit_rule:
        how += f", ended by {describe_exit(run.exit_rule)}"
    return EngineError([f"run {run.run_id}: {action} refused: {how}; no operator action applies"])


def from_record(record: RunRecord) -> ExecutionRun:
    """The stored row as the API reports it (the one ``RunRecord`` -> ``ExecutionRun``
    mapping); outcome, failure and exit are added by the reader where they apply."""
    return ExecutionRun(
        run_id=record.run_id,
        tenant=record.tenant,
        plan_id=record.plan_id,
        plan_version=record.plan_version,
        contact_id=record.contact_id,
        status=record.status,
        current_step=record.current_step,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def with_death(run: ExecutionRun, death: Death | None) -> ExecutionRun:
    if death is None:
        return run
    return replace(
        run,
        status=run.status if run.status in FINAL else DEAD,
        temporal_status=death.status,
        temporal_reason=death.reason,
    )


class RunReader:
    """Reads runs from storage and Temporal (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        runs: RunStore,
        audit: AuditStore,
        ledger: SendLedger,
        *,
        tenant: str = "default",
    ) -> None:
        # ``tenant``: the one tenant whose runs this reader sees; every read and (through
        # ``record``) every operator action on another tenant's run is an unknown run.
        self._client = client
        self._runs = runs
        self._audit = audit
        self._ledger = ledger
        self.tenant = tenant

    async def timeline(self, run_id: str) -> list[StoredEntry]:
        """The run's audit entries, oldest first.

        Raises:
            UnknownRunError: unknown run, or another tenant's.
        """
        await self.record(run_id)
        return await self._timeline(run_id)

    async def sends(self, run_id: str) -> list[LedgerRow]:
        """What the send ledger knows of a run's sends (intent, attempts, outcome).

        Raises:
            UnknownRunError: unknown run, or another tenant's.
        """
        await self.record(run_id)
        return await self._ledger.for_run(run_id)

    async def get_run(self, run_id: str) -> ExecutionRun:
        """The run's state: live from the workflow when a worker answers, else from storage.

        A run whose Temporal execution died (terminated, failed, timed out or canceled
        through Temporal) is ``DEAD``, with ``temporal_status`` and ``temporal_reason``.

        Raises:
            UnknownRunError: unknown run, or another tenant's.
        """
        record = await self.record(run_id)
        handle = self._client.get_workflow_handle_for(PlanRunWorkflow.run, run_id)
        try:
            description = await handle.describe()
        except RPCError:
            return await self._from_storage(record)  # not started yet, or the server is gone
        if description.status in (WorkflowExecutionStatus.COMPLETED, None):
            return await self._from_storage(record)  # its last state was persisted first
        if description.status != WorkflowExecutionStatus.RUNNING:
            death = await death_of(self._client, run_id, description)
            return with_death(await self._from_storage(record), death)
        try:
            view = await handle.query(PlanRunWorkflow.state, rpc_timeout=timedelta(seconds=2))
        except RPCError:
            return await self._from_storage(record)  # no worker to answer
        exited = None
        if view.status == "COMPLETED":  # closing: its exit entry may be stored already
            exited = _last_exit(await self._timeline(run_id))
        return replace(
            from_record(record),
            status=view.status,
            current_step=view.step_id,
            outcome=view.outcome,
            failure=view.failure,
            next_wake_tick=view.next_wake_tick,
            exit_rule=exited,
        )

    async def list_runs(
        self,
        *,
        status: str | None = None,
        plan: str | None = None,
        limit: int = 100,
        outcomes: bool = False,
    ) -> list[ExecutionRun]:
        """Runs newest first, as stored, with the dead ones reported dead.

        ``status=DEAD`` lists the runs whose execution died. Another status lists the
        runs stored with it, less the dead ones, reading further rows to fill ``limit``.
        ``outcomes`` gives each completed or failed run's outcome, failure and exit, as
        its row keeps them (a row older than revision 0008: read from its audit chain).

        Raises:
            EngineError: Temporal could not be asked about the runs' executions.
        """
        try:
            if status == DEAD:
                return await self._dead(plan, limit)
            fetch = limit
            while True:
                records = await self._records(status, plan, fetch)
                found = await deaths(self._client, [r.run_id for r in records])
                runs = [with_death(from_record(r), found.get(r.run_id)) for r in records]
                kept = [r for r in runs if status is None or r.status == status]
                if len(kept) >= limit or len(records) < fetch:
                    break
                fetch *= 2  # dead runs left the page: read further
        except RPCError as exc:
            raise EngineError(
                [f"cannot ask Temporal whether the runs' executions still live: {exc.message}"]
            ) from None
        if not outcomes:
            return kept[:limit]
        # One at a time: a gather would queue on the database's small connection pool.
        rows = {r.run_id: r for r in records}
        return [await self._read_back(run, rows[run.run_id]) for run in kept[:limit]]

    async def _records(self, status: str | None, plan: str | None, limit: int) -> list[RunRecord]:
        fetch = limit if plan is None else _PLAN_SCAN
        records = await self._runs.list(tenant=self.tenant, status=status, limit=fetch)
        if plan is not None:
            records = [r for r in records if r.plan_id == plan][:limit]
        return records

    async def _dead(self, plan: str | None, limit: int) -> list[ExecutionRun]:
        found = await all_deaths(self._client)
        if found is None:  # no visibility: describe every run that has not ended
            active = await self._runs.list(tenant=self.tenant, statuses=NOT_FINAL, limit=None)
            found = await deaths(self._client, [r.run_id for r in active])
        records: list[RunRecord] = []
        for run_id in found:
            try:
                record = await self._runs.get(run_id)
            except UnknownRun:
                continue  # another deployment's run in the same namespace
            if record.tenant == self.tenant:  # another tenant's: not this reader's to list
                records.append(record)
        records.sort(key=lambda r: r.run_id)
        records.sort(key=_created, reverse=True)
        runs = [with_death(from_record(r), found[r.run_id]) for r in records]
        return [r for r in runs if r.status == DEAD and plan in (None, r.plan_id)][:limit]

    async def _from_storage(self, record: RunRecord) -> ExecutionRun:
        """The stored row, with outcome, failure and exit read back from the audit chain."""
        return await self._read_back(from_record(record), record)

    async def _read_back(self, run: ExecutionRun, record: RunRecord) -> ExecutionRun:
        """``run`` with its outcome, failure and exit if it completed or failed: from its
        row, or for a row older than revision 0008, folded from its audit chain."""
        if run.status not in ("COMPLETED", "FAILED"):
            return run
        if record.facts_kept:
            facts = RunFacts(record.outcome, record.failure, record.exit_rule)
        else:
            facts = fold(await self._timeline(run.run_id))
        return replace(run, outcome=facts.outcome, failure=facts.failure, exit_rule=facts.exit_rule)

    async def _timeline(self, run_id: str) -> list[StoredEntry]:
        try:
            return await self._audit.timeline(run_id)
        except UnknownRun:
            return []

    async def record(self, run_id: str) -> RunRecord:
        """The run's row, if it is this reader's tenant's.

        Raises:
            UnknownRunError: unknown run, or another tenant's (the same error: see
                ``dee.errors.UnknownRunError``).
        """
        return await run_of(self._runs, self.tenant, run_id)


def _last_exit(timeline: Sequence[StoredEntry]) -> dict[str, Any] | None:
    found = [e for e in map(exit_of, timeline) if e is not None]
    return found[-1] if found else None


def _created(record: RunRecord) -> float:
    return record.created_at.timestamp() if record.created_at is not None else 0.0


__all__ = [
    "FINAL",
    "NOT_FINAL",
    "ExecutionRun",
    "RunReader",
    "describe_exit",
    "ended_refusal",
    "exit_of",
    "from_record",
    "with_death",
]
