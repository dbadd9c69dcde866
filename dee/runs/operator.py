"""Operator actions on a run: pause, resume, cancel, retry and resolve.

Each is the run's workflow update of that name, refused up front when the run has
ended (saying how it ended) or the request is past its limits. An action that ends
the run waits for the run to close, so that what the caller reads next (timeline,
verify) holds the action's audit entry. ``Engine.pause_run``, ``resume_run``,
``cancel_run``, ``retry_run`` and ``resolve_run`` are these methods.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from temporalio.client import (
    Client,
    RPCError,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCStatusCode

from activities import contracts as c
from dee.errors import EngineError
from dee.runs.reading import FINAL, ExecutionRun, RunReader, ended_refusal
from interpreter.limits import operator_problems
from workflows.plan_run import PlanRunWorkflow

# Providers that cannot be asked whether a message went out: an unknown send through
# one is resent only on the operator's explicit, audited --resend.
BLIND = frozenset({"smtp"})
Action = Literal["pause", "resume", "cancel", "retry", "resolve"]
_UPDATES: dict[Action, Any] = {
    "pause": PlanRunWorkflow.pause,
    "resume": PlanRunWorkflow.resume,
    "cancel": PlanRunWorkflow.cancel,
    "retry": PlanRunWorkflow.retry,
    "resolve": PlanRunWorkflow.resolve,
}


class OperatorActions:
    """Steers runs through their workflow updates (see the module docstring)."""

    def __init__(self, client: Client, reader: RunReader) -> None:
        self._client = client
        self._reader = reader

    async def pause(self, run_id: str, *, by: str = "operator", reason: str = "") -> ExecutionRun:
        """Hold the run before its next step.

        Raises:
            EngineError: the request is refused (by its limits, because the run has
                ended, or by the run), or Temporal could not be asked; likewise for
                every action below.
        """
        return await self._act(run_id, "pause", c.OperatorRequest(by, reason))

    async def resume(self, run_id: str, *, by: str = "operator", reason: str = "") -> ExecutionRun:
        """Resume a paused run."""
        return await self._act(run_id, "resume", c.OperatorRequest(by, reason))

    async def cancel(self, run_id: str, reason: str, *, by: str = "operator") -> ExecutionRun:
        """Cancel the run for good; ``reason`` is required and audited."""
        return await self._act(run_id, "cancel", c.OperatorRequest(by, reason))

    async def retry(
        self, run_id: str, *, by: str = "operator", reason: str = "", resend: bool = False
    ) -> ExecutionRun:
        """Retry a failed run's step. A send whose outcome is unknown is first looked up
        at its provider (found: recorded delivered, not sent again); ``resend`` sends it
        again where the provider cannot be asked (SMTP), recorded with who and why.

        Raises:
            EngineError: the run is not failed, or its unknown send went through a
                provider that cannot be asked and ``resend`` was not given.
        """
        request = c.OperatorRequest(by, reason, "resend" if resend else None)
        return await self._act(run_id, "retry", request)

    async def resolve(
        self,
        run_id: str,
        *,
        resolution: str,
        target: str,
        by: str = "operator",
        reason: str = "",
    ) -> ExecutionRun:
        """Resolve a failed run: ``skip`` to step ``target``, ``end`` with outcome ``target``,
        or ``mark_sent`` (no target): the operator checked that the failed or unknown
        send went out, so the run continues after it as if delivered."""
        request = c.OperatorRequest(by, reason, resolution, target)
        return await self._act(run_id, "resolve", request)

    async def _act(self, run_id: str, action: Action, request: c.OperatorRequest) -> ExecutionRun:
        if action == "retry" and request.resolution != "resend":
            await self._refuse_blind_resend(run_id)
        past = operator_problems(
            by=request.by,
            reason=request.reason,
            resolution=request.resolution,
            target=request.target,
        )
        if past:
            raise EngineError([f"run {run_id}: {action} refused: {p}" for p in past])
        await self._refuse_ended(run_id, action)
        try:
            await self._handle(run_id).execute_update(_UPDATES[action], request)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = getattr(cause, "message", None) or str(cause or exc)
            raise EngineError([f"run {run_id}: {action} refused: {message}"]) from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                await self._refuse_ended(run_id, action)
                raise EngineError([f"run {run_id}: {action} refused: the run has ended"]) from None
            raise EngineError([f"run {run_id}: {action} failed: {exc}"]) from None
        run = await self._reader.get_run(run_id)
        if run.status in FINAL:
            # The update answers before the workflow's last audit flush (a regular
            # activity after the handler): wait for the run to close.
            with contextlib.suppress(WorkflowFailureError):
                await self._handle(run_id).result()
            run = await self._reader.get_run(run_id)
        return run

    def _handle(self, run_id: str) -> WorkflowHandle[PlanRunWorkflow, c.RunResult]:
        return self._client.get_workflow_handle_for(PlanRunWorkflow.run, run_id)

    async def _refuse_ended(self, run_id: str, action: str) -> None:
        """Raise ``EngineError`` if the run is unknown or has ended (``ended_refusal``)."""
        refused = ended_refusal(await self._reader.get_run(run_id), action)
        if refused is not None:
            raise refused

    async def _refuse_blind_resend(self, run_id: str) -> None:
        run = await self._reader.get_run(run_id)
        failure = run.failure or {}
        if "send_outcome_unknown" not in str(failure.get("reason", "")):
            return
        step_id = str(failure.get("stepId", ""))
        for sent in await self._reader.sends(run_id):
            if sent.step_id == step_id and sent.outcome != "delivered" and sent.provider in BLIND:
                raise EngineError(
                    [
                        f"run {run_id}: retry refused: step {step_id} went through "
                        f"{sent.provider}, which cannot be asked whether the unknown attempt "
                        "went out; retry --resend sends it again (recorded), "
                        "resolve --mark-sent records that it did"
                    ]
                )


__all__ = ["BLIND", "Action", "OperatorActions"]
