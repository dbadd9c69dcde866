"""Properties of the pure core over generated valid plans and event sequences.

(a) every valid plan ends under any events (completes, or fails on the step budget);
(b) a simulation is a function of its inputs: equal traces and chain hashes;
(c) ... also across processes (``tests/cli/test_processes.py``);
(d) ``step()`` never mutates the state it is given;
(e) a plan survives its JSON round trip with the same content hash.
"""

from __future__ import annotations

import copy
import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from interpreter import (
    RUN_SCOPE,
    CancelRun,
    CheckPolicy,
    CompleteRun,
    Event,
    EventIngested,
    ExecutionPlan,
    FailRun,
    Input,
    MachineConfig,
    MachineError,
    OperatorAction,
    PolicyDecided,
    RunContext,
    RunState,
    SendCompleted,
    SendEmail,
    SendVoice,
    Start,
    StartTimer,
    Status,
    TimerFired,
    TraceEntry,
    chain,
    compile_plan,
    operator_problem,
    parse_plan,
    simulate,
    step,
    steps,
    validate,
)

from .strategies import (
    DEFAULT_STEP_BUDGET,
    RunCase,
    generated_plans,
    registries,
    registry_for,
    run_cases,
)

REPO = Path(__file__).resolve().parents[2]
SALES = REPO / "plans" / "sales-sequence.yaml"


def run(case: RunCase) -> Any:
    return simulate(
        case.plan,
        case.contact,
        case.events,
        variables=case.variables,
        config=case.config,
        registry=case.registry,
    )


# --- the generator itself ------------------------------------------------------------


@given(generated_plans(), st.data())
def test_every_generated_plan_is_valid(generated: Any, data: Any) -> None:
    assert validate(generated.plan, registry=generated.registry) == []
    assert validate(generated.plan) == []  # no registry: existence checks skipped
    assert validate(generated.plan, registry=data.draw(registries(generated.plan))) == []
    event(f"transitions={'linear' if generated.linear else 'explicit'}")
    event(f"loops={len(generated.loop_branches)}")


# --- (a) termination -----------------------------------------------------------------


@given(run_cases())
def test_every_valid_plan_ends_under_any_event_sequence(case: RunCase) -> None:
    trace = run(case)
    event(f"status={trace.status}")
    assert trace.status in {"COMPLETED", "FAILED"}
    last = trace.entries[-1]
    budget = case.config.step_budget
    entered = [e for e in trace.entries if e.action == "enter"]
    assert len(entered) == len(trace.path) <= budget
    if trace.status == "COMPLETED":
        end = case.plan.step(last.step_id)
        assert end.type == "end"
        assert (last.action, last.outcome) == ("end", end.outcome)
        assert trace.outcome == end.outcome
        assert trace.path[-1] == last.step_id
    else:
        # nothing but the step budget can stop a run: every send is delivered,
        # every policy check allows, and every condition evaluates
        assert (last.step_id, last.action, last.outcome) == (RUN_SCOPE, "run", "failed")
        assert last.detail["kind"] == "step_budget"
        assert f"step budget of {budget} step executions exhausted" in last.detail["cause"]
        assert len(trace.path) == budget
        assert trace.outcome is None


def _loop_plan(*, leave_after: int | None) -> ExecutionPlan:
    """email -> wait -> branch(back to email | end); leaves after N visits, or never.

    "Never" is a reply that never comes: a condition that is false on every run *by
    its text* (``when: "false"``) is refused by validation (``test_send_loops``).
    """
    when = (
        'events.hasReply("nudge")'
        if leave_after is None
        else f'run.visits("check") >= {leave_after}'
    )
    return ExecutionPlan(
        id="loop",
        version=1,
        name="loop",
        metadata={"createdAt": "2026-01-15", "createdBy": "tests"},
        steps=(
            steps.send_email(id="nudge", template_id="tmpl_nudge", subject="Hi"),
            steps.wait(id="pause", duration={"days": 1}),
            steps.branch(
                id="check",
                conditions=[{"when": when, "goto": "done"}, {"when": "default", "goto": "nudge"}],
            ),
            steps.end(id="done", outcome="gave-up"),
        ),
    )


def test_a_loop_that_never_leaves_fails_on_the_default_budget() -> None:
    plan = _loop_plan(leave_after=None)
    assert validate(plan, registry=registry_for(plan)) == []
    trace = simulate(plan, {"id": "c"})
    assert trace.status == "FAILED"
    assert len(trace.path) == DEFAULT_STEP_BUDGET
    assert trace.entries[-1].detail["kind"] == "step_budget"
    # the loop advanced the clock by the wait on every round
    assert trace.tick == (DEFAULT_STEP_BUDGET // 3) * 86_400


@pytest.mark.parametrize(("budget", "status"), [(8, "FAILED"), (9, "FAILED"), (10, "COMPLETED")])
def test_budget_counts_step_executions(budget: int, status: str) -> None:
    # three rounds of nudge, pause, check, then done: 10 executions
    trace = simulate(_loop_plan(leave_after=3), {"id": "c"}, config=MachineConfig(budget))
    assert trace.status == status
    assert len(trace.path) == min(budget, 10)


def test_a_padded_default_condition_still_acts_as_the_default() -> None:
    """Validation accepts ``"default "`` as the default; the run must then use it too."""
    doc = yaml.safe_load(SALES.read_text())
    doc["steps"][2]["conditions"][2]["when"] = "default "
    plan = parse_plan(doc, source=SALES.name)
    assert validate(plan, registry=registry_for(plan)) == []
    trace = simulate(plan, {"id": "c-1"})
    assert trace.status == "COMPLETED", trace.entries[-1].detail
    assert trace.path[2:4] == ("check-response", "cold-follow-up")


# --- (b) determinism in one process ---------------------------------------------------


@given(run_cases())
def test_simulation_is_deterministic(case: RunCase) -> None:
    first, second = run(case), run(case)
    assert first.as_dict() == second.as_dict()
    chained_1 = chain("run-1", first.entries)
    chained_2 = chain("run-1", second.entries)
    assert [c.hash for c in chained_1] == [c.hash for c in chained_2]
    # simulating the pre-compiled plan gives the same trace
    compiled = compile_plan(case.plan)
    third = simulate(
        compiled, case.contact, case.events, variables=case.variables, config=case.config
    )
    assert third.as_dict() == first.as_dict()
    # the run id is part of every hash
    if first.entries:
        assert chain("run-2", first.entries)[0].hash != chained_1[0].hash


# --- (d) step() never mutates its state ---------------------------------------------------


def _drive_checked(case: RunCase, data: Any, max_inputs: int = 80) -> RunState:
    """Drive the machine with random driver answers and operator actions.

    Before every ``step`` call the state (and the input) is deep-copied; after it,
    the object passed in must still equal the copy, whether the call succeeded or
    raised ``MachineError``.
    """
    ctx = RunContext(compile_plan(case.plan), case.contact, case.variables, case.config)
    state = RunState()
    queue: deque[Input] = deque([Start(0)])
    events = deque(sorted(case.events, key=lambda e: e.tick))
    timer: StartTimer | None = None
    for _ in range(max_inputs):
        if not queue:
            options = []
            if events and state.status not in (Status.COMPLETED, Status.CANCELED):
                options.append("event")
            if timer is not None:
                options.append("timer")
            if state.status not in (Status.COMPLETED, Status.CANCELED):
                options.append("operator")
            if not options:
                break
            choice = data.draw(st.sampled_from(options))
            if choice == "event":
                ev: Event = events.popleft()
                queue.append(EventIngested(max(ev.tick, state.tick), ev))
            elif choice == "timer":
                assert timer is not None
                queue.append(TimerFired(max(timer.until_tick, state.tick), timer.timer_id))
                timer = None
            else:
                queue.append(_operator_action(ctx, state, data))
        inp = queue.popleft()
        before, inp_before = copy.deepcopy(state), copy.deepcopy(inp)
        try:
            new_state, commands = step(ctx, state, inp)
        except MachineError:
            assert state == before
            assert inp == inp_before
            continue
        assert state == before, f"step({type(inp).__name__}) mutated the state it was given"
        assert inp == inp_before
        assert new_state is not state
        for cmd in commands:
            match cmd:
                case CheckPolicy():
                    decision = data.draw(st.sampled_from(("allow", "allow", "defer", "deny")))
                    until = inp.tick + data.draw(st.integers(1, 100))
                    queue.append(
                        PolicyDecided(
                            inp.tick,
                            cmd.step_id,
                            decision,
                            "test",
                            None,
                            until if decision == "defer" else None,
                        )
                    )
                case SendEmail() | SendVoice():
                    ok = data.draw(st.sampled_from(("delivered", "delivered", "failed")))
                    queue.append(SendCompleted(inp.tick, cmd.step_id, ok, "boom"))
                case StartTimer():
                    timer = cmd
                case TraceEntry() | CompleteRun() | FailRun() | CancelRun():
                    pass
        state = new_state
    return state


def _operator_action(ctx: RunContext, state: RunState, data: Any) -> OperatorAction:
    action = data.draw(st.sampled_from(("pause", "resume", "cancel", "retry", "resolve")))
    resolution = target = None
    if action == "resolve":
        resolution = data.draw(st.sampled_from(("skip", "end")))
        target = data.draw(st.sampled_from(sorted(ctx.plan.steps))) if resolution == "skip" else "x"
    inp = OperatorAction(state.tick, action, "ops@example.com", "testing", resolution, target)
    if operator_problem(ctx, state, inp) is not None:
        event("operator action refused")
    return inp


@given(run_cases(), st.data())
def test_step_never_mutates_the_state_it_is_given(case: RunCase, data: Any) -> None:
    final = _drive_checked(case, data)
    event(f"final={final.status.value}")


# --- (e) JSON round trip ------------------------------------------------------------------


@given(generated_plans())
def test_plan_json_round_trip_keeps_equality_and_hash(generated: Any) -> None:
    plan = generated.plan
    document = plan.to_document()
    again = ExecutionPlan.model_validate(document)
    assert again == plan
    assert again.content_hash == plan.content_hash
    through_json = ExecutionPlan.model_validate(json.loads(json.dumps(document)))
    assert through_json == plan
    assert through_json.content_hash == plan.content_hash
    from_canonical = ExecutionPlan.model_validate_json(plan.canonical_json())
    assert from_canonical == plan
    assert from_canonical.canonical_json() == plan.canonical_json()
    # the file's own spelling parses to the same plan
    assert parse_plan(generated.document, source="g").content_hash == plan.content_hash
    assert validate(again, registry=generated.registry) == []


def test_content_hash_tracks_the_body() -> None:
    plan = parse_plan(yaml.safe_load(SALES.read_text()), source=SALES.name)
    renamed = ExecutionPlan.model_validate({**plan.to_document(), "name": "Another name"})
    assert renamed.content_hash != plan.content_hash
    assert plan.content_hash.startswith("sha256:") and len(plan.content_hash) == 71
