"""The example plans: each validates against the shipped templates and simulates, and the
stop-on-reply features do in them what their comments say."""

from __future__ import annotations

import pytest

from dee.content import load_registry
from interpreter import Event, Trace, simulate, validate
from interpreter.compiled import DEFAULT_START_AT_MS
from interpreter.local_time import parse_utc_iso

from .helpers import ROOT, load_example

PLANS = sorted(p.name for p in (ROOT / "plans").glob("*.yaml"))
DEBT = {"invoice_number": "INV-7", "amount_due": 200}
DAY = 86_400


def _sends(trace: Trace) -> list[tuple[int, str]]:
    return [(e.tick, e.step_id) for e in trace.entries if e.action.startswith("send_")]


@pytest.mark.parametrize("name", PLANS)
def test_every_example_plan_validates_and_simulates_to_an_end(name: str) -> None:
    plan = load_example(name)
    assert validate(plan, registry=load_registry(ROOT / "templates")) == []
    trace = simulate(plan, {"id": "c-1"}, variables=DEBT)
    assert trace.status == "COMPLETED" and trace.outcome, trace.entries[-1]


def test_a_reply_after_the_first_collections_call_stops_the_firm_email() -> None:
    # The case: the call went out, the debtor replied; nothing more is sent.
    plan = load_example("collections-sequence.yaml")
    quiet = simulate(plan, {"id": "c-1"}, variables=DEBT)
    call_tick = dict((s, t) for t, s in _sends(quiet))["first-call"]
    reply = Event("email.replied", call_tick + 60, "r-1", "reminder-email")
    trace = simulate(plan, {"id": "c-1"}, [reply], variables=DEBT)
    assert (trace.status, trace.outcome, trace.tick) == ("COMPLETED", "engaged", call_tick + 60)
    assert [s for _, s in _sends(trace)] == ["reminder-email", "first-call"]


def test_an_answered_collections_call_ends_the_run_at_once() -> None:
    plan = load_example("collections-sequence.yaml")
    call_tick = dict((s, t) for t, s in _sends(simulate(plan, {"id": "c"}, variables=DEBT)))
    answered = Event("voice.answered", call_tick["first-call"] + 5, "a-1", "first-call")
    trace = simulate(plan, {"id": "c"}, [answered], variables=DEBT)
    exit_entry = trace.entries[-1]
    assert (exit_entry.action, exit_entry.outcome) == ("exit", "engaged")
    assert trace.tick == call_tick["first-call"] + 5


def test_a_bounced_reminder_and_a_failed_call_make_the_debtor_unreachable() -> None:
    plan = load_example("collections-sequence.yaml")
    ticks = dict((s, t) for t, s in _sends(simulate(plan, {"id": "c"}, variables=DEBT)))
    bounce = Event("email.bounced", ticks["reminder-email"] + 1, "b-1", "reminder-email")
    failed = Event("voice.failed", ticks["first-call"] + 1, "f-1", "first-call")
    trace = simulate(plan, {"id": "c"}, [bounce, failed], variables=DEBT)
    assert (trace.status, trace.outcome) == ("COMPLETED", "unreachable")
    assert "firm-email" not in trace.path


def test_collections_calls_only_in_the_debtors_calling_hours() -> None:
    # Started Monday 09:00 UTC = 03:00 in Chicago: the reminder waits for 09:00 local;
    # a debtor in Honolulu (UTC-10) is reached at 09:00 there instead.
    plan = load_example("collections-sequence.yaml")
    for contact, nine in (
        ({"id": "c"}, "2026-01-05T09:00:00-06:00"),
        ({"id": "c", "timezone": "Pacific/Honolulu"}, "2026-01-05T09:00:00-10:00"),
    ):
        trace = simulate(plan, contact, variables=DEBT)
        first_tick, first = _sends(trace)[0]
        assert first == "reminder-email"
        assert first_tick == (parse_utc_iso(nine) - DEFAULT_START_AT_MS) // 1000


def test_a_click_while_awaiting_takes_the_warm_follow_up_at_once() -> None:
    plan = load_example("sales-await-reply.yaml")
    # 09:00 UTC Monday is 04:00 in New York: the intro goes at 09:00 local (tick 18000).
    click = Event("email.clicked", 18_000 + 3_600, "k-1", "intro-email")
    trace = simulate(plan, {"id": "c"}, [click])
    assert _sends(trace) == [(18_000, "intro-email"), (21_600, "warm-follow-up")]
    assert trace.outcome == "followed-up"


def test_no_click_in_three_days_waits_for_the_next_weekday_morning() -> None:
    plan = load_example("sales-await-reply.yaml")
    trace = simulate(plan, {"id": "c"})
    # Thursday 09:00 the timeout passes; the cold email goes at 09:30 local that day.
    assert _sends(trace) == [(18_000, "intro-email"), (18_000 + 3 * DAY + 1_800, "cold-follow-up")]


def test_a_reply_before_the_window_opens_sends_nothing() -> None:
    plan = load_example("sales-await-reply.yaml")
    trace = simulate(plan, {"id": "c"}, [Event("email.replied", 10, "r-1", "intro-email")])
    assert (trace.status, trace.outcome, trace.tick) == ("COMPLETED", "replied", 10)
    assert _sends(trace) == []
