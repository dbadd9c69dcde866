"""The inputs a ``PlanRunWorkflow`` history records, in the form re-execution needs.

Read from the Temporal history only (not the audit log): the activity results by
(activity, step, visit) in the order they came, the signals and updates with the
time the workflow code saw each, and the relative order of the two
(``dee.replay.reexecution`` keeps it when it delivers them again).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from activities import contracts as c
from dee.errors import DocumentError

_CONVERT = DataConverter.default.payload_converter
_RESULT_TYPES: dict[str, type] = {
    c.CHECK_POLICIES: c.PolicyResponse,
    c.SEND_EMAIL: c.SendResponse,
    c.SEND_VOICE: c.SendResponse,
}
# Every activity a run schedules besides its audit flush, with its request type: one
# the table does not name is refused, never decoded as another's request.
_REQUEST_TYPES: dict[str, type] = {
    c.CHECK_POLICIES: c.PolicyRequest,
    c.SEND_EMAIL: c.EmailRequest,
    c.SEND_VOICE: c.VoiceRequest,
}


@dataclass(frozen=True, slots=True)
class ActivityOutcome:
    """One activity outcome the history records: a result, or a failure's message and
    type, and when the workflow code handled it (its tick is stamped then)."""

    value: Any = None
    failure: tuple[str, str] | None = None
    at_ms: int = 0


@dataclass(frozen=True, slots=True)
class ExternalInput:
    """A signal or update the history records, with the time the workflow code handled it."""

    kind: str  # "signal" | "update"
    name: str
    arg: Any
    at_ms: int


@dataclass(slots=True)
class HistoryInputs:
    """What the history records, in the order that matters for re-execution."""

    results: dict[tuple[str, str, int], deque[ActivityOutcome]]
    order: list[str]  # "a" (an activity completed) / "i" (an external input), in history order
    inputs: list[ExternalInput]
    start_ms: int
    end_ms: int
    completed: bool


def _ms(event: HistoryEvent) -> int:
    return int(event.event_time.ToMilliseconds())


def _seen_at(history: WorkflowHistory, event: HistoryEvent) -> int:
    """When the workflow code saw ``event``: the start of the workflow task that handled
    it (``workflow.now()`` there is what set the input's tick)."""
    if event.WhichOneof("attributes") == "workflow_execution_update_accepted_event_attributes":
        # An accepted update was handled in the task that precedes its acceptance.
        started = [
            e
            for e in history.events
            if e.event_id < event.event_id
            and e.WhichOneof("attributes") == "workflow_task_started_event_attributes"
        ]
        return _ms(started[-1]) if started else _ms(event)
    for later in history.events:
        if (
            later.event_id > event.event_id
            and later.WhichOneof("attributes") == "workflow_task_started_event_attributes"
        ):
            return _ms(later)
    return _ms(event)


def activity_key(activity_name: str, arg: Any) -> tuple[str, str, int]:
    """The key an activity call's outcome is found under: (activity, step, visit)."""
    return (activity_name, str(getattr(arg, "step_id", "")), int(getattr(arg, "visit", 0)))


def history_inputs(history: WorkflowHistory) -> HistoryInputs:
    """The activity outcomes, signals and updates ``history`` records, in its order."""
    scheduled: dict[int, tuple[str, str, int]] = {}
    results: dict[tuple[str, str, int], deque[ActivityOutcome]] = defaultdict(deque)
    order: list[str] = []
    inputs: list[ExternalInput] = []
    for event in history.events:
        kind = event.WhichOneof("attributes")
        if kind == "activity_task_scheduled_event_attributes":
            attrs = event.activity_task_scheduled_event_attributes
            name = attrs.activity_type.name
            if name == c.APPEND_AUDIT:  # a run's last flush: bookkeeping, not an input
                continue
            arg_type = _REQUEST_TYPES.get(name)
            if arg_type is None:
                raise DocumentError(
                    [f"the history schedules activity {name!r}, which this version does not run"]
                )
            (arg,) = _CONVERT.from_payloads(list(attrs.input.payloads), [arg_type])
            scheduled[event.event_id] = activity_key(name, arg)
        elif kind == "activity_task_completed_event_attributes":
            done = event.activity_task_completed_event_attributes
            if done.scheduled_event_id not in scheduled:  # an append_audit flush
                continue
            key = scheduled[done.scheduled_event_id]
            payloads = list(done.result.payloads)
            (value,) = _CONVERT.from_payloads(payloads, [_RESULT_TYPES[key[0]]])
            results[key].append(ActivityOutcome(value, at_ms=_seen_at(history, event)))
            order.append("a")
        elif kind in (
            "activity_task_failed_event_attributes",
            "activity_task_timed_out_event_attributes",
        ):
            failed = getattr(event, kind)
            if failed.scheduled_event_id not in scheduled:
                continue
            info = failed.failure.application_failure_info
            failure = (failed.failure.message, info.type or "ActivityFailure")
            seen = _seen_at(history, event)
            results[scheduled[failed.scheduled_event_id]].append(
                ActivityOutcome(None, failure, seen)
            )
            order.append("a")
        elif kind == "workflow_execution_signaled_event_attributes":
            sig = event.workflow_execution_signaled_event_attributes
            (arg,) = _CONVERT.from_payloads(list(sig.input.payloads), [c.EventSignal])
            inputs.append(ExternalInput("signal", sig.signal_name, arg, _seen_at(history, event)))
            order.append("i")
        elif kind == "workflow_execution_update_accepted_event_attributes":
            req = event.workflow_execution_update_accepted_event_attributes.accepted_request.input
            arg_type = c.EventSignal if req.name == c.INGEST_UPDATE else c.OperatorRequest
            (arg,) = _CONVERT.from_payloads(list(req.args.payloads), [arg_type])
            inputs.append(ExternalInput("update", req.name, arg, _seen_at(history, event)))
            order.append("i")
    last = history.events[-1].WhichOneof("attributes")
    completed = last == "workflow_execution_completed_event_attributes"
    return HistoryInputs(
        results, order, inputs, _ms(history.events[0]), _ms(history.events[-1]), completed
    )
