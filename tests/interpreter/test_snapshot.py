"""Run-state snapshots survive a JSON round trip exactly (continue-as-new relies on it)."""

from __future__ import annotations

import json

import pytest

from interpreter import (
    Event,
    EventIngested,
    OperatorAction,
    PolicyDecided,
    RunState,
    SendCompleted,
    Start,
    compile_plan,
    step,
)
from interpreter.compiled import RunContext
from interpreter.snapshot import state_from_dict, state_to_dict

from .helpers import sales_plan


def _through_json(state: RunState) -> RunState:
    return state_from_dict(json.loads(json.dumps(state_to_dict(state))))


def test_a_mid_run_state_round_trips_and_continues_identically() -> None:
    ctx = RunContext(compile_plan(sales_plan()), {"id": "c"})
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "intro-email", "allow"))
    s, _ = step(ctx, s, SendCompleted(0, "intro-email", "delivered"))
    s, _ = step(
        ctx, s, EventIngested(9, Event("email.opened", 9, "e1", "intro-email", {"ua": "x"}))
    )
    s, _ = step(ctx, s, OperatorAction(10, "pause", by="ops"))
    copy = _through_json(s)
    assert state_to_dict(copy) == state_to_dict(s)
    resumed_a = step(ctx, s, OperatorAction(11, "resume", by="ops"))
    resumed_b = step(ctx, copy, OperatorAction(11, "resume", by="ops"))
    assert state_to_dict(resumed_a[0]) == state_to_dict(resumed_b[0])
    assert resumed_a[1] == resumed_b[1]


def test_an_unknown_snapshot_version_is_refused() -> None:
    data = state_to_dict(RunState())
    data["v"] = 99
    with pytest.raises(ValueError, match="version 99"):
        state_from_dict(data)
