"""Runs whose Temporal execution died: what Temporal says ended them, and why.

A run's row and audit chain are written by its own workflow. When Temporal ends the
execution from outside (terminated, timed out, failed, or canceled through Temporal
rather than with ``dee run cancel``) the workflow writes nothing more, so the row keeps
the status it had last (often ``WAITING``) and the chain has no closing entry. Only
Temporal knows the truth; this module asks it.

Finding the dead among many runs uses visibility, one query per 100 run ids, so a
listing costs one request however many runs it shows. Visibility is eventually
consistent and lists every execution of a workflow id (a reset leaves the old one
terminated beside the new one), so each candidate is then described (the latest
execution, strongly consistent) before it counts as dead: only dead runs, which
should be rare, cost a request each. A server without visibility (the time-skipping
test server) has every run described instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistoryEventFilterType,
)
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from activities import contracts as c

# What ``get_run`` and ``list_runs`` report for a run whose execution died before the
# run ended; ``temporal_status`` and ``temporal_reason`` then say how and why.
DEAD = "DEAD"
# Abnormal ends, by the names visibility queries use for them.
ABNORMAL = {
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.TIMED_OUT: "TimedOut",
    WorkflowExecutionStatus.CANCELED: "Canceled",
}
_CHUNK = 100  # run ids per visibility query: a short query on every visibility store
_CONCURRENCY = 16  # describes in flight at once when there is no visibility to ask


@dataclass(frozen=True, slots=True)
class Death:
    """How a run's latest execution ended: the Temporal status name and its reason."""

    status: str  # TERMINATED, FAILED, TIMED_OUT or CANCELED
    reason: str


async def death_of(
    client: Client, run_id: str, description: WorkflowExecutionDescription | None = None
) -> Death | None:
    """The death of the run's latest execution, or ``None`` while it lives or ended well.

    ``description``: the run's ``describe()``, when the caller has it already.

    Raises:
        RPCError: Temporal could not be asked (``NOT_FOUND``: no such workflow).
    """
    if description is None:
        description = await client.get_workflow_handle(run_id).describe()
    status = description.status
    if status is None or status not in ABNORMAL:
        return None
    # Pinned to the described execution: a reset could start a newer one meanwhile.
    handle = client.get_workflow_handle(run_id, run_id=description.run_id)
    try:
        reason = await _reason(handle, status, client.data_converter)
    except RPCError as exc:  # the history expired or cannot be read: say so, stay dead
        reason = f"(Temporal gave no reason: {exc.message})"
    return Death(status.name, reason)


async def _reason(
    handle: WorkflowHandle[Any, Any], status: WorkflowExecutionStatus, converter: DataConverter
) -> str:
    if status is WorkflowExecutionStatus.CANCELED:
        # The close event carries no reason; the cancellation request's cause does.
        cause, details = "", ""
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
                cause = event.workflow_execution_cancel_requested_event_attributes.cause
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
                attributes = event.workflow_execution_canceled_event_attributes
                details = await _details(converter, attributes.details)
        return cause or details or "canceled through Temporal, no reason given"
    async for event in handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    ):
        if event.HasField("workflow_execution_terminated_event_attributes"):
            terminated = event.workflow_execution_terminated_event_attributes
            # ``terminate("why")`` passes "why" as details, ``terminate(reason="why")``
            # as the reason: either is what the operator meant.
            details = await _details(converter, terminated.details)
            return terminated.reason or details or "terminated, no reason given"
        if event.HasField("workflow_execution_failed_event_attributes"):
            failure = event.workflow_execution_failed_event_attributes.failure
            return failure.message or "failed, no message given"
        if event.HasField("workflow_execution_timed_out_event_attributes"):
            return "the workflow execution timed out"
    return status.name.lower().replace("_", " ")


async def _details(converter: DataConverter, details: Payloads) -> str:
    if not details.payloads:
        return ""
    try:
        values = await converter.decode(details.payloads)
    except Exception:  # a codec this client lacks: the details stay unread, not fatal
        return ""
    return "; ".join(str(v) for v in values)


async def deaths(client: Client, run_ids: Sequence[str]) -> dict[str, Death]:
    """Which of ``run_ids`` died, and how (runs Temporal does not know are skipped).

    Raises:
        RPCError: Temporal could not be asked.
    """
    if not run_ids:
        return {}
    try:
        candidates: Sequence[str] = await _listed_dead(client, run_ids)
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        candidates = run_ids  # no visibility: describe each
    return await _confirmed(client, candidates)


async def all_deaths(client: Client) -> dict[str, Death] | None:
    """Every dead plan run of the namespace; ``None`` when the server has no visibility.

    Raises:
        RPCError: Temporal could not be asked.
    """
    query = f'WorkflowType = "{c.WORKFLOW_NAME}" AND {_ABNORMAL_FILTER}'
    try:
        ids = {execution.id async for execution in client.list_workflows(query)}
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    return await _confirmed(client, sorted(ids))


_ABNORMAL_FILTER = "ExecutionStatus IN ({})".format(", ".join(f"'{n}'" for n in ABNORMAL.values()))


async def _listed_dead(client: Client, run_ids: Sequence[str]) -> list[str]:
    """The run ids visibility lists with an abnormally ended execution."""
    # DEE's run ids are ``run-<hex>``; anything that would need quoting is described.
    plain = [r for r in run_ids if _plain(r)]
    found = [r for r in run_ids if not _plain(r)]
    for start in range(0, len(plain), _CHUNK):
        chunk = plain[start : start + _CHUNK]
        listed = ", ".join(f"'{r}'" for r in chunk)
        query = f"WorkflowId IN ({listed}) AND {_ABNORMAL_FILTER}"
        found += sorted({execution.id async for execution in client.list_workflows(query)})
    return found


def _plain(run_id: str) -> bool:
    bare = run_id.replace("-", "").replace("_", "")
    return bare.isascii() and bare.isalnum()


async def _confirmed(client: Client, run_ids: Sequence[str]) -> dict[str, Death]:
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(run_id: str) -> Death | None:
        async with gate:
            try:
                return await death_of(client, run_id)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return None  # never started, or its history expired: storage knows
                raise

    found = await asyncio.gather(*(one(r) for r in run_ids))
    return {r: d for r, d in zip(run_ids, found, strict=True) if d is not None}


__all__ = ["ABNORMAL", "DEAD", "Death", "all_deaths", "death_of", "deaths"]
