"""``waitForEvent`` takes ``onEvent`` exactly when ``until`` holds at some event tick
before the timeout, otherwise ``onTimeout`` at its entry tick plus the timeout.

The rule at the timeout's own tick: an event ingested at that tick before the timer
fires counts (the simulator, like the machine's driver contract, ingests a tick's
events before its timers); once the timer has fired, the step took ``onTimeout``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from interpreter import (
    Event,
    EventIngested,
    PolicyDecided,
    SendCompleted,
    Start,
    TimerFired,
    simulate,
)

from .stop_driver import Run, compiled_context, email, end, plan_doc, wait

UNTIL = 'events.hasReply("intro") || events.hasClick("intro")'
_KINDS = ("email.replied", "email.clicked", "email.opened", "voice.answered")


def _doc(pre_wait: int, timeout: int) -> dict[str, Any]:
    before = [wait("pre", duration={"seconds": pre_wait})] if pre_wait else []
    await_step = {
        "type": "waitForEvent",
        "id": "await",
        "until": UNTIL,
        "timeout": {"seconds": timeout},
        "onEvent": "warm",
        "onTimeout": "cold",
    }
    return plan_doc(
        email("intro"), *before, await_step, end("warm", "event"), end("cold", "timeout")
    )


def _counts(ev: Event) -> bool:
    if ev.step_id != "intro" or ev.type not in ("email.replied", "email.clicked"):
        return False
    return ev.type != "email.replied" or ev.data.get("fromContact") is not False


@st.composite
def _events(draw: st.DrawFn, entry: int, timeout: int) -> list[Event]:
    near = (0, entry, entry + timeout - 1, entry + timeout, entry + timeout + 1)
    out = []
    for _ in range(draw(st.integers(0, 5))):
        tick = draw(st.sampled_from(near) | st.integers(0, entry + timeout + 50))
        data = draw(st.sampled_from(({}, {}, {"fromContact": False}, {"fromContact": True})))
        out.append(
            Event(
                draw(st.sampled_from(_KINDS)),
                max(tick, 0),
                draw(st.sampled_from((None, None, "e1", "e2"))),
                draw(st.sampled_from(("intro", "intro", None, "await"))),
                data,
            )
        )
    return out


@given(st.sampled_from((0, 0, 1, 60, 3600)), st.integers(1, 7200), st.data())
def test_on_event_exactly_when_until_holds_before_the_timeout(
    pre_wait: int, timeout: int, data: Any
) -> None:
    entry = pre_wait  # the intro is allowed and delivered at tick 0
    events = data.draw(_events(entry, timeout))
    trace = simulate(compiled_context(_doc(pre_wait, timeout)).plan, {"id": "c"}, events)

    first: int | None = None
    seen: set[str] = set()
    for ev in sorted(events, key=lambda e: e.tick):  # the order the simulator ingests
        if ev.id is not None:
            if ev.id in seen:
                continue  # a duplicate changes nothing
            seen.add(ev.id)
        if _counts(ev):
            first = ev.tick
            break
    decided = [e for e in trace.entries if e.action == "wait_for_event" and e.outcome != "started"]
    assert len(decided) == 1
    if first is not None and first <= entry + timeout:
        event("onEvent before entry" if first <= entry else "onEvent while waiting")
        assert (decided[0].outcome, trace.outcome) == ("event", "event")
        assert decided[0].tick == max(first, entry) == trace.tick
    else:
        event("onTimeout")
        assert (decided[0].outcome, trace.outcome) == ("timeout", "timeout")
        assert decided[0].tick == entry + timeout == trace.tick


def test_a_reply_at_tick_zero_takes_on_event_at_once() -> None:
    events = [Event("email.replied", 0, None, "intro")]
    trace = simulate(compiled_context(_doc(0, 600)).plan, {"id": "c"}, events)
    assert trace.path == ("intro", "await", "warm")
    assert trace.tick == 0
    assert not [e for e in trace.entries if e.action == "wait_for_event" and e.outcome == "started"]


def test_the_timer_first_at_the_timeout_tick_takes_on_timeout() -> None:
    """The machine's side of the rule: whichever of the two it is given first wins."""
    run = Run(compiled_context(_doc(0, 600)))
    run.feed(Start(0))
    run.feed(PolicyDecided(0, "intro", "allow"))
    run.feed(SendCompleted(0, "intro", "delivered"))
    timer = run.state.timer
    assert timer is not None and timer.until_tick == 600
    run.feed(TimerFired(600, timer.timer_id))
    assert run.state.outcome == "timeout"
    twin = Run(run.ctx)
    for inp in [s.inp for s in run.log[:3]]:
        twin.feed(inp)
    twin.feed(EventIngested(600, Event("email.clicked", 600, None, "intro")))
    assert twin.state.outcome == "event"
