"""A run as its Temporal history records it: decoded offline, no server or database.

A ``PlanRunWorkflow`` history holds the run's ``RunInput`` (the plan snapshot,
contact, variables, clock) in its start event, and the audit entries the
workflow computed travel inside its activity inputs (``AuditBatch``). The
entries written last go through the ``append_audit`` local activity, whose
input the history does not keep (a local-activity marker records only the
result), so the tail of the chain is recomputed by Temporal's ``Replayer`` from
the recorded history events; that replay also checks that today's workflow code
still reproduces the history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    StartLocalActivityInput,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities import contracts as c
from adapters.codec import CodecError, decode_history_payloads
from dee.errors import DocumentError, EngineError, UnknownRunError
from workflows.plan_run import PlanRunWorkflow


@dataclass(frozen=True, slots=True)
class HistoryRun:
    """A run as its exported history records it.

    Attributes:
        history: The history, named by the run's workflow id.
        run_input: The start input (for a continued run, the carried-over input).
        entries: The audit chain in seq order: the entries carried in the history,
            then the tail the Replayer recomputed.
        carried: How many of ``entries`` the history itself carries.
        replay_error: Why Temporal's Replayer could not reproduce the history
            (non-determinism), or ``None`` when it did.
        recomputed: The entries the workflow code computed again on replay, by seq.
    """

    history: WorkflowHistory
    run_input: c.RunInput
    entries: list[dict[str, Any]]
    carried: int
    replay_error: str | None
    recomputed: dict[int, dict[str, Any]]


def read_history(path: Path) -> WorkflowHistory:
    """Load an exported history (``fetch_history().to_json()`` / ``temporal ... -o json``).

    Raises:
        DocumentError: the file is missing, unreadable or not a history in JSON.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError([f"{path}: cannot be read: {exc}"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise DocumentError([f"{path}: {where}: invalid JSON: {exc.msg}"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise DocumentError([f"{path}: not a Temporal history (no 'events' list)"])
    try:
        history = WorkflowHistory.from_json(path.stem, data)
    except Exception as exc:  # protobuf raises several types on bad input
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise DocumentError([f"{path}: not a Temporal history: {first}"]) from None
    if not history.events:
        raise DocumentError([f"{path}: the history has no events"])
    return history


def _payloads(event: HistoryEvent, kind: str) -> list[Any]:
    attrs = getattr(event, kind)
    return list(DataConverter.default.payload_converter.from_payloads(list(attrs.input.payloads)))


def run_input_of(history: WorkflowHistory, source: str) -> c.RunInput:
    """The ``RunInput`` of a ``PlanRunWorkflow`` history.

    Raises:
        DocumentError: the history is of another workflow type or its input is unreadable.
    """
    first = history.events[0]
    if first.WhichOneof("attributes") != "workflow_execution_started_event_attributes":
        raise DocumentError([f"{source}: the history does not begin with the workflow's start"])
    kind = first.workflow_execution_started_event_attributes.workflow_type.name
    if kind != c.WORKFLOW_NAME:
        raise DocumentError(
            [f"{source}: a history of workflow type {kind!r}, not {c.WORKFLOW_NAME}"]
        )
    payloads = first.workflow_execution_started_event_attributes.input.payloads
    try:
        (run_input,) = DataConverter.default.payload_converter.from_payloads(
            list(payloads), [c.RunInput]
        )
    except Exception as exc:  # any decoding failure: a malformed input
        raise DocumentError([f"{source}: the run's start input is unreadable ({exc})"]) from None
    assert isinstance(run_input, c.RunInput)
    return run_input


def carried_entries(history: WorkflowHistory) -> dict[int, dict[str, Any]]:
    """The audit entries carried in the history's activity inputs, by seq."""
    out: dict[int, dict[str, Any]] = {}
    kind = "activity_task_scheduled_event_attributes"
    for event in history.events:
        if event.WhichOneof("attributes") != kind:
            continue
        for arg in _payloads(event, kind):
            if not isinstance(arg, dict):
                continue
            # A policy or send request carries a batch; a run's last flush is one.
            batch = arg.get("batch") if "batch" in arg else arg
            for entry in (batch or {}).get("entries") or ():
                out.setdefault(int(entry["seq"]), entry)
    return out


def capturing_interceptor(sink: list[dict[str, Any]]) -> Interceptor:
    """A worker interceptor that collects the audit entries the workflow code computes
    (every entry travels in the input of an activity or of the ``append_audit`` flush)."""

    def capture(args: Sequence[Any]) -> None:
        for arg in args:
            batch = arg if isinstance(arg, c.AuditBatch) else getattr(arg, "batch", None)
            if isinstance(batch, c.AuditBatch):
                sink.extend(batch.entries)
                sink.extend(batch.pending or ())

    class Outbound(WorkflowOutboundInterceptor):
        def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
            capture(input.args)
            return super().start_activity(input)

        def start_local_activity(
            self, input: StartLocalActivityInput
        ) -> workflow.ActivityHandle[Any]:
            capture(input.args)
            return super().start_local_activity(input)

    class Inbound(WorkflowInboundInterceptor):
        def init(self, outbound: WorkflowOutboundInterceptor) -> None:
            super().init(Outbound(outbound))

    class Capture(Interceptor):
        def workflow_interceptor_class(
            self, input: WorkflowInterceptorClassInput
        ) -> type[WorkflowInboundInterceptor]:
            return Inbound

    return Capture()


async def decode_history(
    history: WorkflowHistory, *, source: str = "history", codec: PayloadCodec | None = None
) -> HistoryRun:
    """Decode a ``PlanRunWorkflow`` history and recompute its chain's tail offline.

    ``codec`` first decodes its payloads (an exported history of encrypted payloads);
    a history from ``fetch_history`` is decoded already.

    Raises:
        DocumentError: the history is of another workflow type or malformed, or a
            payload cannot be decrypted (naming its key id).
    """
    if codec is not None:
        try:
            history = await decode_history_payloads(history, codec)
        except CodecError as exc:
            raise DocumentError([f"{source}: {exc}"]) from None
    run_input = run_input_of(history, source)
    history = WorkflowHistory(run_input.run_id, list(history.events))
    carried = carried_entries(history)
    computed: list[dict[str, Any]] = []
    replayer = Replayer(
        workflows=[PlanRunWorkflow],
        interceptors=[capturing_interceptor(computed)],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    error = None if failure is None else f"{type(failure).__name__}: {failure}"
    recomputed: dict[int, dict[str, Any]] = {}
    for entry in computed:
        recomputed.setdefault(int(entry["seq"]), entry)
    merged = {**recomputed, **carried}
    entries = [merged[seq] for seq in sorted(merged)]
    return HistoryRun(history, run_input, entries, len(carried), error, recomputed)


def run_origin(run: HistoryRun) -> int:
    """The instant of the run's start tick on its calendar (epoch milliseconds): the
    calendar origin a re-execution keeps, else the origin the start input carries,
    else the started event's time (the workflow's ``workflow_start_time``)."""
    inp = run.run_input
    if inp.calendar_origin_ms is not None:
        return inp.calendar_origin_ms
    if inp.origin_epoch_ms is not None:
        return inp.origin_epoch_ms
    return int(run.history.events[0].event_time.ToMilliseconds())


def patches(history: WorkflowHistory) -> set[str]:
    """The ids of the ``workflow.patched`` markers ``history`` records."""
    found = set()
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if event.HasField("marker_recorded_event_attributes") and marker.marker_name == _PATCH:
            for payload in marker.details[_PATCH_DATA].payloads:
                data = DataConverter.default.payload_converter.from_payload(payload)
                if isinstance(data, dict) and isinstance(data.get("id"), str):
                    found.add(data["id"])
    return found


# How the SDK's core records ``workflow.patched``: a marker of this name, its details
# holding one JSON payload ``{"id": ..., "deprecated": ...}``.
_PATCH = "core_patch"
_PATCH_DATA = "patch-data"


def last_seq(entries: Sequence[Mapping[str, Any]]) -> int:
    """The highest audit seq among ``entries`` (0 for none)."""
    return max((int(e["seq"]) for e in entries), default=0)


async def fetch_history(client: Client, run_id: str) -> WorkflowHistory:
    """The history of run ``run_id``'s latest Temporal run, from the server, its
    payloads decoded with the client's codec (so every reader sees them plain).

    Raises:
        EngineError: no such run, or a payload the client's keys cannot decrypt.
    """
    try:
        history = await client.get_workflow_handle(run_id).fetch_history()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise UnknownRunError(run_id) from None
        raise EngineError([f"run {run_id}: cannot fetch its history: {exc}"]) from None
    codec = client.data_converter.payload_codec
    if codec is None:
        return history
    try:
        return await decode_history_payloads(history, codec)
    except CodecError as exc:
        raise EngineError([f"run {run_id}: {exc}"]) from None
