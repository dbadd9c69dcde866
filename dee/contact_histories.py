"""A contact's runs in Temporal, for erasure: what their histories say of the contact,
and deleting them.

A run's start input (the first event of its first execution) carries the contact as
the run was started: erasure reads it, to know which addresses to look for in the
database, before deleting every execution of the run (continued-as-new runs have
several) with ``DeleteWorkflowExecution``, so no history with the contact's data stays
on the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities import contracts as c
from dee.errors import EngineError, EngineUnavailable

log = logging.getLogger(__name__)
# Deletion is asynchronous on the server: a closed execution is removed once its close
# has been processed (about 30 s on a default dev server; at once with
# ``history.{transfer,visibility}ProcessorEnsureCloseBeforeDelete`` false).
_GONE_CHECKS = 600
_GONE_EVERY = 0.1
_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED


async def contact_of(client: Client, run_id: str) -> Mapping[str, Any] | None:
    """The contact in the run's start input (``None``: no history, or unreadable)."""
    handle = client.get_workflow_handle(run_id)
    payloads = None
    try:
        async for event in handle.fetch_history_events(page_size=1):
            if event.event_type == _STARTED:
                payloads = event.workflow_execution_started_event_attributes.input.payloads
            break
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise EngineUnavailable([f"run {run_id}: cannot read its history: {exc.message}"]) from None
    if payloads is None:
        return None
    try:
        (run_input,) = await client.data_converter.decode(list(payloads), [c.RunInput])
    except Exception:  # an input this process cannot decode: its addresses stay unknown
        log.warning("run %s: start input unreadable; its contact's values are not known", run_id)
        return None
    return dict(run_input.contact) if isinstance(run_input, c.RunInput) else None


async def _executions(client: Client, run_id: str) -> list[str]:
    """Every execution (Temporal run id) under the workflow id, newest first."""
    found: list[str] = []
    try:
        async for execution in client.list_workflows(f'WorkflowId = "{run_id}"'):
            found.append(execution.run_id)
    except RPCError:  # no visibility store: the current execution only
        return [""]
    return found or [""]


async def delete_histories(client: Client, namespace: str, run_id: str) -> int:
    """Delete every execution of the run; how many were deleted (0: there were none).

    Returns once the server no longer has the run (see ``_GONE_CHECKS``).

    Raises:
        EngineError: the server accepted the deletion but still has the run after a minute
            (erase again later to confirm).
        EngineUnavailable: Temporal refused or did not answer; nothing is assumed gone.
    """
    deleted = 0
    for execution in await _executions(client, run_id):
        request = DeleteWorkflowExecutionRequest(
            namespace=namespace,
            workflow_execution=WorkflowExecution(workflow_id=run_id, run_id=execution),
        )
        try:
            await client.workflow_service.delete_workflow_execution(request)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue
            raise EngineUnavailable(
                [f"run {run_id}: Temporal did not delete its history: {exc.message}"]
            ) from None
        deleted += 1
    await _until_gone(client, run_id)
    return deleted


async def _until_gone(client: Client, run_id: str) -> None:
    handle = client.get_workflow_handle(run_id)
    for _ in range(_GONE_CHECKS):
        try:
            await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return
            raise EngineUnavailable([f"run {run_id}: {exc.message}"]) from None
        await asyncio.sleep(_GONE_EVERY)
    raise EngineError(
        [f"run {run_id}: Temporal accepted the deletion of its history but still has it "
         "after a minute; erase the contact again later to confirm"]
    )  # fmt: skip


__all__ = ["contact_of", "delete_histories"]
