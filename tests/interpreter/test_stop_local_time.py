"""Send windows and waits until a local time, over zones with half-hour and 45-minute
offsets and start instants across their 2026 DST changes.

The oracle reads local times with the standard library (zones from the ``tzdata``
package, as the machine does) and the one DST rule of ``interpreter/local_time.py``: a
local time in a spring-forward gap moves forward by the gap, one in a fall-back
overlap is its first occurrence (``fold=0``). On a day without a change, the rule
and the wall clock agree; that is checked too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import event, given
from hypothesis import strategies as st

from interpreter import Event, SendEmail, SendVoice, Status, TraceEntry, simulate
from interpreter.local_time import Clock, zone
from interpreter.plan import WEEKDAYS

from .stop_driver import (
    compiled_context,
    drive,
    email,
    end,
    exit_rules,
    plan_doc,
    rule_events,
    voice,
    wait,
)
from .strategies import draw_events, plan_documents

ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
)
# The zones' 2026 offset changes (UTC); starts are drawn around them.
CHANGES_MS = tuple(
    int(datetime.fromisoformat(t).timestamp() * 1000)
    for t in (
        "2026-03-08T07:00:00+00:00",
        "2026-11-01T06:00:00+00:00",
        "2026-03-29T01:00:00+00:00",
        "2026-10-25T01:00:00+00:00",
        "2026-04-04T15:00:00+00:00",
        "2026-10-03T15:30:00+00:00",
        "2026-04-04T14:00:00+00:00",
        "2026-09-26T14:00:00+00:00",
        "2026-03-08T05:30:00+00:00",
        "2026-11-01T04:30:00+00:00",
    )
)
_YEAR_MS = (1_767_225_600_000, 1_798_761_600_000)  # 2026 in UTC
_WEEK_MS = 7 * 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

starts = st.one_of(
    st.builds(lambda c, d: c + d, st.sampled_from(CHANGES_MS), st.integers(-_WEEK_MS, _WEEK_MS)),
    st.integers(*_YEAR_MS),
)
hhmms = st.builds(lambda h, m: (h, m), st.integers(0, 23), st.sampled_from((0, 15, 30, 45)))
day_sets = st.none() | st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True)


def _text(at: tuple[int, int]) -> str:
    return "24:00" if at == (24, 0) else f"{at[0]:02d}:{at[1]:02d}"


def _local(ms: int, tz: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


def _at(day: date, at: tuple[int, int], tz: ZoneInfo) -> int:
    """``at`` on ``day`` by the DST rule (``fold=0``), in epoch ms."""
    if at == (24, 0):
        day, at = day + timedelta(days=1), (0, 0)
    local = datetime(day.year, day.month, day.day, at[0], at[1], tzinfo=tz)
    return (local - _EPOCH) // timedelta(milliseconds=1)


def _allowed(days: list[str] | None) -> set[int]:
    return set(range(7)) if not days else {WEEKDAYS.index(d) for d in days}  # type: ignore[arg-type]


def _changes_on(day: date, tz: ZoneInfo) -> bool:
    return (
        _local(_at(day, (0, 0), tz), tz).utcoffset()
        != _local(_at(day + timedelta(days=1), (0, 0), tz), tz).utcoffset()
    )


def _open_at(ms: int, tz: ZoneInfo, start: Any, stop: Any, days: list[str] | None) -> bool:
    """Whether the window is open at ``ms`` by the rule: on the local day or the one
    before it (a gap can move a day's bounds past its midnight)."""
    today = _local(ms, tz).date()
    for day in (today - timedelta(days=1), today):
        if day.weekday() in _allowed(days) and _at(day, start, tz) <= ms < _at(day, stop, tz):
            return True
    return False


def _wall_clock_open(ms: int, tz: ZoneInfo, start: Any, stop: Any, days: list[str] | None) -> bool:
    local = _local(ms, tz)
    return local.weekday() in _allowed(days) and start <= (local.hour, local.minute) < stop


@st.composite
def windows(draw: st.DrawFn) -> dict[str, Any]:
    a, b = draw(hhmms), draw(hhmms | st.just((24, 0)))
    start, stop = min(a, b), max(a, b)
    if start == stop:
        stop = (24, 0)
    window: dict[str, Any] = {"from": _text(start), "to": _text(stop)}
    days = draw(day_sets)
    if days is not None:
        window["days"] = days
    return window


def _hhmm(text: str) -> tuple[int, int]:
    return (int(text[:2]), int(text[3:]))


def _assert_inside(at: int, tz: ZoneInfo, window: Any) -> None:
    """A send at ``at`` is inside ``window`` (the document's dict, or the plan's model)."""
    if isinstance(window, dict):
        start, stop, days = window["from"], window["to"], window.get("days")
    else:
        start, stop, days = window.from_, window.to, window.days
    assert _open_at(at, tz, _hhmm(start), _hhmm(stop), days), f"sent at {_local(at, tz)}"


@given(st.sampled_from(ZONES), starts, windows(), windows(), st.integers(0, 3 * 86_400))
def test_windows_never_send_outside_the_window(
    name: str, start_at: int, first: dict[str, Any], second: dict[str, Any], gap: int
) -> None:
    steps = [email("mail", window=first)]
    if gap:
        steps.append(wait("pause", duration={"seconds": gap}))
    doc = plan_doc(*steps, voice("call", window=second), end("done"))
    trace = simulate(compiled_context(doc).plan, {"id": "c", "timezone": name}, start_at=start_at)
    assert trace.status == "COMPLETED"
    tz = zone(name)
    windows_of = {"mail": first, "call": second}
    entered = {e.step_id: e.tick for e in trace.entries if e.action == "enter"}
    for sent in (e for e in trace.entries if e.action in ("send_email", "send_voice")):
        window = windows_of[sent.step_id]
        start, stop, days = _hhmm(window["from"]), _hhmm(window["to"]), window.get("days")
        at = start_at + sent.tick * 1000
        _assert_inside(at, tz, window)
        if not _changes_on(_local(at, tz).date(), tz):
            assert _wall_clock_open(at, tz, start, stop, days)
        enter_ms = start_at + entered[sent.step_id] * 1000
        deferrals = [e for e in trace.entries if e.action == "window" and e.step_id == sent.step_id]
        if sent.tick == entered[sent.step_id]:
            assert not deferrals
            continue
        event("deferred")
        assert not _open_at(enter_ms, tz, start, stop, days), "deferred an open window"
        _check_deferral(deferrals, sent, tz, window)
        opening = _local(at, tz).date()
        opens = [_at(d, start, tz) for d in (opening - timedelta(days=1), opening)]
        assert any(o <= at < o + 1000 for o in opens), "sent later than the opening"


def _check_deferral(deferrals: list[TraceEntry], sent: TraceEntry, tz: ZoneInfo, w: Any) -> None:
    assert [e.outcome for e in deferrals] == ["deferred"]
    detail = deferrals[0].detail
    assert detail["untilTick"] == sent.tick
    assert detail["timezone"] == tz.key and detail["zoneFrom"] == "contact.timezone"
    assert detail["window"] == w
    assert datetime.fromisoformat(str(detail["opensLocal"])).utcoffset() is not None


@given(st.sampled_from(ZONES), starts, hhmms, day_sets, st.integers(0, 2 * 86_400))
def test_wait_until_lands_on_the_next_such_local_time(
    name: str, start_at: int, at: tuple[int, int], days: list[str] | None, before: int
) -> None:
    until: dict[str, Any] = {"time": _text(at)}
    if days is not None:
        until["days"] = days
    steps = [wait("first", duration={"seconds": before})] if before else []
    doc = plan_doc(*steps, wait("w", until=until), end("done"), defaultTimezone=name)
    trace = simulate(compiled_context(doc).plan, {"id": "c"}, start_at=start_at)
    tz = zone(name)
    (started,) = [e for e in trace.entries if e.step_id == "w" and e.outcome == "started"]
    now = start_at + started.tick * 1000
    until_tick = started.detail["untilTick"]
    assert isinstance(until_tick, int)
    landed = start_at + until_tick * 1000
    assert started.detail["zoneFrom"] == "plan.defaultTimezone"
    # the next moment strictly after now: later than now, none earlier on an allowed day
    expected = min(
        t
        for offset in range(-1, 16)
        if (day := _local(now, tz).date() + timedelta(days=offset)).weekday() in _allowed(days)
        if (t := _at(day, at, tz)) > now
    )
    assert expected <= landed < expected + 1000
    assert _local(expected, tz).weekday() in _allowed(days) or _changes_on(
        _local(expected, tz).date() - timedelta(days=1), tz
    )
    # compared as text: an instant in a fall-back overlap never equals one of another zone
    assert started.detail["untilLocal"] == _local(expected, tz).isoformat(timespec="seconds")
    if not _changes_on(_local(expected, tz).date(), tz):
        assert (_local(expected, tz).hour, _local(expected, tz).minute) == at
    completed = [e for e in trace.entries if e.step_id == "w" and e.outcome == "completed"]
    assert [e.tick for e in completed] == [until_tick]


@given(st.sampled_from(ZONES), starts, windows(), windows(), st.data())
def test_a_late_policy_answer_or_deferral_never_sends_outside_the_window(
    name: str, start_at: int, first: dict[str, Any], second: dict[str, Any], data: Any
) -> None:
    """Driven input by input: events move the clock on while the gate decides, and the
    gate defers; a send still goes out only inside its window."""
    doc = plan_doc(
        email("mail", window=first),
        voice("call", window=second),
        end("done"),
        exitOn=[{"event": "email.unsubscribed", "outcome": "unsubscribed"}],
    )
    ctx = compiled_context(doc, {"id": "c", "timezone": name}, clock=Clock(start_at, 0, 1000))
    ticks = data.draw(st.lists(st.integers(0, 9 * 86_400), max_size=6))
    kinds = st.sampled_from(("email.opened", "email.opened", "email.unsubscribed"))
    run = drive(ctx, [Event(data.draw(kinds), t, None, "mail") for t in ticks], data)
    tz = zone(name)
    windows_of = {"mail": first, "call": second}
    for done in run.log:
        for cmd in done.sends:
            assert isinstance(cmd, SendEmail | SendVoice)
            window = windows_of[cmd.step_id]
            _assert_inside(start_at + done.inp.tick * 1000, tz, window)
            event("sent")


@given(plan_documents(max_steps=12), st.sampled_from(ZONES), starts, st.data())
def test_generated_plans_with_windows_and_exits_under_operators(
    doc_loops: Any, name: str, start_at: int, data: Any
) -> None:
    """Generated plans with windows on some sends and exit rules, driven with events in
    flight, deferrals, pauses, cancels, retries and resolves: the machine takes every
    input, keeps its state consistent, sends only inside windows and never after an
    exit (an exit rule's error fails the run; an operator may then send again)."""
    doc = dict(doc_loops[0])
    doc["steps"] = [dict(s) for s in doc["steps"]]
    for s in doc["steps"]:
        if s["type"] in ("sendEmail", "sendVoice") and data.draw(st.booleans()):
            s["window"] = data.draw(windows())
    step_ids = [s["id"] for s in doc["steps"]]
    rules = data.draw(exit_rules(step_ids))
    if data.draw(st.booleans()):  # a rule whose when fails on this contact (no score)
        rules.insert(
            data.draw(st.integers(0, len(rules))), {"when": "contact.score > 3", "outcome": "hot"}
        )
    doc["exitOn"] = rules
    contact: dict[str, Any] = {"id": "c"}
    if data.draw(st.booleans()):
        contact["timezone"] = name
    else:
        doc["defaultTimezone"] = name
    ctx = compiled_context(doc, contact, clock=Clock(start_at, 0, 1000))
    events = data.draw(st.composite(lambda d: draw_events(d, ctx.plan.plan, max_size=4))())
    events += data.draw(rule_events(rules, step_ids, [e.tick for e in events]))
    run = drive(ctx, events, data, operators=True, max_inputs=150)
    tz, stopped = zone(name), False
    for done in run.log:
        after = done.after
        assert (after.status in (Status.COMPLETED, Status.CANCELED)) == (after.phase == "done")
        assert after.status is not Status.FAILED or after.failure is not None
        assert after.exiting is None or after.phase in ("policy", "send")
        for cmd in done.sends:
            assert not stopped, "a send after an exit"
            window = ctx.plan.steps[cmd.step_id].window  # type: ignore[union-attr]
            if window is not None:
                _assert_inside(start_at + done.inp.tick * 1000, tz, window)
        for entry in done.entries("exit"):
            stopped = stopped or entry.outcome != "error"
            event(f"exit {entry.outcome if entry.outcome in ('error', 'pending') else 'now'}")
    if stopped and run.state.status is not Status.CANCELED:
        assert run.state.status is Status.COMPLETED or run.state.exiting is not None
