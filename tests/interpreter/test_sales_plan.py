"""The documents' sales sequence takes the expected path for each event pattern."""

from __future__ import annotations

from interpreter import Event, simulate, validate

from .helpers import SALES_REGISTRY, sales_plan

WAIT_TICKS = 3 * 86_400 + 12 * 3_600  # 3 days 12 hours at the default 1000 ms per tick
COLD = ["intro-email", "wait-for-reply", "check-response", "cold-follow-up", "follow-up-call"]


def _path(events: list[Event]) -> list[str]:
    return list(simulate(sales_plan(), {"id": "c-1"}, events).path)


def _branch_path(events: list[Event]) -> list[str]:
    """The path with the plan's exit rules removed: what its reply branch alone decides."""
    plan = sales_plan().model_copy(update={"exit_on": None})
    return list(simulate(plan, {"id": "c-1"}, events).path)


def test_the_sales_plan_is_valid_against_its_registry() -> None:
    assert validate(sales_plan(), registry=SALES_REGISTRY) == []


def test_no_events_takes_the_cold_path_and_calls() -> None:
    trace = simulate(sales_plan(), {"id": "c-1"}, [])
    assert list(trace.path) == [*COLD, "end-followed-up"]
    assert (trace.status, trace.outcome) == ("COMPLETED", "followed-up")


def test_an_open_takes_the_warm_path() -> None:
    path = _path([Event("email.opened", 3_600, "o-1", "intro-email")])
    assert path == [
        "intro-email",
        "wait-for-reply",
        "check-response",
        "warm-follow-up",
        "end-followed-up",
    ]


def test_a_reply_ends_the_sequence_with_outcome_replied() -> None:
    events = [
        Event("email.opened", 100, "o-1", "intro-email"),
        Event("email.replied", 200, "r-1", "intro-email"),
    ]
    trace = simulate(sales_plan(), {"id": "c-1"}, events)
    # The exit rule ends the run at the reply's tick: the wait is cancelled.
    assert list(trace.path) == ["intro-email", "wait-for-reply"]
    assert (trace.status, trace.outcome) == ("COMPLETED", "replied")
    last = trace.entries[-1]
    assert (last.tick, last.action, last.outcome) == (200, "exit", "replied")
    assert _branch_path(events) == [
        "intro-email",
        "wait-for-reply",
        "check-response",
        "end-sequence",
    ]


def test_a_reply_from_someone_else_is_no_reply_in_a_simulation() -> None:
    """As in a live run: the receiver marked it ``fromContact: false``."""
    stranger = Event("email.replied", 200, "r-x", "intro-email", {"fromContact": False})
    opened = Event("email.opened", 100, "o-1", "intro-email")
    assert _path([stranger]) == [*COLD, "end-followed-up"]
    assert _path([opened, stranger])[-2] == "warm-follow-up"


def test_an_event_for_a_different_step_does_not_count() -> None:
    events = [
        Event("email.replied", 100, "r-1", "warm-follow-up"),
        Event("email.opened", 100, "o-1", "some-other-step"),
    ]
    assert _branch_path(events) == [*COLD, "end-followed-up"]
    # The plan's exit rule takes any step's reply.
    assert _path(events) == ["intro-email", "wait-for-reply"]


def test_a_reply_after_the_branch_was_evaluated_is_not_seen_by_it() -> None:
    late = Event("email.replied", WAIT_TICKS + 1, "r-late", "intro-email")
    trace = simulate(sales_plan(), {"id": "c-1"}, [late])
    assert list(trace.path) == [*COLD, "end-followed-up"]
    evaluate = next(e for e in trace.entries if e.action == "evaluate")
    assert (evaluate.tick, evaluate.outcome) == (WAIT_TICKS, "branch:cold-follow-up")


def test_a_reply_at_the_very_tick_of_the_branch_is_seen() -> None:
    on_time = Event("email.replied", WAIT_TICKS, "r-1", "intro-email")
    assert _branch_path([on_time])[-1] == "end-sequence"


def test_the_wait_lasts_exactly_three_and_a_half_days_of_ticks() -> None:
    trace = simulate(sales_plan(), {"id": "c-1"}, [])
    wait_done = next(e for e in trace.entries if (e.action, e.outcome) == ("wait", "completed"))
    assert wait_done.tick == WAIT_TICKS == 302_400


def test_the_trace_records_each_decision_in_order() -> None:
    trace = simulate(sales_plan(), {"id": "c-1"}, [Event("email.opened", 5, "o-1", "intro-email")])
    rendered = [f"{e.tick} {e.step_id} {e.action} {e.outcome}" for e in trace.entries]
    assert rendered == [
        "0 @run start started",
        "0 intro-email enter visit:1",
        "0 intro-email policy_check allowed",
        "0 intro-email send_email delivered",
        "0 wait-for-reply enter visit:1",
        "0 wait-for-reply wait started",
        "5 intro-email event ingested",
        "302400 wait-for-reply wait completed",
        "302400 check-response enter visit:1",
        "302400 check-response evaluate branch:warm-follow-up",
        "302400 warm-follow-up enter visit:1",
        "302400 warm-follow-up policy_check allowed",
        "302400 warm-follow-up send_email delivered",
        "302400 end-followed-up enter visit:1",
        "302400 end-followed-up end followed-up",
    ]


def test_a_failed_send_fails_the_run_closed_with_the_reason() -> None:
    results = {"intro-email": {"status": "failed", "reason": "smtp_timeout"}}
    trace = simulate(sales_plan(), {"id": "c-1"}, [], results)
    assert trace.status == "FAILED"
    assert list(trace.path) == ["intro-email"]
    last = trace.entries[-1]
    assert (last.step_id, last.action, last.outcome) == ("@run", "run", "failed")
    assert last.detail["reason"] == "step_failed(intro-email)"
    assert last.detail["cause"] == "smtp_timeout"


def test_a_policy_deferral_is_recorded_and_the_send_happens_at_the_target_tick() -> None:
    results = {"follow-up-call": {"policy": "defer", "untilTick": WAIT_TICKS + 7_200}}
    trace = simulate(sales_plan(), {"id": "c-1"}, [], results)
    call = [e for e in trace.entries if e.step_id == "follow-up-call"]
    assert [(e.tick, e.action, e.outcome) for e in call] == [
        (WAIT_TICKS, "enter", "visit:1"),
        (WAIT_TICKS, "policy_check", "deferred"),
        (WAIT_TICKS + 7_200, "defer", "completed"),
        (WAIT_TICKS + 7_200, "policy_check", "allowed"),
        (WAIT_TICKS + 7_200, "send_voice", "delivered"),
    ]
    assert call[1].detail["untilTick"] == WAIT_TICKS + 7_200
