"""DEE replay and what-if of runs that stop on a reply: exit rules, waitForEvent, waits
until a local time and send windows (issue 19)."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interpreter import (
    CompiledPlan,
    Event,
    EventIngested,
    Input,
    OperatorAction,
    PolicyDecided,
    SendCompleted,
    Start,
    TimerFired,
    chain,
    compile_plan,
    parse_plan,
    simulate,
)
from interpreter.local_time import TZDATA_VERSION, parse_utc_iso
from interpreter.replay import RecordedRun, ReplayResult, inputs_from_audit, replay, what_if

from .test_replay import RECORDED, _drive

CONTACT = {"id": "c-1"}
# Friday 18:00 in New York (EST): the intro email's window opens Monday 09:00 EST.
FRIDAY_EVENING = parse_utc_iso("2026-01-09T23:00:00Z")
MONDAY_NINE = 226_800  # ticks from Friday 18:00 to Monday 09:00
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
WINDOW = {"from": "09:00", "to": "17:00", "days": WEEKDAYS}


def _doc(*, exits: bool = True) -> dict[str, Any]:
    """Intro email in a window, wait 2 days for a click, else wait until the next
    weekday 09:00 and send a cold email in the window; a click sends a warm one."""
    doc: dict[str, Any] = {
        "id": "stop-on-reply",
        "version": 1,
        "name": "Stop on reply",
        "metadata": {"createdAt": "2026-01-15T09:00:00Z", "createdBy": "ops@example.com"},
        "defaultTimezone": "America/New_York",
        "steps": [
            {
                "type": "sendEmail",
                "id": "intro",
                "templateId": "t1",
                "subject": "hi",
                "window": WINDOW,
            },
            {
                "type": "waitForEvent",
                "id": "await-click",
                "until": 'events.hasClick("intro")',
                "timeout": {"days": 2},
                "onEvent": "warm",
                "onTimeout": "next-morning",
            },
            {"type": "wait", "id": "next-morning", "until": {"time": "09:00", "days": WEEKDAYS}},
            {
                "type": "sendEmail",
                "id": "cold",
                "templateId": "t2",
                "subject": "re",
                "window": WINDOW,
            },
            {"type": "end", "id": "done", "outcome": "followed-up"},
            {"type": "sendEmail", "id": "warm", "templateId": "t3", "subject": "thanks"},
            {"type": "end", "id": "warm-done", "outcome": "clicked"},
        ],
        "transitions": [
            {"from": "intro", "to": "await-click"},
            {"from": "await-click", "to": "warm"},
            {"from": "await-click", "to": "next-morning"},
            {"from": "next-morning", "to": "cold"},
            {"from": "cold", "to": "done"},
            {"from": "warm", "to": "warm-done"},
        ],
    }
    if exits:
        doc["exitOn"] = [{"event": "email.replied", "outcome": "replied"}]
    return doc


def _plan(*, exits: bool = True) -> CompiledPlan:
    return compile_plan(parse_plan(_doc(exits=exits), source="stop-on-reply"))


def _recorded(events: list[Event], *, exits: bool = True) -> list[dict[str, Any]]:
    trace = simulate(_plan(exits=exits), CONTACT, events, start_at=FRIDAY_EVENING, config=RECORDED)
    return [e.as_dict() for e in chain("run-stop", trace.entries)]


# The first diff of a run that exited, replayed on the plan without its exit rule.
EXIT_MISSING = ("@run", "action", "exit", None)


def _first_diff(result: ReplayResult) -> tuple[str, str, Any, Any]:
    first = result.diffs[0]
    return first.step, first.field, first.expected, first.actual


REPLY = Event("email.replied", MONDAY_NINE + 3_600, "r-1", "intro")
CLICK = Event("email.clicked", MONDAY_NINE + 60, "k-1", "intro")


@pytest.mark.parametrize(
    ("events", "outcome"),
    [([], "followed-up"), ([REPLY], "replied"), ([CLICK], "clicked")],
    ids=["timeout-then-local-morning", "exit-on-reply", "click-takes-on-event"],
)
def test_a_faithful_run_replays_identically(events: list[Event], outcome: str) -> None:
    entries = _recorded(events)
    actions = {(e["action"], e["outcome"]) for e in entries}
    assert ("window", "deferred") in actions
    assert outcome in {e["outcome"] for e in entries if e["action"] in ("end", "exit")}

    result = replay(_plan(), entries, CONTACT)

    assert result.identical, result.diffs
    assert result.notes == () and "notes" not in result.as_dict()


def test_a_recorded_wait_for_event_timeout_is_a_timer_that_fired() -> None:
    entries = _recorded([])
    timeout = next(
        e for e in entries if (e["action"], e["outcome"]) == ("wait_for_event", "timeout")
    )

    fired = [i for i in inputs_from_audit(entries) if isinstance(i, TimerFired)]

    # the window's deferral, the waitForEvent's timeout, the wait until 09:00
    assert len(fired) == 3
    assert fired[1].tick == timeout["tick"] == MONDAY_NINE + 2 * 86_400


def test_an_exit_pending_while_a_send_was_in_flight_replays_identically() -> None:
    # Monday 10:00 in New York: the window is open, the intro email goes at once; the
    # reply arrives while it is in flight, so the run exits once it is recorded.
    start = 6 * 3_600  # the default origin is tick 0 = Monday 09:00 UTC
    reply = Event("email.replied", start + 5, "r-1", "intro")
    inputs: list[Input] = [
        Start(start),
        PolicyDecided(start, "intro", "allow"),
        EventIngested(start + 5, reply),
        SendCompleted(start + 9, "intro", "delivered", None, {"provider": "smtp"}),
    ]
    entries = _drive(_plan(), inputs)
    exits = [(e["tick"], e["outcome"]) for e in entries if e["action"] == "exit"]
    assert exits == [(start + 5, "pending"), (start + 9, "replied")]

    assert replay(_plan(), entries, CONTACT).identical
    without = replay(_plan(exits=False), entries, CONTACT, compare_plan=False)
    assert _first_diff(without) == EXIT_MISSING


def test_a_plan_without_its_exit_rule_diverges_exactly_at_the_exit() -> None:
    entries = _recorded([REPLY])

    result = replay(_plan(exits=False), entries, CONTACT, compare_plan=False)

    assert not result.identical
    assert _first_diff(result) == EXIT_MISSING
    # Everything before the reply replays the same; the replayed run, given only the
    # recorded inputs, is left waiting for a click (what-if plays it on to its end).
    assert len(result.diffs) == 1
    assert [s.id for s in result.steps if not s.identical] == ["@run"]


def _tampered(entries: list[dict[str, Any]], action: str, **detail: Any) -> list[dict[str, Any]]:
    out = copy.deepcopy(entries)
    next(e for e in out if e["action"] == action)["detail"].update(detail)
    return out


def test_a_tampered_window_deferral_is_a_diff_at_its_step_and_field() -> None:
    entries = _tampered(_recorded([REPLY]), "window", untilTick=7)

    result = replay(_plan(), entries, CONTACT)
    diffs = [(d.step, d.field, d.expected, d.actual) for d in result.diffs]

    assert diffs[0] == ("intro", "window.detail.untilTick", 7, MONDAY_NINE)
    assert ("intro", "window.hash") in [d[:2] for d in diffs]


def _under_other_tzdata(edit: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The run as another tz database version would have recorded it: the start entry
    names that version, and ``edit`` changes the wait-until's detail (hashes valid)."""
    trace = simulate(_plan(), CONTACT, [], start_at=FRIDAY_EVENING, config=RECORDED)
    entries = []
    for recorded in trace.entries:
        e = recorded
        if e.action == "start":
            e = replace(e, detail={**e.detail, "tzdata": "2019c"})
        if e.action == "wait" and e.step_id == "next-morning" and edit:
            e = replace(e, detail={**e.detail, **edit})
        entries.append(e)
    return [e.as_dict() for e in chain("run-tz", entries)]


def test_a_replay_under_another_tzdata_says_so_and_names_it_in_a_local_time_diff() -> None:
    assert TZDATA_VERSION != "2019c"
    same = replay(_plan(), _under_other_tzdata(), CONTACT)

    assert same.identical, same.diffs  # the version alone is no divergence
    assert len(same.notes) == 1 and "2019c" in same.notes[0] and TZDATA_VERSION in same.notes[0]
    assert same.as_dict()["notes"] == list(same.notes)

    entries = _under_other_tzdata({"untilTick": 489_600})  # 10:00, an hour off
    moved = replay(_plan(), entries, CONTACT)

    assert not moved.identical and moved.notes == same.notes
    diff = moved.diffs[0]
    assert (diff.step, diff.field) == ("next-morning", "wait.detail.untilTick")
    assert diff.expected == 489_600
    assert diff.cause is not None and "tzdata 2019c" in diff.cause
    assert moved.as_dict()["diffs"][0]["cause"] == diff.cause


def test_what_if_with_an_exit_rule_stops_at_the_reply_and_drops_the_later_sends() -> None:
    run = RecordedRun("run-1", CONTACT, _recorded([REPLY], exits=False))

    change = what_if([run], _plan()).changes[0]

    assert change.diverged and change.first_divergence == "next-morning"
    assert (change.outcome_before, change.outcome_after) == ("followed-up", "replied")
    assert change.ended_at == REPLY.tick
    assert [(s.step, s.number) for s in change.sends_dropped] == [("cold", 1)]
    assert change.sends_changed == 1 and change.sends_added == ()
    shown = change.as_dict()
    assert shown["outcomeAfter"] == "replied" and shown["endedAt"] == REPLY.tick
    assert shown["sendsDropped"][0]["step"] == "cold"


def test_what_if_uses_the_recorded_origin_and_another_start_moves_the_window_sends() -> None:
    run = RecordedRun("run-1", CONTACT, _recorded([]))

    same = what_if([run], _plan()).changes[0]
    # Monday 10:00 in New York: the window is open at the start.
    monday = what_if([run], _plan(), start_at=parse_utc_iso("2026-01-12T15:00:00Z"))
    change = monday.changes[0]

    assert not same.diverged and same.sends_moved == () and same.sends_changed == 0
    moved = {a.step: (a.tick, b.tick) for a, b in change.sends_moved}
    assert moved["intro"] == (MONDAY_NINE, 0)
    assert moved["cold"][0] != moved["cold"][1]
    assert not change.diverged  # the same path, at other times


def test_an_exit_rule_that_fails_to_evaluate_and_the_operators_end_replay_identically() -> None:
    doc = _doc()
    doc["exitOn"] = [{"when": 'vars.tier == "gold"', "outcome": "vip"}]  # no such variable
    plan = compile_plan(parse_plan(doc, source="exit-error"))
    start = 6 * 3_600  # Monday 10:00 in New York on the default origin: the window is open
    inputs: list[Input] = [
        Start(start),
        PolicyDecided(start, "intro", "allow"),
        SendCompleted(start, "intro", "delivered", None, {"provider": "smtp"}),
        EventIngested(start + 60, Event("email.opened", start + 60, "o-1", "intro")),
        OperatorAction(start + 90, "resolve", "ops@example.com", "checked", "end", "stopped"),
    ]
    entries = _drive(plan, inputs)
    assert [(e["action"], e["outcome"]) for e in entries[-3:]] == [
        ("exit", "error"),
        ("run", "failed"),
        ("resolve", "end"),
    ]
    assert entries[-2]["detail"]["kind"] == "exit_error"

    assert replay(plan, entries, CONTACT).identical
    tampered = _tampered(entries, "exit", rule=1)
    assert _first_diff(replay(plan, tampered, CONTACT))[:2] == ("@run", "exit.detail.rule")


_ZONES = ["America/New_York", "Asia/Kolkata", "Australia/Adelaide", "Europe/London"]
_KINDS = ["email.replied", "email.clicked", "email.opened"]


@given(
    zone=st.sampled_from(_ZONES),
    # any instant in the weeks around the 2026 spring DST changes (US, UK, Australia)
    start=st.integers(parse_utc_iso("2026-03-02T00:00:00Z"), parse_utc_iso("2026-04-13T00:00:00Z")),
    events=st.lists(st.tuples(st.sampled_from(_KINDS), st.integers(0, 8 * 86_400)), max_size=3),
)
def test_replay_is_faithful_and_an_added_exit_rule_only_drops_later_sends(
    zone: str, start: int, events: list[tuple[str, int]]
) -> None:
    contact = {"id": "c-1", "timezone": zone}
    evs = [Event(kind, tick, f"e-{i}", "intro") for i, (kind, tick) in enumerate(events)]
    trace = simulate(_plan(exits=False), contact, evs, start_at=start, config=RECORDED)
    entries = [e.as_dict() for e in chain("run-p", trace.entries)]

    assert replay(_plan(exits=False), entries, contact).identical

    change = what_if([RecordedRun("run-p", contact, entries)], _plan()).changes[0]
    replies = [tick for kind, tick in events if kind == "email.replied"]
    assert change.sends_added == () and change.sends_moved == ()
    if change.sends_dropped:
        assert replies and change.outcome_after == "replied"
        assert all(s.tick >= min(replies) for s in change.sends_dropped)
