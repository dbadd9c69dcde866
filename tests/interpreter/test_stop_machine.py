"""``exitOn`` input by input: each status an exit applies in, the final statuses it does
not, a rule whose ``when`` fails, an exit while a policy check is in flight, a pause
then an exit, a pending exit across continue-as-new, and an event on a timer's tick."""

from __future__ import annotations

import json
from typing import Any

import pytest

from interpreter import (
    CheckPolicy,
    CompleteRun,
    Event,
    EventIngested,
    FailRun,
    MachineConfig,
    MachineError,
    OperatorAction,
    PolicyDecided,
    RunState,
    SendCompleted,
    SendEmail,
    SendVoice,
    Start,
    Status,
    TimerFired,
    operator_problem,
    simulate,
)
from interpreter.snapshot import state_from_dict, state_to_dict

from .stop_driver import OPS, Run, compiled_context, email, end, plan_doc, voice, wait

RULES = [
    {"event": "email.replied", "outcome": "replied"},
    {"event": "email.unsubscribed", "outcome": "unsubscribed"},
    {"event": "voice.answered", "step": "call", "outcome": "connected"},
    {"when": 'events.hasEvent("email.bounced", "intro")', "outcome": "bounced"},
]


def _run(rules: list[dict[str, Any]] = RULES, contact: dict[str, Any] | None = None) -> Run:
    doc = plan_doc(
        email("intro"), wait("w", duration={"days": 3}), voice("call"), end("done"), exitOn=rules
    )
    return Run(compiled_context(doc, contact))


def _waiting(run: Run) -> Run:
    """Intro sent: the run waits on its 3-day timer."""
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "allow"))
    run.feed(SendCompleted(0, "intro", "delivered"))
    assert run.state.status is Status.WAITING
    return run


def _event(tick: int, kind: str, step_id: str | None = "intro", ev_id: str | None = None) -> Any:
    return EventIngested(tick, Event(kind, tick, ev_id, step_id))


def _exited(run: Run, outcome: str, tick: int) -> None:
    last = run.log[-1]
    exits = last.entries("exit")
    assert [(e.tick, e.outcome) for e in exits] == [(tick, outcome)]
    assert CompleteRun(outcome) in last.commands
    assert run.state.status is Status.COMPLETED and run.state.outcome == outcome
    assert run.state.timer is None and run.state.failure is None and not run.state.paused
    assert not [c for s in run.log for c in s.sends if s.inp.tick > tick]


def test_a_reply_during_a_wait_ends_the_run_at_its_tick() -> None:
    run = _waiting(_run())
    timer = run.state.timer
    assert timer is not None
    run.feed(_event(10, "email.replied"))
    _exited(run, "replied", 10)
    detail = run.log[-1].entries("exit")[0].detail
    assert detail["rule"] == 0 and detail["event"] == {"type": "email.replied", "stepId": "intro"}
    # the cancelled wait's timer, should it still fire, decides nothing
    assert run.feed(TimerFired(timer.until_tick, timer.timer_id)).commands == []


def test_an_unsubscribe_cancels_a_policy_deferral() -> None:
    run = _run()
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "defer", "hours", None, 500))
    assert run.state.status is Status.WAITING and run.state.timer is not None
    run.feed(_event(100, "email.unsubscribed", None))
    _exited(run, "unsubscribed", 100)


def test_an_exit_ends_a_paused_run_without_a_resume() -> None:
    run = _waiting(_run())
    run.feed(OperatorAction(5, "pause", OPS))
    assert run.state.status is Status.PAUSED
    run.feed(_event(6, "email.replied"))
    _exited(run, "replied", 6)


def test_an_exit_ends_a_failed_run_that_waits_for_an_operator() -> None:
    run = _run()
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "deny", "suppression", "on the list"))
    assert run.state.status is Status.FAILED
    run.feed(_event(3, "email.unsubscribed", None))
    _exited(run, "unsubscribed", 3)
    retry = OperatorAction(4, "retry", OPS)
    assert operator_problem(run.ctx, run.state, retry) == (
        "the run is completed; no operator action applies"
    )


@pytest.mark.parametrize("final", ["cancel", "exit"])
def test_a_final_run_takes_no_event(final: str) -> None:
    run = _waiting(_run())
    if final == "cancel":
        run.feed(OperatorAction(1, "cancel", OPS))
    else:
        run.feed(_event(1, "email.replied"))
    with pytest.raises(MachineError, match="takes no more events"):
        run.feed(_event(2, "email.unsubscribed"))


def test_a_step_scoped_rule_ignores_other_steps_events() -> None:
    run = _waiting(_run())
    run.feed(_event(5, "voice.answered", "intro"))
    assert run.state.status is Status.WAITING
    assert run.state.timer is not None
    run.feed(TimerFired(run.state.timer.until_tick, run.state.timer.timer_id))
    tick = run.state.tick
    run.feed(PolicyDecided(tick, "call", "allow"))
    run.feed(SendCompleted(tick, "call", "delivered"))  # no exit: on to the end step
    assert run.state.outcome == "done"
    run2 = _waiting(_run())
    run2.feed(_event(7, "voice.answered", "call"))
    _exited(run2, "connected", 7)


def test_a_when_rule_sees_the_state_after_its_event() -> None:
    run = _waiting(_run())
    run.feed(_event(8, "email.bounced"))
    _exited(run, "bounced", 8)
    assert run.log[-1].entries("exit")[0].detail["rule"] == 3


def test_a_when_that_fails_to_evaluate_fails_the_run_closed() -> None:
    rules = [{"when": "contact.score > 3", "outcome": "hot"}, *RULES]
    run = _waiting(_run(rules, {"id": "c"}))
    run.feed(_event(9, "email.replied"))
    entries = run.log[-1].entries("exit")
    assert [(e.outcome, e.detail["rule"]) for e in entries] == [("error", 0)]
    assert run.state.status is Status.FAILED
    assert run.state.failure is not None and run.state.failure.kind == "exit_error"
    assert "exit rule 0" in run.state.failure.reason
    retry = OperatorAction(10, "retry", OPS)
    assert "resolve" in (operator_problem(run.ctx, run.state, retry) or "")


def test_a_when_that_fails_while_the_gate_decides_fails_the_run_after_the_answer() -> None:
    rules = [{"when": "contact.score > 3", "outcome": "hot"}]
    run = _run(rules, {"id": "c"})
    run.feed(Start(0))
    run.feed(_event(1, "email.opened"))
    assert run.state.status is Status.RUNNING and run.state.exiting is not None
    done = run.feed(PolicyDecided(2, "intro", "allow"))
    assert not done.sends
    assert (done.entries()[0].action, done.entries()[0].outcome) == ("policy_check", "allowed")
    assert any(isinstance(c, FailRun) for c in done.commands)
    assert run.state.status is Status.FAILED and run.state.failure is not None
    assert run.state.failure.kind == "exit_error"


@pytest.mark.parametrize("decision", ["allow", "defer", "deny"])
def test_a_pause_then_an_exit_while_the_gate_decides_sends_nothing(decision: str) -> None:
    run = _run()
    run.feed(Start(0))
    assert run.state.phase == "policy"
    run.feed(OperatorAction(1, "pause", OPS))
    done = run.feed(_event(2, "email.replied"))
    assert [e.outcome for e in done.entries("exit")] == ["pending"]
    assert done.entries("exit")[0].detail["inFlight"] == "policy"
    until = 600 if decision == "defer" else None
    run.feed(PolicyDecided(3, "intro", decision, "p", None, until))  # type: ignore[arg-type]
    _exited(run, "replied", 3)


def test_a_send_in_flight_is_recorded_then_the_run_exits() -> None:
    run = _run()
    run.feed(Start(0))
    sent = run.feed(PolicyDecided(0, "intro", "allow"))
    assert [type(c) for c in sent.sends] == [SendEmail]
    run.feed(_event(1, "email.unsubscribed", None))
    done = run.feed(SendCompleted(4, "intro", "delivered"))
    assert [(e.action, e.outcome) for e in done.entries()] == [
        ("send_email", "delivered"),
        ("exit", "unsubscribed"),
    ]
    _exited(run, "unsubscribed", 4)


def _continued(run: Run, answer: Any) -> Run:
    """Continue-as-new with a pending exit: the restored state is the same state, and
    the in-flight answer does the same to it."""
    assert run.state.exiting is not None
    restored = state_from_dict(json.loads(json.dumps(state_to_dict(run.state))))
    assert restored == run.state
    twin = Run(run.ctx, restored)
    assert twin.feed(answer).commands == run.feed(answer).commands
    assert twin.state == run.state
    return twin


def test_a_pending_exit_survives_continue_as_new() -> None:
    run = _run()
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "allow"))
    run.feed(_event(1, "email.replied"))
    twin = _continued(run, SendCompleted(2, "intro", "failed", "bounced"))
    assert twin.state.outcome == "replied"


@pytest.mark.parametrize("first", ["event", "timer"])
def test_an_event_on_the_timers_tick(first: str) -> None:
    """Before the timer: the wait ends by the exit. After it: the call's policy check is
    in flight, the exit waits for it, and the call is never placed."""
    run = _waiting(_run())
    timer = run.state.timer
    assert timer is not None
    at = timer.until_tick
    if first == "timer":
        fired = run.feed(TimerFired(at, timer.timer_id))
        assert [c for c in fired.commands if isinstance(c, CheckPolicy)]
    run.feed(_event(at, "email.replied"))
    if first == "timer":
        run.feed(PolicyDecided(at, "call", "allow"))
    _exited(run, "replied", at)
    assert not [c for s in run.log for c in s.commands if isinstance(c, SendVoice)]


def test_a_duplicate_event_id_triggers_nothing_twice() -> None:
    run = _waiting(_run([{"event": "email.opened", "outcome": "opened"}]))
    run.feed(_event(1, "email.clicked", ev_id="e1"))
    done = run.feed(_event(2, "email.opened", ev_id="e1"))
    assert [e.outcome for e in done.entries("event")] == ["duplicate"]
    assert run.state.status is Status.WAITING
    assert isinstance(run.state, RunState)


def test_a_reply_from_someone_else_triggers_no_reply_rule() -> None:
    foreign = Event("email.replied", 3, None, "intro", {"fromContact": False})
    run = _waiting(_run())
    run.feed(EventIngested(3, foreign))
    assert run.state.status is Status.WAITING
    doc = plan_doc(
        email("intro"), wait("w", duration={"days": 3}), voice("call"), end("done"), exitOn=RULES
    )
    legacy = Run(compiled_context(doc, config=MachineConfig(reply_senders=False)))
    _waiting(legacy).feed(EventIngested(3, foreign))
    _exited(legacy, "replied", 3)


def _await_doc(until: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return plan_doc(
        email("intro"),
        {
            "type": "waitForEvent",
            "id": "await",
            "until": until,
            "timeout": {"days": 1},
            "onEvent": "warm",
            "onTimeout": "done",
        },
        email("warm"),
        voice("call"),
        end("done"),
        exitOn=rules,
    )


def test_an_exit_wins_over_a_wait_for_event_the_same_event_satisfies() -> None:
    run = _waiting(Run(compiled_context(_await_doc('events.hasReply("intro")', RULES))))
    run.feed(_event(4, "email.replied"))
    _exited(run, "replied", 4)
    assert not run.log[-1].entries("wait_for_event")


def test_an_until_that_fails_on_an_event_fails_the_run_closed() -> None:
    doc = _await_doc('events.hasOpen("intro") && contact.score > 3', RULES)
    run = _waiting(Run(compiled_context(doc, {"id": "c"})))
    run.feed(_event(4, "email.opened"))
    assert run.state.status is Status.FAILED and run.state.failure is not None
    assert run.state.failure.kind == "condition_error" and run.state.failure.step_id == "await"
    assert [e.outcome for e in run.log[-1].entries("wait_for_event")] == ["error"]
    run.feed(_event(5, "email.unsubscribed", None))  # an exit still ends it
    _exited(run, "unsubscribed", 5)


def test_a_pending_exit_error_survives_continue_as_new() -> None:
    run = _run([{"when": "contact.score > 3", "outcome": "hot"}], {"id": "c"})
    run.feed(Start(0))
    run.feed(_event(1, "email.opened"))
    assert run.state.exiting is not None and run.state.exiting.outcome is None
    twin = _continued(run, PolicyDecided(2, "intro", "deny", "p", "no"))
    assert twin.state.failure is not None and twin.state.failure.kind == "exit_error"


def test_a_cancel_drops_a_pending_exit_and_the_late_send_is_recorded_after_it() -> None:
    run = _run()
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "allow"))
    run.feed(_event(1, "email.replied"))
    run.feed(OperatorAction(2, "cancel", OPS))
    assert run.state.status is Status.CANCELED and run.state.exiting is None
    late = run.feed(SendCompleted(3, "intro", "delivered"))
    assert [(e.action, e.outcome, e.detail.get("afterCancel")) for e in late.entries()] == [
        ("send_email", "delivered", True)
    ]
    assert run.state.status is Status.CANCELED and run.state.outcome is None


def test_an_exit_rule_failing_before_the_start_fails_the_simulated_run() -> None:
    """Found attacking the machine: ``simulate`` fed ``Start`` to the run an exit rule's
    error had failed on a start-tick event, and raised "the run has already started"."""
    doc = plan_doc(
        email("mail"), end("done"), exitOn=[{"when": "contact.score > 3", "outcome": "x"}]
    )
    events = [Event("email.opened", 0, None, "mail"), Event("email.opened", 9, None, "mail")]
    trace = simulate(compiled_context(doc).plan, {"id": "c"}, events)
    assert (trace.status, trace.path, trace.tick) == ("FAILED", (), 9)
    assert [(e.tick, e.action, e.outcome) for e in trace.entries if e.action != "event"] == [
        (0, "exit", "error"),
        (0, "run", "failed"),
        (9, "exit", "error"),  # recorded; the run's failure stays the first one
    ]


def test_a_failing_when_keeps_the_failure_an_operator_must_resolve() -> None:
    """A send in doubt stays resolvable with ``mark_sent``: the rule's error is recorded,
    and the run's failure (its kind says what an operator may do) is not replaced."""
    rules = [{"when": "contact.score > 3", "outcome": "hot"}]
    run = _run(rules, {"id": "c"})
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "allow"))
    run.feed(SendCompleted(0, "intro", "unknown", "worker lost"))
    assert run.state.failure is not None
    kind = run.state.failure.kind
    done = run.feed(_event(5, "email.opened"))
    assert [(e.action, e.outcome) for e in done.entries()][-1] == ("exit", "error")
    assert not any(isinstance(c, FailRun) for c in done.commands)
    assert run.state.status is Status.FAILED and run.state.failure.kind == kind
    mark = OperatorAction(6, "resolve", OPS, resolution="mark_sent")
    assert operator_problem(run.ctx, run.state, mark) is None
