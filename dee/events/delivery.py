"""Delivering one event to one run: as an answered update, else as a durable signal.

The ``ingest`` update is dispatched straight to a polling worker and completes once
the run has decided on the event and its audit entries are stored, so the caller
learns the outcome. A signal only becomes a workflow task when the history
service's transfer queue gets to it (on the dev server that queue is polled at
most 20 times a second, a 50 ms floor).

An update is durable only once a worker accepts it, though: with no worker polling,
nothing would keep it. So when it is not accepted within the acknowledgement
timeout, the event goes as the ``ingest_event`` signal instead, which the server
keeps until a worker comes. Should the update be accepted after all, the run
records the later copy as a duplicate (events are de-duplicated by id): the event
is never lost and never counted twice. Every delivery is an update of its own, so
a provider's retry reaches the run and is recorded as a duplicate in the audit log,
whichever way the first copy came.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Literal

from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import contracts as c
from dee.errors import EngineError, EngineUnavailable
from workflows.plan_run import PlanRunWorkflow

# handled: the run decided and stored it (``state`` says how it stands now);
# accepted: durably taken, still waiting its turn behind the run's current action;
# queued: sent as a signal, kept by the server until a worker takes it;
# ended: the run had already ended, so it takes no more events.
Outcome = Literal["handled", "accepted", "queued", "ended"]


@dataclass(frozen=True, slots=True)
class Delivery:
    run_id: str
    outcome: Outcome
    state: c.RunView | None = None


def update_id(event_id: str) -> str:
    return f"event:{event_id}:{uuid.uuid4().hex}"


async def deliver(
    handle: WorkflowHandle[PlanRunWorkflow, c.RunResult],
    event: c.EventSignal,
    ack_timeout: float,
) -> Delivery:
    """Deliver ``event`` to the run behind ``handle``.

    Raises:
        EngineUnavailable: Temporal could not be reached (the cause is chained).
        EngineError: Temporal refused the event (the cause is chained).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ack_timeout
    try:
        update = await asyncio.wait_for(
            handle.start_update(
                c.INGEST_UPDATE,
                event,
                id=update_id(event.id),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=c.RunView,
            ),
            timeout=ack_timeout,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return await _signal(handle, event)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Delivery(handle.id, "ended")
        # Anything else the update path met (a run between continue-as-new, say):
        # the signal follows the workflow id to whichever run is current.
        return await _signal(handle, event)
    try:
        view = await asyncio.wait_for(update.result(), timeout=max(0.0, deadline - loop.time()))
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return Delivery(handle.id, "accepted")
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == c.RUN_ENDED:
            return Delivery(handle.id, "ended")
        if isinstance(cause, ApplicationError) and cause.type == "MachineError":
            raise EngineError([f"event for run {handle.id}: {cause.message}"]) from exc
        # Rejected for another reason — a worker still on code without the update:
        # the signal every version of the workflow takes.
        return await _signal(handle, event)
    return Delivery(handle.id, "handled", view)


async def _signal(
    handle: WorkflowHandle[PlanRunWorkflow, c.RunResult], event: c.EventSignal
) -> Delivery:
    try:
        await handle.signal(PlanRunWorkflow.ingest_event, event)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Delivery(handle.id, "ended")
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:  # the event's fault, not an outage
            raise EngineError([f"event for run {handle.id}: {exc}"]) from exc
        raise EngineUnavailable([f"event for run {handle.id}: {exc}"]) from exc
    return Delivery(handle.id, "queued")
