"""Operator actions over many runs at once: ``Engine.bulk``.

A wave of FAILED runs after an outage is one command, not hundreds: select runs with
a ``RunFilter`` (``dee.runs.run_filter``), look at the count and a sample (a dry run,
the default), then act. Each selected run gets the very operator action ``dee run
retry RUN_ID`` would give it (``OperatorActions``), so each is validated by its run and
audited on its own chain as today, with the caller's ``by`` and ``reason``.

A run that changed between the listing and the action (retried by someone else,
ended by an exit rule, already paused) is refused by its run, and that refusal is
that run's outcome: the batch goes on. Two operators retrying the same wave at once
cannot retry a run twice, because the run's own update validator refuses a retry of a
run that is no longer failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import get_args

from temporalio.client import Client
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError, RPCStatusCode

from adapters.storage import AuditStore, RunRecord, RunStore, StorageError, UnknownRun
from adapters.storage.run_facts import fold
from dee.errors import DeeError, EngineError, EngineUnavailable
from dee.runs.operator import Action, OperatorActions
from dee.runs.reading import ExecutionRun, from_record
from dee.runs.run_filter import RunFilter
from interpreter.limits import operator_problems

ACTIONS: tuple[Action, ...] = get_args(Action)
RESOLUTIONS = ("skip", "end", "mark_sent")
CONCURRENCY = 8
MAX_CONCURRENCY = 64  # past this the database's connection pool is the queue anyway
SAMPLE = 10


@dataclass(frozen=True, slots=True)
class BulkRequest:
    """What is done to each run, as the single-run actions take it: ``by`` and
    ``reason`` are audited; ``resend`` applies to ``retry``; ``resolution`` (``skip``,
    ``end``, ``mark_sent``) and ``target`` (the step or the outcome) to ``resolve``."""

    by: str = "operator"
    reason: str = ""
    resend: bool = False
    resolution: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """One run's outcome: ``ok``, with the run's ``status`` after the action, or the
    run's refusal in ``error``."""

    run_id: str
    action: str
    ok: bool
    error: str | None = None
    status: str | None = None

    def as_json(self) -> dict[str, object]:
        """The outcome as ``dee runs ACTION --yes`` prints it, one JSON line per run."""
        shown: dict[str, object] = {"runId": self.run_id, "action": self.action, "ok": self.ok}
        shown["error"] = self.error
        if self.status is not None:
            shown["status"] = self.status
        return shown


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk action selected and, unless ``dry_run``, what it did to each run.

    ``count`` runs matched; ``sample`` is the first of them (newest first) as stored;
    ``outcomes`` holds one ``BulkOutcome`` per selected run in selection order (empty
    on a dry run).
    """

    action: str
    dry_run: bool
    count: int
    sample: Sequence[ExecutionRun]
    outcomes: Sequence[BulkOutcome] = field(default=())

    @property
    def failed(self) -> list[BulkOutcome]:
        """The runs whose action was refused or failed."""
        return [o for o in self.outcomes if not o.ok]


class BulkActions:
    """Selects runs by a filter and applies an operator action to each (see the module
    docstring)."""

    def __init__(
        self,
        client: Client,
        runs: RunStore,
        audit: AuditStore,
        operator: OperatorActions,
        tenant: str,
    ) -> None:
        self._client = client
        self._runs = runs
        self._audit = audit
        self._operator = operator
        self._tenant = tenant

    async def act(
        self,
        action: Action,
        where: RunFilter,
        request: BulkRequest | None = None,
        *,
        dry_run: bool = True,
        concurrency: int = CONCURRENCY,
        limit: int | None = None,
        sample: int = SAMPLE,
        on_selected: Callable[[int], None] | None = None,
        on_outcome: Callable[[BulkOutcome], None] | None = None,
    ) -> BulkResult:
        """Apply ``action`` (``pause``, ``resume``, ``cancel``, ``retry`` or ``resolve``) to
        every run of the engine's tenant that ``where`` selects.

        ``dry_run`` (the default) only selects: the result holds the count and a sample
        of ``sample`` runs, and nothing is done. Otherwise each run gets the single-run
        action (``retry_run`` and so on) with ``request``'s ``by`` and ``reason``, audited
        on its chain; at most ``concurrency`` at a time. A run that refuses (it changed
        since the listing: retried meanwhile, ended, not paused) gets its refusal as its
        outcome and the others go on, as does one Temporal or the database failed for.
        ``on_selected`` is called with the count before any action, ``on_outcome`` with
        each outcome as it comes (for progress and streaming). ``limit`` selects at most
        that many runs, newest first.

        Example: ``await engine.bulk("retry", RunFilter(status="FAILED",
        failure="550"), BulkRequest(by="ops", reason="relay fixed"), dry_run=False)``.

        Raises:
            EngineError: the filter is empty or malformed, the request is past its limits
                (a cancel without a reason, a resolve without a resolution), or Temporal
                refused the visibility query.
            EngineUnavailable: Temporal could not be asked the query.
        """
        request = request or BulkRequest()
        problems = where.problems() + _request_problems(action, request)
        problems += _option_problems(concurrency, limit, sample)
        if problems:
            raise EngineError([f"runs {action}: {p}" for p in problems])
        selected = await self._select(where)
        if limit is not None:
            selected = selected[:limit]
        shown = [_shown(r) for r in selected[:sample]]
        if on_selected is not None:
            on_selected(len(selected))
        if dry_run:
            return BulkResult(action, True, len(selected), shown)
        outcomes: dict[str, BulkOutcome] = {}
        pending = iter(selected)

        async def work() -> None:
            for record in pending:  # one shared iterator: each run is taken once
                outcome = await self._one(action, record.run_id, request)
                outcomes[record.run_id] = outcome
                if on_outcome is not None:
                    on_outcome(outcome)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(selected))):
                group.create_task(work())
        ordered = [outcomes[r.run_id] for r in selected]
        return BulkResult(action, False, len(selected), shown, ordered)

    async def _one(self, action: Action, run_id: str, request: BulkRequest) -> BulkOutcome:
        try:
            run = await self._call(action, run_id, request)
        except DeeError as exc:
            return BulkOutcome(run_id, action, False, error="; ".join(exc.lines))
        except (TemporalError, StorageError) as exc:
            # An update that timed out on a loaded worker, a dropped connection: this
            # run's outcome is not known, the others' still are.
            error = f"run {run_id}: {action} failed: {type(exc).__name__}: {exc}"
            return BulkOutcome(run_id, action, False, error=error)
        return BulkOutcome(run_id, action, True, status=run.status)

    async def _call(self, action: Action, run_id: str, request: BulkRequest) -> ExecutionRun:
        by, reason, operator = request.by, request.reason, self._operator
        match action:
            case "pause":
                return await operator.pause(run_id, by=by, reason=reason)
            case "resume":
                return await operator.resume(run_id, by=by, reason=reason)
            case "cancel":
                return await operator.cancel(run_id, reason, by=by)
            case "retry":
                return await operator.retry(run_id, by=by, reason=reason, resend=request.resend)
            case "resolve":
                assert request.resolution is not None  # _request_problems
                return await operator.resolve(
                    run_id,
                    resolution=request.resolution,
                    target=request.target or "",
                    by=by,
                    reason=reason,
                )

    async def _select(self, where: RunFilter) -> list[RunRecord]:
        """The tenant's rows matching ``where``, newest first."""
        records = await self._runs.list(tenant=self._tenant, status=where.status, limit=None)
        if where.query is not None:
            listed = await self._listed(where.query)
            records = [r for r in records if r.run_id in listed]
        return [r for r in [await self._facts(r, where) for r in records] if where.matches(r)]

    async def _facts(self, record: RunRecord, where: RunFilter) -> RunRecord:
        """``record`` with its failure read back from its chain when its row predates
        the failure column (revision 0008) and the filter asks for it."""
        if where.failure is None or record.facts_kept or record.status != "FAILED":
            return record
        try:
            return replace(record, failure=fold(await self._audit.timeline(record.run_id)).failure)
        except UnknownRun:
            return record

    async def _listed(self, query: str) -> set[str]:
        """The workflow ids Temporal's visibility lists for ``query``."""
        found: set[str] = set()
        try:
            async for execution in self._client.list_workflows(query):
                found.add(execution.id)
        except RPCError as exc:
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                raise EngineError([f"query: Temporal refused it: {exc.message}"]) from None
            raise EngineUnavailable(
                [f"query: cannot ask Temporal's visibility: {exc.message}"]
            ) from exc
        return found


def _request_problems(action: str, request: BulkRequest) -> list[str]:
    """Why ``request`` cannot go with ``action``: refused once, before any run is touched,
    rather than by every run in turn."""
    if action not in ACTIONS:
        return [f"action {action!r} is not one of {', '.join(ACTIONS)}"]
    found = operator_problems(
        by=request.by, reason=request.reason, resolution=request.resolution, target=request.target
    )
    if not request.by.strip():
        found.append("by: say who takes the action")
    if action == "cancel" and not request.reason.strip():
        found.append("reason: a cancel needs a reason (it is audited)")
    if request.resend and action != "retry":
        found.append("resend applies to retry only")
    if action == "resolve":
        if request.resolution not in RESOLUTIONS:
            found.append(f"resolution: give one of {', '.join(RESOLUTIONS)}")
        elif request.resolution != "mark_sent" and not (request.target or "").strip():
            found.append(f"target: resolve {request.resolution} needs a step or an outcome")
    elif request.resolution is not None or request.target is not None:
        found.append(f"a resolution and target apply to resolve only, not {action}")
    return found


def _option_problems(concurrency: int, limit: int | None, sample: int) -> list[str]:
    found = []
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        found.append(f"concurrency: {concurrency} is not between 1 and {MAX_CONCURRENCY}")
    if limit is not None and limit < 1:
        found.append(f"limit: {limit} is not 1 or more")
    if sample < 0:
        found.append(f"sample: {sample} is negative")
    return found


def _shown(record: RunRecord) -> ExecutionRun:
    return replace(from_record(record), outcome=record.outcome, failure=record.failure)


__all__ = [
    "ACTIONS",
    "CONCURRENCY",
    "BulkActions",
    "BulkOutcome",
    "BulkRequest",
    "BulkResult",
    "RunFilter",
]
