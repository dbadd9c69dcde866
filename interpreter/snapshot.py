"""Run state to and from plain JSON data (continue-as-new, queries, replay).

Explicit rather than left to a serializer's reflection, so the wire form is
stable, reviewable and versioned (``"v"``): histories recorded today must still
decode after the state class grows a field.
"""

from __future__ import annotations

from typing import Any, cast

from interpreter.events import Event
from interpreter.state import (
    Failure,
    FailureKind,
    PendingExit,
    PendingTimer,
    Phase,
    RunState,
    Status,
)

SNAPSHOT_VERSION = 1


def event_to_dict(event: Event) -> dict[str, Any]:
    return event.as_dict()


def event_from_dict(data: dict[str, Any]) -> Event:
    return Event(
        type=str(data["type"]),
        tick=int(data["tick"]),
        id=data.get("id"),
        step_id=data.get("stepId"),
        data=dict(data.get("data") or {}),
    )


def state_to_dict(state: RunState) -> dict[str, Any]:
    out = _state_dict(state)
    if state.exiting is not None:  # only then: a snapshot from before exits is unchanged
        out["exiting"] = {
            "outcome": state.exiting.outcome,
            "reason": state.exiting.reason,
            "detail": dict(state.exiting.detail),
        }
    return out


def _state_dict(state: RunState) -> dict[str, Any]:
    return {
        "v": SNAPSHOT_VERSION,
        "status": state.status.value,
        "phase": state.phase,
        "stepId": state.step_id,
        "held": state.held,
        "timer": None
        if state.timer is None
        else {
            "id": state.timer.timer_id,
            "untilTick": state.timer.until_tick,
            "purpose": state.timer.purpose,
        },
        "timerSeq": state.timer_seq,
        "visits": dict(state.visits),
        "executed": state.executed,
        "events": [event_to_dict(e) for e in state.events],
        "eventIds": sorted(state.event_ids),
        "paused": state.paused,
        "failure": None
        if state.failure is None
        else {
            "stepId": state.failure.step_id,
            "kind": state.failure.kind,
            "reason": state.failure.reason,
        },
        "outcome": state.outcome,
        "tick": state.tick,
    }


def state_from_dict(data: dict[str, Any]) -> RunState:
    if data.get("v") != SNAPSHOT_VERSION:
        raise ValueError(f"unsupported run-state snapshot version {data.get('v')!r}")
    timer = data["timer"]
    failure = data["failure"]
    exiting = data.get("exiting")
    return RunState(
        status=Status(data["status"]),
        phase=cast(Phase, data["phase"]),
        step_id=data["stepId"],
        held=data["held"],
        timer=None
        if timer is None
        else PendingTimer(str(timer["id"]), int(timer["untilTick"]), timer["purpose"]),
        timer_seq=int(data["timerSeq"]),
        visits={str(k): int(v) for k, v in data["visits"].items()},
        executed=int(data["executed"]),
        events=tuple(event_from_dict(e) for e in data["events"]),
        event_ids=frozenset(str(i) for i in data["eventIds"]),
        paused=bool(data["paused"]),
        failure=None
        if failure is None
        else Failure(str(failure["stepId"]), cast(FailureKind, failure["kind"]), failure["reason"]),
        outcome=data["outcome"],
        tick=int(data["tick"]),
        exiting=None
        if exiting is None
        else PendingExit(exiting["outcome"], exiting["reason"], dict(exiting["detail"])),
    )
