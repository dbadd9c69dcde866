"""``exitOn``: the first matching rule ends the run at the event's tick, in every status
that is not final, and no send is issued after it (a send in flight finishes first)."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from interpreter import CompleteRun, Event, EventIngested, Status

from .stop_driver import Run, compiled_context, drive, exit_rules, refuses_events, rule_events
from .strategies import draw_events, plan_documents


def _rule_matches(
    rule: dict[str, Any], ev: Event, seen: set[tuple[str, str | None]], visits: Any
) -> bool:
    """The oracle: the rule as the issue states it, on the state after ``ev``."""
    if "event" in rule and (ev.type != rule["event"] or rule.get("step", ev.step_id) != ev.step_id):
        return False
    when: str | None = rule.get("when")
    if when is None:
        return True
    if when.startswith("events.hasEvent"):
        kind, target = when.split('"')[1], when.split('"')[3]
        return (kind, target) in seen
    target, least = when.split('"')[1], int(when.rsplit(" ", 1)[1])
    return int(visits.get(target, 0)) >= least


def _trigger(run: Run, rules: list[dict[str, Any]]) -> tuple[int, int] | None:
    """(input index, rule index) of the first ingested event a rule matches."""
    seen: set[tuple[str, str | None]] = set()
    for index, done in enumerate(run.log):
        if not isinstance(done.inp, EventIngested):
            continue
        if not any(e.outcome == "ingested" for e in done.entries("event")):
            continue  # a duplicate id: changes nothing
        ev = done.inp.event
        seen.add((ev.type, ev.step_id))
        for r, rule in enumerate(rules):
            if _rule_matches(rule, ev, seen, done.before.visits):
                return index, r
    return None


@given(plan_documents(max_steps=14), st.data())
def test_an_exit_rule_never_lets_a_later_send_happen(doc_loops: Any, data: Any) -> None:
    doc = doc_loops[0]
    step_ids = [s["id"] for s in doc["steps"]]
    rules = data.draw(exit_rules(step_ids))
    doc = {**doc, "exitOn": rules}
    ctx = compiled_context(doc)
    events = data.draw(st.composite(lambda d: draw_events(d, ctx.plan.plan, max_size=5))())
    events += data.draw(rule_events(rules, step_ids, [e.tick for e in events]))
    run = drive(ctx, events, data)

    found = _trigger(run, rules)
    if found is None:
        assert not [e for e in run.entries() if e.action == "exit"]
        event("no exit")
        return
    k, r = found
    trig = run.log[k]
    assert not [e for d in run.log[:k] for e in d.entries("exit")], "an exit before its event"
    exit_entry = trig.entries("exit")[0]
    assert exit_entry.tick == trig.inp.tick
    assert exit_entry.detail["rule"] == r  # rules are checked in order
    for later in run.log[k:]:
        assert not later.sends, f"a send after the exit at tick {trig.inp.tick}"
    in_flight = trig.before.phase in ("policy", "send")
    event(f"exit in {trig.before.status.value}{' in flight' if in_flight else ''}")
    if not in_flight:
        assert exit_entry.outcome == rules[r]["outcome"]
        assert CompleteRun(rules[r]["outcome"]) in trig.commands
        assert run.state.status is Status.COMPLETED and run.state.outcome == rules[r]["outcome"]
        assert run.log[-1] is trig
        assert refuses_events(run)
        return
    assert exit_entry.outcome == "pending" and exit_entry.detail["inFlight"] == trig.before.phase
    if run.state.status is Status.COMPLETED:
        last = run.log[-1]
        assert last.entries()[-1].action == "exit"
        assert last.entries()[-1].outcome == rules[r]["outcome"]
        assert run.state.outcome == rules[r]["outcome"]
        assert refuses_events(run)
    else:  # the driver ran out of inputs before answering
        assert run.state.exiting is not None


def test_one_definition_says_which_entry_closes_a_run() -> None:
    from interpreter.stop_checks import RESERVED_EXIT_OUTCOMES
    from interpreter.trace import closes_run

    assert closes_run("exit", "replied") and closes_run("end", "anything")
    assert closes_run("cancel", "accepted") and closes_run("resolve", "end")
    assert not any(closes_run("exit", o) for o in RESERVED_EXIT_OUTCOMES)
    assert not closes_run("cancel", "refused") and not closes_run("resolve", "skip")
    assert not closes_run("run", "failed") and not closes_run("send_email", "delivered")
