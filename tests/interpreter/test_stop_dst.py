"""Local times on the 2026 US and EU DST change days, Lord Howe's half-hour change, a
run without a zone, and the run's start as the machine's input (determinism)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interpreter import (
    CheckPolicy,
    Event,
    EventIngested,
    MachineConfig,
    PolicyDecided,
    RunContext,
    SendEmail,
    Start,
    TimerFired,
    TraceEntry,
    simulate,
)
from interpreter.local_time import TZDATA_VERSION, Clock, utc_iso

from .stop_driver import Run, compiled_context, email, end, plan_doc, wait
from .strategies import generated_plans


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _wait_until(zone: str, start: str, until: dict[str, Any]) -> tuple[str, str]:
    """Where a ``wait`` until ``until`` started at ``start`` lands: (UTC, local)."""
    doc = plan_doc(wait("w", until=until), end("done"), defaultTimezone=zone)
    trace = simulate(compiled_context(doc).plan, {"id": "c"}, start_at=_ms(start))
    (started,) = [e for e in trace.entries if e.action == "wait" and e.outcome == "started"]
    assert trace.tick == started.detail["untilTick"]
    return utc_iso(_ms(start) + trace.tick * 1000), str(started.detail["untilLocal"])


@pytest.mark.parametrize(
    ("zone", "start", "until", "utc", "local"),
    [
        # US spring forward, 2026-03-08 02:00 -> 03:00: 02:30 does not exist, it moves
        # forward by the gap
        ("America/New_York", "2026-03-07T12:00:00-05:00", {"time": "02:30"},
         "2026-03-08T07:30:00.000Z", "2026-03-08T03:30:00-04:00"),
        # ... and a later "02:30" the same day is still that moved instant, after now
        ("America/New_York", "2026-03-08T03:10:00-04:00", {"time": "02:30"},
         "2026-03-08T07:30:00.000Z", "2026-03-08T03:30:00-04:00"),
        # US fall back, 2026-11-01 02:00 -> 01:00: 01:30 happens twice, the first counts
        ("America/New_York", "2026-10-31T12:00:00-04:00", {"time": "01:30"},
         "2026-11-01T05:30:00.000Z", "2026-11-01T01:30:00-04:00"),
        # ... so between the two, the next 01:30 is the next day's, not the second one
        ("America/New_York", "2026-11-01T01:45:00-04:00", {"time": "01:30"},
         "2026-11-02T06:30:00.000Z", "2026-11-02T01:30:00-05:00"),
        # a weekday wait across the change: Friday evening EST to Monday 09:00 EDT
        ("America/New_York", "2026-03-06T18:00:00-05:00",
         {"time": "09:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
         "2026-03-09T13:00:00.000Z", "2026-03-09T09:00:00-04:00"),
        # EU spring forward in London, 2026-03-29 01:00 -> 02:00
        ("Europe/London", "2026-03-28T12:00:00+00:00", {"time": "01:30"},
         "2026-03-29T01:30:00.000Z", "2026-03-29T02:30:00+01:00"),
        # EU fall back in London, 2026-10-25 02:00 -> 01:00: the first 01:30 (BST)
        ("Europe/London", "2026-10-24T12:00:00+01:00", {"time": "01:30"},
         "2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00+01:00"),
        # Lord Howe falls back half an hour, 2026-04-05 02:00 -> 01:30
        ("Australia/Lord_Howe", "2026-04-04T12:00:00+11:00", {"time": "01:45"},
         "2026-04-04T14:45:00.000Z", "2026-04-05T01:45:00+11:00"),
        # a time strictly after now: at 09:00 sharp, "09:00" is tomorrow's
        ("Asia/Kathmandu", "2026-01-05T09:00:00+05:45", {"time": "09:00"},
         "2026-01-06T03:15:00.000Z", "2026-01-06T09:00:00+05:45"),
    ],
)  # fmt: skip
def test_wait_until_on_dst_change_days(
    zone: str, start: str, until: dict[str, Any], utc: str, local: str
) -> None:
    assert _wait_until(zone, start, until) == (utc, local)


WEEKDAYS_9_TO_5 = {"from": "09:00", "to": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}


@pytest.mark.parametrize(
    ("start", "window", "sent"),
    [
        # Friday 18:00 before the US change: Monday 09:00, now EDT
        ("2026-03-06T18:00:00-05:00", WEEKDAYS_9_TO_5, "2026-03-09T13:00:00.000Z"),
        # Friday 18:00 before the fall back: Monday 09:00 EST
        ("2026-10-30T18:00:00-04:00", WEEKDAYS_9_TO_5, "2026-11-02T14:00:00.000Z"),
        # a Sunday window inside the spring-forward gap opens and closes at the same
        # instant that day: it is not open then, so the next Sunday's is taken
        ("2026-03-07T12:00:00-05:00", {"from": "02:00", "to": "03:00", "days": ["sun"]},
         "2026-03-15T06:00:00.000Z"),
    ],
)  # fmt: skip
def test_windows_on_dst_change_days(start: str, window: dict[str, Any], sent: str) -> None:
    doc = plan_doc(email("mail", window=window), end("done"))
    contact = {"id": "c", "timezone": "America/New_York"}
    trace = simulate(compiled_context(doc).plan, contact, start_at=_ms(start))
    (delivered,) = [e for e in trace.entries if e.action == "send_email"]
    assert utc_iso(_ms(start) + delivered.tick * 1000) == sent
    (deferred,) = [e for e in trace.entries if e.action == "window"]
    assert (deferred.outcome, deferred.detail["untilTick"]) == ("deferred", delivered.tick)


@pytest.mark.parametrize("step_kind", ["wait", "window"])
@pytest.mark.parametrize(
    ("contact_zone", "field", "says"),
    [
        (None, "timezone", "the contact has no 'timezone' and the plan no 'defaultTimezone'"),
        ("", "timezone", "the contact has no 'timezone' and the plan no 'defaultTimezone'"),
        ("Mars/Olympus_Mons", "timezone", "the contact's timezone: 'Mars/Olympus_Mons' is not"),
        # any JSON value: a list once raised TypeError (unhashable) out of the machine
        (["Europe/Paris"], "timezone", "the contact's timezone: ['Europe/Paris'] is not"),
        ({"zone": "Europe/Paris"}, "timezone", "the contact's timezone: {'zone'"),
        (7, "timezone", "the contact's timezone: 7 is not"),
    ],
)
def test_a_run_without_a_usable_zone_fails_closed_at_the_step(
    step_kind: str, contact_zone: object, field: str, says: str
) -> None:
    first = (
        wait("w", until={"time": "09:00"})
        if step_kind == "wait"
        else email("w", window=WEEKDAYS_9_TO_5)
    )
    contact: dict[str, Any] = {"id": "c"}
    if contact_zone is not None:
        contact[field] = contact_zone
    trace = simulate(compiled_context(plan_doc(first, end("done"))).plan, contact)
    assert trace.status == "FAILED" and trace.path == ("w",)
    (failed,) = [e for e in trace.entries if e.action == "run"]
    assert failed.detail["kind"] == "local_time" and failed.detail["stepId"] == "w"
    assert says in str(failed.detail["cause"]) and "step 'w'" in str(failed.detail["cause"])
    (error,) = [e for e in trace.entries if e.outcome == "error"]
    assert error.step_id == "w" and error.action == ("wait" if step_kind == "wait" else "window")
    assert not [e for e in trace.entries if e.action == "send_email"]


def test_an_empty_contact_zone_falls_back_to_the_plan_default() -> None:
    doc = plan_doc(wait("w", until={"time": "09:00"}), end("done"), defaultTimezone="Asia/Kolkata")
    trace = simulate(compiled_context(doc).plan, {"id": "c", "timezone": ""})
    (started,) = [e for e in trace.entries if e.action == "wait" and e.outcome == "started"]
    assert started.detail["timezone"] == "Asia/Kolkata"
    assert started.detail["zoneFrom"] == "plan.defaultTimezone"


_LOCAL_DOC = plan_doc(
    email("mail", window=WEEKDAYS_9_TO_5),
    {
        "type": "waitForEvent",
        "id": "await",
        "until": 'events.hasClick("mail")',
        "timeout": {"days": 2},
        "onEvent": "next",
        "onTimeout": "done",
    },
    wait("next", until={"time": "08:30", "days": ["tue", "thu"]}),
    end("done"),
    exitOn=[{"event": "email.replied", "outcome": "replied"}],
    defaultTimezone="Pacific/Chatham",
)


@given(
    st.integers(1_767_225_600_000, 1_798_761_600_000),
    st.lists(
        st.builds(
            Event,
            st.sampled_from(("email.clicked", "email.replied", "email.opened")),
            st.integers(0, 5 * 86_400),
            st.none(),
            st.just("mail"),
        ),
        max_size=3,
    ),
)
def test_a_run_is_a_function_of_plan_contact_events_and_start(
    start_at: int, events: list[Event]
) -> None:
    once = simulate(compiled_context(_LOCAL_DOC).plan, {"id": "c"}, events, start_at=start_at)
    again = simulate(compiled_context(_LOCAL_DOC).plan, {"id": "c"}, events, start_at=start_at)
    assert once.as_dict() == again.as_dict()
    trace = once.as_dict()
    (start,) = [e for e in trace["trace"] if e["action"] == "start"] or [None]
    if start is None:  # an exit at the start tick ends the run before it starts
        assert trace["outcome"] == "replied" and trace["trace"][-1]["action"] == "exit"
    else:
        assert start["detail"]["origin"] == utc_iso(start_at + start["tick"] * 1000)
        assert start["detail"]["tzdata"] == TZDATA_VERSION


@given(generated_plans(max_steps=10), st.integers(0, 2**41))
def test_a_plan_without_local_times_records_no_origin(generated: Any, start_at: int) -> None:
    trace = simulate(generated.plan, {"id": "c"}, start_at=start_at)
    assert trace.as_dict() == simulate(generated.plan, {"id": "c"}).as_dict()
    (start,) = [e for e in trace.entries if e.action == "start"]
    assert "origin" not in start.detail and "tzdata" not in start.detail


def test_a_reply_before_the_start_ends_the_run_and_later_start_tick_events_are_dropped() -> None:
    """Found by the determinism property: the simulator fed the start tick's next event
    to a run an exit had already completed (MachineError out of ``simulate``)."""
    events = [Event("email.replied", 0, None, "mail"), Event("email.clicked", 0, None, "mail")]
    trace = simulate(compiled_context(_LOCAL_DOC).plan, {"id": "c"}, events)
    assert (trace.status, trace.outcome, trace.path) == ("COMPLETED", "replied", ())
    assert [(e.action, e.outcome) for e in trace.entries] == [
        ("event", "ingested"),
        ("exit", "replied"),
    ]


def test_a_policy_answer_after_the_window_closed_waits_for_the_next_opening() -> None:
    """The gate answered after 17:00: allowed, but the window is closed, so the send
    waits for the next opening instead of going out."""
    start = _ms("2026-03-09T16:59:50-04:00")  # a Monday, EDT
    doc = plan_doc(email("mail", window=WEEKDAYS_9_TO_5), end("done"))
    ctx = compiled_context(doc, {"id": "c", "timezone": "America/New_York"})
    run = Run(RunContext(ctx.plan, ctx.contact, clock=Clock(start, 0, 1000)))
    assert [type(c) for c in run.feed(Start(0)).commands if not isinstance(c, TraceEntry)] == [
        CheckPolicy
    ]
    run.feed(EventIngested(20, Event("email.opened", 20, None, "mail")))
    late = run.feed(PolicyDecided(20, "mail", "allow"))
    assert not late.sends
    assert [(e.action, e.outcome) for e in late.entries()] == [
        ("policy_check", "allowed"),
        ("window", "deferred"),
    ]
    assert late.entries("window")[0].detail["opensLocal"] == "2026-03-10T09:00:00-04:00"
    assert run.state.timer is not None
    until = run.state.timer.until_tick
    assert utc_iso(start + until * 1000) == "2026-03-10T13:00:00.000Z"
    asked = run.feed(TimerFired(until, run.state.timer.timer_id))
    assert [type(c) for c in asked.commands if not isinstance(c, TraceEntry)] == [CheckPolicy]
    assert [type(c) for c in run.feed(PolicyDecided(until, "mail", "allow")).sends] == [SendEmail]


def test_a_window_no_tick_falls_in_fails_closed() -> None:
    """Hour-long ticks from 09:00 UTC never start inside 09:15-09:45 London time."""
    doc = plan_doc(email("mail", window={"from": "09:15", "to": "09:45"}), end("done"))
    plan = compiled_context(doc).plan
    contact = {"id": "c", "timezone": "Europe/London"}
    config = MachineConfig(tick_interval_ms=3_600_000)
    trace = simulate(plan, contact, config=config, start_at=_ms("2026-01-05T09:00:00+00:00"))
    assert trace.status == "FAILED"
    (failed,) = [e for e in trace.entries if e.action == "run"]
    assert failed.detail["kind"] == "local_time"
    assert "no tick of the run's clock falls inside the send window" in str(failed.detail["cause"])
    # minute ticks from an odd second: the first tick at or after the opening
    config = MachineConfig(tick_interval_ms=60_000)
    trace = simulate(plan, contact, config=config, start_at=_ms("2026-01-05T09:00:30+00:00"))
    (sent,) = [e for e in trace.entries if e.action == "send_email"]
    assert (sent.tick, trace.status) == (15, "COMPLETED")  # 09:15:30
