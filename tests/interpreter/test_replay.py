"""DEE replay: an untouched run replays identically; tampering and plan changes are located."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from interpreter import (
    CompiledPlan,
    Event,
    ExecutionPlan,
    Input,
    MachineConfig,
    OperatorAction,
    PolicyDecided,
    RunContext,
    RunState,
    SendCompleted,
    Start,
    TimerFired,
    TraceEntry,
    chain,
    compile_plan,
    parse_plan,
    simulate,
    step,
)
from interpreter.replay import RecordedRun, inputs_from_audit, replay, what_if

from .helpers import ROOT, sales_plan

WAIT = 3 * 86_400 + 12 * 3_600
# Runs recorded on the evaluator ``replay`` and ``compile_plan`` assume unless told (the
# old one): since issue 23 ``simulate`` defaults to Google's CEL, as new runs do.
RECORDED = MachineConfig(google_cel=False)
CONTACT = {"id": "c-1"}


def _sales_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "plans" / "sales-sequence.yaml").read_text())
    return doc


def _changed(edit: Any) -> CompiledPlan:
    doc = _sales_doc()
    doc["version"] = 2
    edit(doc)
    return compile_plan(parse_plan(doc, source="changed"))


def _opens_go_cold(doc: dict[str, Any]) -> None:
    branch = next(s for s in doc["steps"] if s["id"] == "check-response")
    branch["conditions"][1]["goto"] = "cold-follow-up"
    doc["steps"] = [s for s in doc["steps"] if s["id"] != "warm-follow-up"]
    doc["transitions"] = [
        {**t, "to": "cold-follow-up"} if t["to"] == "warm-follow-up" else t
        for t in doc["transitions"]
        if t["from"] != "warm-follow-up"
    ]


def _no_wait(doc: dict[str, Any]) -> None:
    doc["steps"] = [s for s in doc["steps"] if s["id"] != "wait-for-reply"]
    doc["transitions"] = [t for t in doc["transitions"] if "wait-for-reply" not in t.values()]
    doc["transitions"].insert(0, {"from": "intro-email", "to": "check-response"})


def _recorded(
    plan: ExecutionPlan, events: list[Event], run_id: str = "run-1"
) -> list[dict[str, Any]]:
    trace = simulate(plan, CONTACT, events, config=RECORDED)
    return [e.as_dict() for e in chain(run_id, trace.entries)]


def _opened() -> list[dict[str, Any]]:
    return _recorded(
        sales_plan(), [Event("email.opened", 3_600, "o-1", "intro-email", {"ip": "x"})]
    )


def _own() -> CompiledPlan:
    return compile_plan(sales_plan())


def test_an_untouched_run_replays_identically_in_the_api_shape() -> None:
    result = replay(_own(), _opened(), CONTACT)
    out = result.as_dict()
    assert out["identical"] is True and out["diffs"] == []
    assert [s["id"] for s in out["steps"]] == [
        "@run",
        "intro-email",
        "wait-for-reply",
        "check-response",
        "warm-follow-up",
        "end-followed-up",
    ]
    step_out = out["steps"][1]
    assert set(step_out) == {"id", "originalResult", "replayedResult", "identical"}
    assert step_out["originalResult"] == step_out["replayedResult"]
    assert step_out["originalResult"]["action"] == "send_email"
    assert step_out["originalResult"]["outcome"] == "delivered"


def _drive(plan: CompiledPlan, inputs: list[Input]) -> list[dict[str, Any]]:
    ctx, state, records = RunContext(plan, CONTACT), RunState(), []
    for given in inputs:
        inp = given
        if isinstance(given, TimerFired):
            assert state.timer is not None
            inp = TimerFired(given.tick, state.timer.timer_id)
        state, commands = step(ctx, state, inp)
        records += [c for c in commands if isinstance(c, TraceEntry)]
    return [e.as_dict() for e in chain("run-op", records)]


OPERATOR_RUN: list[Input] = [
    Start(0),
    PolicyDecided(0, "intro-email", "defer", "calling_hours", "night", 50, {"tz": "UTC"}),
    TimerFired(50, ""),
    PolicyDecided(50, "intro-email", "allow"),
    SendCompleted(50, "intro-email", "failed", "ChannelRejected: no"),
    OperatorAction(60, "retry", "ops@example.com", "fixed the address"),
    PolicyDecided(60, "intro-email", "allow"),
    SendCompleted(60, "intro-email", "delivered", None, {"provider": "smtp", "cost": "0.01"}),
    OperatorAction(70, "pause", "ops@example.com", "holiday"),
    OperatorAction(80, "resume", "ops@example.com"),
    TimerFired(60 + WAIT, ""),
    PolicyDecided(60 + WAIT, "cold-follow-up", "deny", "suppression", "unsubscribed"),
    OperatorAction(60 + WAIT + 5, "resolve", "ops@example.com", "done", "end", "stopped"),
]


def test_operator_actions_deferrals_and_failures_are_rebuilt_and_replay_identically() -> None:
    entries = _drive(_own(), OPERATOR_RUN)
    rebuilt = inputs_from_audit(entries)
    assert [type(i).__name__ for i in rebuilt] == [type(i).__name__ for i in OPERATOR_RUN]
    assert rebuilt[1] == OPERATOR_RUN[1]
    assert rebuilt[7] == OPERATOR_RUN[7]
    assert rebuilt[-1] == OPERATOR_RUN[-1]
    assert replay(_own(), entries, CONTACT).identical


def test_results_arriving_after_a_cancel_are_rebuilt_and_replay_identically() -> None:
    late: list[Input] = [
        Start(0),
        PolicyDecided(0, "intro-email", "allow"),
        OperatorAction(5, "cancel", "ops@example.com", "opted out"),
        SendCompleted(6, "intro-email", "delivered", None, {"provider": "smtp"}),
    ]
    entries = _drive(_own(), late)
    assert entries[-1]["detail"]["afterCancel"] is True
    assert inputs_from_audit(entries)[-1] == late[-1]
    assert replay(_own(), entries, CONTACT).identical


def _tamper(entries: list[dict[str, Any]], action: str, **fields: Any) -> list[dict[str, Any]]:
    out = copy.deepcopy(entries)
    row = next(e for e in out if e["action"] == action)
    for key, value in fields.items():
        if key == "detail":
            row["detail"].update(value)
        else:
            row[key] = value
    return out


def test_a_tampered_outcome_is_a_diff_at_its_step_and_field() -> None:
    entries = _tamper(_opened(), "evaluate", outcome="branch:end-sequence")
    result = replay(_own(), entries, CONTACT)
    assert not result.identical
    fields = [(d.step, d.field, d.expected, d.actual) for d in result.diffs]
    assert fields[0] == (
        "check-response",
        "evaluate.outcome",
        "branch:end-sequence",
        "branch:warm-follow-up",
    )
    assert ("check-response", "evaluate.hash") in [(d.step, d.field) for d in result.diffs]
    assert {d.step for d in result.diffs} == {"check-response"}
    bad = [s.id for s in result.steps if not s.identical]
    assert bad == ["check-response"]


def test_a_tampered_detail_and_tick_are_diffs_at_their_step_and_field() -> None:
    entries = _tamper(_opened(), "wait", detail={"untilTick": 7})
    diffs = [
        (d.step, d.field, d.expected, d.actual) for d in replay(_own(), entries, CONTACT).diffs
    ]
    assert diffs[0] == ("wait-for-reply", "wait.detail.untilTick", 7, WAIT)
    entries = _tamper(_opened(), "end", tick=5)
    diffs = [
        (d.step, d.field, d.expected, d.actual) for d in replay(_own(), entries, CONTACT).diffs
    ]
    assert diffs[0][:2] == ("end-followed-up", "end.tick")


def test_a_tampered_input_row_is_caught_by_its_hash() -> None:
    entries = _tamper(_opened(), "event", tick=3_000)  # the replay follows the forged input
    result = replay(_own(), entries, CONTACT)
    assert [(d.step, d.field) for d in result.diffs] == [("intro-email", "event.hash")]
    entries = _opened()
    entries[3]["prev_hash"] = "f" * 64
    fields = [d.field for d in replay(_own(), entries, CONTACT).diffs]
    assert fields[:1] == [f"{entries[3]['action']}.prev_hash"]


def test_a_changed_branch_diverges_at_the_branch() -> None:
    result = replay(_changed(_opens_go_cold), _opened(), CONTACT, compare_plan=False)
    assert not result.identical
    first = result.diffs[0]
    assert (first.step, first.field) == ("check-response", "evaluate.outcome")
    assert (first.expected, first.actual) == ("branch:warm-follow-up", "branch:cold-follow-up")
    same = [s.id for s in result.steps if s.identical]
    assert same == ["@run", "intro-email", "wait-for-reply"]
    ids = {s.id for s in result.steps}
    assert {"warm-follow-up", "cold-follow-up"} <= ids


def test_a_removed_step_diverges_where_it_was_and_the_plan_identity_counts_by_default() -> None:
    entries = _recorded(sales_plan(), [])
    result = replay(_changed(_no_wait), entries, CONTACT, compare_plan=False)
    assert (result.diffs[0].step, result.diffs[0].field) == ("wait-for-reply", "visit")
    assert (result.diffs[0].expected, result.diffs[0].actual) == (1, None)
    strict = replay(_changed(_no_wait), entries, CONTACT)
    assert (strict.diffs[0].step, strict.diffs[0].field) == ("@run", "start.detail.planHash")


def test_what_if_compares_an_open_run_only_as_far_as_it_got() -> None:
    # Cut at the first wait: the run is still waiting for a reply.
    entries = _opened()
    waiting = [e for e in entries if int(e["tick"]) < WAIT]
    assert ("wait-for-reply", "wait", "started") in [
        (e["step_id"], e["action"], e["outcome"]) for e in waiting
    ]
    assert "check-response" not in [e["step_id"] for e in waiting]
    open_run = RecordedRun("open", CONTACT, waiting)

    same = what_if([open_run], _own())
    other = what_if([open_run], _changed(_no_wait))

    assert (same.diverged, same.sends_changed) == (0, 0)
    assert other.diverged == 1 and other.changes[0].first_divergence == "wait-for-reply"


def test_what_if_counts_a_retried_failure_as_what_the_retry_met() -> None:
    # The intro email failed, an operator retried it, the retry was delivered: on its
    # own plan the run is no change at all (what-if has no operator, so a failure left
    # in place would have stopped the simulated run at the intro email).
    retried = RecordedRun("retried", CONTACT, _drive(_own(), OPERATOR_RUN[:8]))

    report = what_if([retried], _own())

    assert (report.diverged, report.sends_changed) == (0, 0)
