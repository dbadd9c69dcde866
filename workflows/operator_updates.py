"""The operator's updates on a run — pause, resume, cancel, retry, resolve — each
refused in its validator (which leaves no trace in history) unless it applies to the
run as it stands, then fed to the step machine like any other input."""

from __future__ import annotations

from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import Input, OperatorAction, RunContext, RunState, operator_problem
    from interpreter.limits import operator_problems

OperatorKind = Literal["pause", "resume", "cancel", "retry", "resolve"]


class OperatorUpdates:
    """A mixin of ``PlanRunWorkflow``: the updates, over the run it keeps."""

    _state: RunState
    _ctx: RunContext
    _resend: tuple[str, int] | None  # an operator's retry --resend

    def _feed(self, inp: Input) -> None:
        raise NotImplementedError

    def _tick(self) -> int:
        raise NotImplementedError

    def state(self) -> c.RunView:
        raise NotImplementedError

    def _operator(self, action: OperatorKind, req: c.OperatorRequest) -> OperatorAction:
        resolution = _RESOLUTIONS.get(req.resolution or "")
        return OperatorAction(self._tick(), action, req.by, req.reason, resolution, req.target)

    def _validate(self, action: OperatorKind, req: c.OperatorRequest) -> None:
        problem = operator_problem(self._ctx, self._state, self._operator(action, req))
        if problem is not None:
            raise ValueError(problem)
        # Validator only (a refused update leaves no history): no patch needed.
        past = operator_problems(
            by=req.by, reason=req.reason, resolution=req.resolution, target=req.target
        )
        if past:
            raise ValueError("; ".join(past))

    def _apply(self, action: OperatorKind, req: c.OperatorRequest) -> c.RunView:
        failure = self._state.failure
        self._feed(self._operator(action, req))
        if action == "retry" and req.resolution == "resend" and failure is not None:
            self._resend = (failure.step_id, self._state.visits.get(failure.step_id, 0))
        return self.state()

    @workflow.update
    def pause(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("pause", req)

    @pause.validator
    def _pause_ok(self, req: c.OperatorRequest) -> None:
        self._validate("pause", req)

    @workflow.update
    def resume(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("resume", req)

    @resume.validator
    def _resume_ok(self, req: c.OperatorRequest) -> None:
        self._validate("resume", req)

    @workflow.update
    def cancel(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("cancel", req)

    @cancel.validator
    def _cancel_ok(self, req: c.OperatorRequest) -> None:
        self._validate("cancel", req)

    @workflow.update
    def retry(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("retry", req)

    @retry.validator
    def _retry_ok(self, req: c.OperatorRequest) -> None:
        self._validate("retry", req)

    @workflow.update
    def resolve(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("resolve", req)

    @resolve.validator
    def _resolve_ok(self, req: c.OperatorRequest) -> None:
        self._validate("resolve", req)


_RESOLUTIONS: dict[str, Literal["skip", "end", "mark_sent", "resend"]] = {
    "skip": "skip",
    "end": "end",
    "mark_sent": "mark_sent",
    "resend": "resend",
}


__all__ = ["OperatorKind", "OperatorUpdates"]
