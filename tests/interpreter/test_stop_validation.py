"""Validation of exitOn, waitForEvent, waits until a local time, send windows and
defaultTimezone: each mistake is named with its plan, step and camelCase field, all of
them from one call; unknown fields are still refused when the document is read."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from interpreter import PlanError, parse_plan, validate

from .stop_driver import email, end, plan_doc, voice, wait

Doc = dict[str, Any]

AWAIT = {
    "type": "waitForEvent",
    "id": "await",
    "until": 'events.hasReply("intro")',
    "timeout": {"days": 3},
    "onEvent": "warm",
    "onTimeout": "done",
}


def _base() -> Doc:
    """Valid: every feature of issue 19 once."""
    return plan_doc(
        email("intro", window={"from": "09:00", "to": "17:00", "days": ["mon", "fri"]}),
        wait("night", until={"time": "08:30", "days": ["tue"]}),
        dict(AWAIT),
        email("warm"),
        voice("call", window={"from": "10:00", "to": "24:00"}),
        end("done"),
        exitOn=[
            {"event": "email.replied", "outcome": "replied"},
            {"event": "voice.answered", "step": "call", "outcome": "connected"},
            {"when": 'events.callOutcome("call") == "busy"', "outcome": "unreachable"},
        ],
        defaultTimezone="America/St_Johns",
    )


def _step(doc: Doc, step_id: str) -> Doc:
    return next(s for s in doc["steps"] if s["id"] == step_id)


def _with(change: Callable[[Doc], object]) -> Doc:
    doc = copy.deepcopy(_base())
    change(doc)
    return doc


def test_the_base_plan_is_valid() -> None:
    assert validate(parse_plan(_base(), source="stop.yaml")) == []


CASES: list[tuple[str, Callable[[Doc], object], str | None, str, str]] = [
    ("rule says nothing", lambda d: d["exitOn"].append({"outcome": "x"}), None, "exitOn[3]",
     "needs an 'event', a 'when' condition, or both"),
    ("unknown event", lambda d: d["exitOn"][0].update(event="email.read"), None,
     "exitOn[0].event", "'email.read' is not an event type DEE ingests"),
    ("step without event", lambda d: d["exitOn"][2].update(step="call"), None,
     "exitOn[2].step", "give the event type too"),
    ("unknown rule step", lambda d: d["exitOn"][1].update(step="nope"), None,
     "exitOn[1].step", "unknown step 'nope'"),
    ("bad when", lambda d: d["exitOn"][2].update(when="events.hasReply("), None,
     "exitOn[2].when", ""),
    ("when names an unknown step", lambda d: d["exitOn"][2].update(when='events.hasReply("x")'),
     None, "exitOn[2].when", "x"),
    ("empty outcome", lambda d: d["exitOn"][0].update(outcome=" "), None, "exitOn[0].outcome",
     "empty"),
    ("reserved outcome", lambda d: d["exitOn"][1].update(outcome="pending"), None,
     "exitOn[1].outcome", "'pending' is reserved"),
    ("long zone shortened", lambda d: d.update(defaultTimezone="A/\u202e" + "y" * 3000), None,
     "defaultTimezone", "… (3003 characters)' is not an IANA"),
    ("bad default zone", lambda d: d.update(defaultTimezone="Europe/Springfield"), None,
     "defaultTimezone", "is not an IANA time zone"),
    ("duration and until", lambda d: _step(d, "night").update(duration={"hours": 1}), "night",
     "duration", "exactly one of 'duration' and 'until'"),
    ("neither", lambda d: _step(d, "night").pop("until"), "night", "duration",
     "exactly one of 'duration' and 'until'"),
    ("bad until time", lambda d: _step(d, "night")["until"].update(time="8:30"), "night",
     "until.time", "is not a time HH:MM"),
    ("24:00 is no time of day", lambda d: _step(d, "night")["until"].update(time="24:00"),
     "night", "until.time", "is not a time HH:MM"),
    ("empty days", lambda d: _step(d, "night")["until"].update(days=[]), "night", "until.days",
     "never comes"),
    ("a day twice", lambda d: _step(d, "night")["until"].update(days=["tue", "tue"]), "night",
     "until.days", "listed twice"),
    ("bad await until", lambda d: _step(d, "await").update(until="events.hasReply("), "await",
     "until", ""),
    ("zero timeout", lambda d: _step(d, "await").update(timeout={"days": 0}), "await",
     "timeout", "longer than zero"),
    ("timeout past the limit", lambda d: _step(d, "await").update(timeout={"days": 400}),
     "await", "timeout", "exceeds the limit"),
    ("unknown onEvent", lambda d: _step(d, "await").update(onEvent="nowhere"), "await",
     "onEvent", "unknown step 'nowhere'"),
    ("unknown onTimeout", lambda d: _step(d, "await").update(onTimeout="nowhere"), "await",
     "onTimeout", "unknown step 'nowhere'"),
    ("bad window from", lambda d: _step(d, "intro")["window"].update({"from": "9am"}), "intro",
     "window.from", "is not a time HH:MM"),
    ("bad window to", lambda d: _step(d, "call")["window"].update(to="24:30"), "call",
     "window.to", "is not a time HH:MM (00:00-24:00)"),
    ("window closes first", lambda d: _step(d, "intro")["window"].update(to="08:00"), "intro",
     "window.to", "closes (08:00) before it opens (09:00)"),
    ("empty window", lambda d: _step(d, "intro")["window"].update(to="09:00"), "intro",
     "window.to", "before it opens"),
    ("no window days", lambda d: _step(d, "intro")["window"].update(days=[]), "intro",
     "window.days", "never comes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "step", "field", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_mistake_is_named_with_its_step_and_field(
    change: Callable[[Doc], object], step: str | None, field: str, says: str
) -> None:
    problems = validate(parse_plan(_with(change), source="stop.yaml"))
    found = [p for p in problems if (p.step, p.field) == (step, field)]
    assert found, [(p.step, p.field, p.message) for p in problems]
    assert any(says in p.message for p in found), [p.message for p in found]
    assert {p.plan for p in problems} == {"stop-test"}


def test_every_mistake_comes_back_from_one_call() -> None:
    def all_of_them(doc: Doc) -> None:
        for _, change, *_ in CASES[:8:2]:
            change(doc)

    problems = validate(parse_plan(_with(all_of_them), source="stop.yaml"))
    assert {(p.step, p.field) for p in problems} >= {(s, f) for _, _, s, f, _ in CASES[:8:2]}


@pytest.mark.parametrize(
    ("where", "extra"),
    [
        (("exitOn", 0), {"stepId": "intro"}),
        (("steps", 2), {"on_event": "warm"}),
        (("steps", 1, "until"), {"timezone": "UTC"}),
        (("steps", 0, "window"), {"until": "17:00"}),
        ((), {"exit_on": []}),
    ],
)
def test_unknown_fields_are_refused(where: tuple[Any, ...], extra: Doc) -> None:
    doc = _base()
    target: Any = doc
    for key in where:
        target = target[key]
    target.update(extra)
    with pytest.raises(PlanError) as raised:
        parse_plan(doc, source="stop.yaml")
    assert next(iter(extra)) in str(raised.value)
    # The field is named as in the file: never behind the step type's tag.
    assert all(not p.field.startswith("waitForEvent.") for p in raised.value.problems)


def _explicit(*edges: tuple[str, str]) -> Doc:
    return plan_doc(
        email("intro"),
        dict(AWAIT, onTimeout="cold"),
        email("warm"),
        email("cold"),
        end("done"),
        transitions=[{"from": a, "to": b} for a, b in edges],
    )


def test_a_wait_for_events_gotos_are_its_edges() -> None:
    ok = _explicit(("intro", "await"), ("warm", "done"), ("cold", "done"))
    assert validate(parse_plan(ok, source="stop.yaml")) == []
    named = _explicit(("intro", "await"), ("await", "warm"), ("warm", "done"), ("cold", "done"))
    assert validate(parse_plan(named, source="stop.yaml")) == []
    other = _explicit(("intro", "await"), ("await", "done"), ("warm", "done"), ("cold", "done"))
    (problem,) = validate(parse_plan(other, source="stop.yaml"))
    assert (problem.step, problem.field) == ("await", "transitions[1].to")
    assert "'done' is neither the step's onEvent ('warm') nor its onTimeout" in problem.message


def test_a_send_loop_through_on_event_needs_a_long_wait() -> None:
    """onEvent can be taken at once (an event already there): it passes no time."""
    loop = plan_doc(
        email("intro"),
        dict(AWAIT, until='events.hasOpen("intro")', onEvent="intro", onTimeout="done"),
        end("done"),
    )
    problems = validate(parse_plan(loop, source="stop.yaml"))
    assert problems and all(p.field == "transitions" for p in problems), problems
    assert any("passes no wait" in p.message for p in problems), problems
    timed = plan_doc(
        email("intro"),
        dict(AWAIT, until='events.hasOpen("intro")', onEvent="done", onTimeout="intro"),
        end("done"),
    )
    assert validate(parse_plan(timed, source="stop.yaml")) == []
