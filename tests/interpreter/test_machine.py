"""The step machine driven input by input: statuses, operator actions, fail-closed."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import (
    CancelRun,
    CheckPolicy,
    Command,
    CompleteRun,
    Event,
    EventIngested,
    ExecutionPlan,
    FailRun,
    MachineConfig,
    MachineError,
    OperatorAction,
    PlanMetadata,
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
    compile_plan,
    ensure_valid,
    operator_problem,
    step,
    steps,
)

META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")


def _plan() -> ExecutionPlan:
    return ensure_valid(
        ExecutionPlan(
            id="machine-test",
            version=1,
            name="Machine test",
            metadata=META,
            steps=(
                steps.send_email(id="mail", template_id="t", subject="Hello"),
                steps.wait(id="pause-1h", duration={"hours": 1}),
                steps.branch(
                    id="check",
                    conditions=[
                        {"when": 'events.hasReply("mail")', "goto": "done"},
                        {"when": "contact.score > 3", "goto": "call"},
                        {"when": "default", "goto": "done"},
                    ],
                ),
                steps.send_voice(
                    id="call",
                    script_id="s",
                    caller_id="+15551234567",
                    max_duration={"minutes": 2},
                    voicemail={"detect": True, "message_id": "vm"},
                ),
                steps.end(id="done", outcome="finished"),
            ),
        )
    )


def _ctx(contact: dict[str, Any] | None = None, **config: int) -> RunContext:
    return RunContext(
        compile_plan(_plan()), contact or {"id": "c", "score": 1}, {}, MachineConfig(**config)
    )


def _records(cmds: list[Command]) -> list[tuple[str, str, str]]:
    return [(c.step_id, c.action, c.outcome) for c in cmds if isinstance(c, TraceEntry)]


def _effects(cmds: list[Command]) -> list[Command]:
    return [c for c in cmds if not isinstance(c, TraceEntry)]


def _op(tick: int, action: str, **kw: Any) -> OperatorAction:
    return OperatorAction(tick, action, by="ops@example.com", **kw)  # type: ignore[arg-type]


def _to_wait(ctx: RunContext) -> RunState:
    """Start, allow and deliver the email: the run is waiting on its 1-hour timer."""
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    s, _ = step(ctx, s, SendCompleted(0, "mail", "delivered"))
    return s


def test_start_asks_the_policy_gate_before_any_send() -> None:
    ctx = _ctx()
    s, cmds = step(ctx, RunState(), Start(0))
    assert s.status == Status.RUNNING
    assert _effects(cmds) == [CheckPolicy("mail", 1, "email")]
    s, cmds = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    assert _effects(cmds) == [SendEmail("mail", 1, "t", "Hello", None, False, False)]


def test_records_come_before_the_effect_they_justify() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    _, cmds = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    kinds = [type(c).__name__ for c in cmds]
    assert kinds == ["TraceEntry", "SendEmail"]


def test_a_wait_is_a_timer_and_the_run_is_waiting() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    assert s.status == Status.WAITING
    assert s.timer is not None and s.timer.until_tick == 3_600


def test_a_wait_respects_the_tick_interval() -> None:
    ctx = RunContext(compile_plan(_plan(), tick_interval_ms=500), {"id": "c", "score": 1})
    s = _to_wait(ctx)
    assert s.timer is not None and s.timer.until_tick == 7_200


def test_timer_fired_early_is_refused_and_a_stale_timer_is_ignored() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    assert s.timer is not None
    with pytest.raises(MachineError, match="before 3600"):
        step(ctx, s, TimerFired(10, s.timer.timer_id))
    same, cmds = step(ctx, s, TimerFired(3_600, "t-unknown"))
    assert cmds == [] and same.status == Status.WAITING


def test_the_branch_routes_on_contact_fields_and_voice_gets_its_parameters() -> None:
    ctx = _ctx({"id": "c", "score": 9})
    s = _to_wait(ctx)
    assert s.timer is not None
    s, cmds = step(ctx, s, TimerFired(3_600, s.timer.timer_id))
    assert ("check", "evaluate", "branch:call") in _records(cmds)
    # The gate reserves the call's longest duration: the command carries it.
    assert _effects(cmds) == [CheckPolicy("call", 1, "voice", 120, caller_id="+15551234567")]
    s, cmds = step(ctx, s, PolicyDecided(3_600, "call", "allow"))
    assert _effects(cmds) == [SendVoice("call", 1, "s", "+15551234567", 120, True, "vm")]


def test_a_condition_error_fails_the_run_instead_of_reading_false() -> None:
    ctx = _ctx({"id": "c"})  # no "score": contact.score cannot be read
    s = _to_wait(ctx)
    assert s.timer is not None
    s, cmds = step(ctx, s, TimerFired(3_600, s.timer.timer_id))
    assert s.status == Status.FAILED
    assert s.failure is not None and s.failure.kind == "condition_error"
    assert ("check", "evaluate", "error") in _records(cmds)
    assert "score" in s.failure.reason
    assert _effects(cmds) == [FailRun("check", s.failure.reason)]


def test_a_denied_policy_fails_closed_and_sends_nothing() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, cmds = step(ctx, s, PolicyDecided(0, "mail", "deny", "suppression", "global list"))
    assert s.status == Status.FAILED
    assert not any(isinstance(c, SendEmail) for c in cmds)
    assert ("mail", "policy_check", "denied") in _records(cmds)


def test_a_failed_send_then_retry_checks_policy_and_sends_once_with_the_same_visit() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    s, cmds = step(ctx, s, SendCompleted(0, "mail", "failed", "smtp_timeout"))
    assert s.status == Status.FAILED and _effects(cmds) == [FailRun("mail", "smtp_timeout")]
    s, cmds = step(ctx, s, _op(5, "retry", reason="provider back"))
    assert ("mail", "retry", "accepted") in _records(cmds)
    assert _effects(cmds) == [CheckPolicy("mail", 1, "email")]
    s, cmds = step(ctx, s, PolicyDecided(5, "mail", "allow"))
    assert [c for c in _effects(cmds) if isinstance(c, SendEmail)] == [
        SendEmail("mail", 1, "t", "Hello", None, False, False)
    ]
    assert s.visits["mail"] == 1


def test_an_unknown_send_fails_the_run_as_unknown_never_as_failed() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    s, cmds = step(ctx, s, SendCompleted(0, "mail", "unknown", "worker died", {"provider": "x"}))
    assert s.status == Status.FAILED and s.failure is not None
    assert s.failure.kind == "send_outcome_unknown"
    assert s.failure.reason == "send_outcome_unknown: worker died"
    assert ("mail", "send_email", "unknown") in _records(cmds)
    assert ("mail", "send_email", "failed") not in _records(cmds)
    # retry --resend is recorded with who decided; the send keeps its visit (Message-ID)
    again, cmds = step(ctx, s, _op(2, "retry", reason="not in the log", resolution="resend"))
    assert again.status == Status.RUNNING and again.failure is None
    [retried] = [c for c in cmds if isinstance(c, TraceEntry) and c.action == "retry"]
    assert retried.detail == {
        "by": "ops@example.com", "reason": "not in the log", "kind": "send_outcome_unknown",
        "resend": True,
    }  # fmt: skip
    assert _effects(cmds) == [CheckPolicy("mail", 1, "email")]
    # resolve --mark-sent: the operator checked; the run continues after the send
    marked, cmds = step(ctx, s, _op(2, "resolve", resolution="mark_sent", reason="in the log"))
    assert ("mail", "resolve", "mark_sent") in _records(cmds)
    assert marked.status == Status.WAITING and marked.step_id == "pause-1h"


def test_resend_and_mark_sent_apply_to_failed_sends_only() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    denied, _ = step(ctx, s, PolicyDecided(0, "mail", "deny", "consent", "no consent"))
    assert operator_problem(ctx, denied, _op(1, "resolve", resolution="mark_sent")) == (
        "resolve --mark-sent applies to a failed send; this run failed otherwise"
    )
    assert operator_problem(ctx, denied, _op(1, "retry", resolution="resend")) == (
        "retry --resend applies to a failed send; this run failed otherwise"
    )
    assert operator_problem(ctx, denied, _op(1, "retry", resolution="end")) == (
        "retry takes no resolution but 'resend'"
    )


def test_resolve_skip_continues_at_the_named_step_and_end_completes() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    failed, _ = step(ctx, s, PolicyDecided(0, "mail", "deny", "consent", "no consent"))
    s, cmds = step(ctx, failed, _op(1, "resolve", resolution="skip", target="done"))
    assert s.status == Status.COMPLETED and s.outcome == "finished"
    assert ("mail", "resolve", "skip") in _records(cmds)
    s, cmds = step(ctx, failed, _op(1, "resolve", resolution="end", target="abandoned"))
    assert s.status == Status.COMPLETED and _effects(cmds) == [CompleteRun("abandoned")]


def test_pause_holds_the_run_before_its_next_step_and_resume_continues() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    assert s.timer is not None
    s, _ = step(ctx, s, _op(10, "pause", reason="investigating"))
    assert s.status == Status.PAUSED
    s, cmds = step(ctx, s, TimerFired(3_600, s.timer.timer_id))
    assert ("pause-1h", "wait", "completed") in _records(cmds)
    assert ("check", "pause", "held") in _records(cmds)
    assert _effects(cmds) == [] and s.status == Status.PAUSED
    s, cmds = step(ctx, s, _op(4_000, "resume"))
    assert ("check", "evaluate", "branch:done") in _records(cmds)
    assert s.status == Status.COMPLETED


def test_pause_while_a_policy_check_is_in_flight_holds_the_send_and_resume_rechecks() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, _op(0, "pause"))
    s, cmds = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    assert not any(isinstance(c, SendEmail) for c in cmds)
    s, cmds = step(ctx, s, _op(50, "resume"))
    assert _effects(cmds) == [CheckPolicy("mail", 1, "email")]  # a fresh decision, not a stale one
    assert s.status == Status.RUNNING


def test_resume_of_a_waiting_run_returns_it_to_waiting() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    s, _ = step(ctx, s, _op(1, "pause"))
    s, cmds = step(ctx, s, _op(2, "resume"))
    assert s.status == Status.WAITING and _effects(cmds) == []


def test_cancel_is_final() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    s, cmds = step(ctx, s, _op(1, "cancel", reason="contact asked"))
    assert s.status == Status.CANCELED and _effects(cmds) == [CancelRun("contact asked")]
    for action in ("pause", "resume", "cancel", "retry"):
        with pytest.raises(MachineError, match="canceled"):
            step(ctx, s, _op(2, action))
    with pytest.raises(MachineError, match="no more events"):
        step(ctx, s, EventIngested(2, Event("email.opened", 2, "e", "mail")))


@pytest.mark.parametrize(
    ("action", "kwargs", "message"),
    [
        ("resume", {}, "not paused"),
        ("retry", {}, "only a failed run can be retried"),
        ("resolve", {"resolution": "end", "target": "x"}, "only a failed run can be resolved"),
    ],
)
def test_invalid_operator_actions_on_a_running_run_are_refused(
    action: str, kwargs: dict[str, Any], message: str
) -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    with pytest.raises(MachineError, match=message):
        step(ctx, s, _op(1, action, **kwargs))


def test_invalid_resolutions_are_refused_with_the_reason() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "deny", "limit", "daily limit"))
    with pytest.raises(MachineError, match="not a step of this plan"):
        step(ctx, s, _op(1, "resolve", resolution="skip", target="nowhere"))
    with pytest.raises(MachineError, match="needs a target"):
        step(ctx, s, _op(1, "resolve", resolution="end"))
    with pytest.raises(MachineError, match="pending, running or waiting"):
        step(ctx, s, _op(1, "pause"))
    with pytest.raises(MachineError, match="who"):
        step(ctx, s, OperatorAction(1, "retry", by=" "))


def test_results_for_a_step_the_run_is_not_on_are_refused() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    with pytest.raises(MachineError, match="no send result is awaited"):
        step(ctx, s, SendCompleted(0, "mail", "delivered"))
    with pytest.raises(MachineError, match="no policy result is awaited"):
        step(ctx, s, PolicyDecided(0, "call", "allow"))


def test_time_cannot_run_backwards() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    s, _ = step(ctx, s, EventIngested(100, Event("email.opened", 100, "e1", "mail")))
    with pytest.raises(MachineError, match="before the run's current tick"):
        step(ctx, s, EventIngested(99, Event("email.opened", 99, "e2", "mail")))


def test_duplicate_events_are_recorded_once_and_change_nothing() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    reply = Event("email.replied", 50, "provider-evt-1", "mail", {"from": "a@b.c"})
    s, cmds = step(ctx, s, EventIngested(50, reply))
    assert _records(cmds) == [("mail", "event", "ingested")]
    again, cmds = step(ctx, s, EventIngested(60, reply))
    assert _records(cmds) == [("mail", "event", "duplicate")]
    assert again.events == s.events


def test_the_step_budget_fails_a_run_that_would_loop_forever() -> None:
    ctx = _ctx(step_budget=2)
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    s, cmds = step(ctx, s, SendCompleted(0, "mail", "delivered"))
    s, cmds = step(ctx, s, TimerFired(3_600, s.timer.timer_id)) if s.timer else (s, cmds)
    assert s.status == Status.FAILED
    assert s.failure is not None and s.failure.kind == "step_budget"
    with pytest.raises(MachineError, match="step budget"):
        step(ctx, s, _op(4_000, "retry"))


def test_a_deferral_needs_a_future_tick_and_becomes_a_timer() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    with pytest.raises(MachineError, match="later until_tick"):
        step(ctx, s, PolicyDecided(0, "mail", "defer", "hours", "night", until_tick=0))
    s, cmds = step(ctx, s, PolicyDecided(0, "mail", "defer", "hours", "night", until_tick=500))
    assert _effects(cmds) == [StartTimer("t1", 500, "mail", "defer")]
    assert s.status == Status.WAITING
    s, cmds = step(ctx, s, TimerFired(500, "t1"))
    assert _effects(cmds) == [CheckPolicy("mail", 1, "email")]


def test_step_does_not_mutate_the_state_it_is_given() -> None:
    ctx = _ctx()
    s = _to_wait(ctx)
    before = (s.status, s.phase, s.step_id, dict(s.visits), s.events, s.timer, s.executed)
    step(ctx, s, EventIngested(10, Event("email.replied", 10, "x", "mail")))
    step(ctx, s, _op(10, "pause"))
    after = (s.status, s.phase, s.step_id, dict(s.visits), s.events, s.timer, s.executed)
    assert before == after


def test_a_send_that_completes_after_cancel_is_still_recorded_and_nothing_follows() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    s, _ = step(ctx, s, _op(1, "cancel", reason="stop"))
    s, cmds = step(ctx, s, SendCompleted(2, "mail", "delivered"))
    assert _records(cmds) == [("mail", "send_email", "delivered")]
    assert _effects(cmds) == [] and s.status == Status.CANCELED


def test_a_paused_run_that_fails_is_failed_not_paused_and_can_be_retried() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, _op(0, "pause"))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "deny", "consent", "no record"))
    assert (s.status, s.paused) == (Status.FAILED, False)
    with pytest.raises(MachineError, match="not paused"):
        step(ctx, s, _op(1, "resume"))
    s, cmds = step(ctx, s, _op(1, "retry"))
    assert _effects(cmds) == [CheckPolicy("mail", 1, "email")]


def test_a_late_send_result_after_cancel_keeps_its_detail() -> None:
    ctx = _ctx()
    s, _ = step(ctx, RunState(), Start(0))
    s, _ = step(ctx, s, PolicyDecided(0, "mail", "allow"))
    s, _ = step(ctx, s, _op(1, "cancel", reason="stop"))
    detail = {"providerMessageId": "<m@x>", "cost": "0.01"}
    _, cmds = step(ctx, s, SendCompleted(2, "mail", "delivered", None, detail))
    [record] = [c for c in cmds if isinstance(c, TraceEntry)]
    assert record.detail == {**detail, "afterCancel": True}
