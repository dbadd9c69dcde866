"""The cycle rules of plan validation: time passes, a way out exists, sends are spaced.

1. Every cycle passes a wait (otherwise it loops without time passing).
2. Every reachable step can still reach an end step. With the issue-18 rules
   (``hardened``) an edge only a constant-false condition names does not count: a
   loop whose one exit is ``when: "false"`` has no exit.
3. (``hardened``) A cycle that sends passes a wait of at least ``min_send_wait``
   seconds on every round through a send, and has a way out to an end step.
   Without the rule such a plan sends until the step budget stops it.

All of it is linear in the plan's steps and edges: the strongly connected
components are computed once (Tarjan), rule 3 once more inside each component that
sends, with its long waits removed, and "can reach an end" is one backward search.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from interpreter.graph import can_reach, cyclic_components, has_cycle
from interpreter.plan import (
    EndStep,
    ExecutionPlan,
    Step,
    WaitForEventStep,
    WaitStep,
    is_send_step,
)

TRAPPED = (
    "from this step the run can never reach an end step: it is caught in a cycle with no way out"
)
Add = Callable[[str | None, str, str], None]
Edges = Mapping[str, Sequence[str]]


def check_cycles(
    plan: ExecutionPlan,
    edges: Edges,
    exits: Edges,
    live: set[str],
    add: Add,
    *,
    min_send_wait: int | None,
) -> None:
    """Report every cycle rule ``plan`` breaks.

    Args:
        edges: Every edge of the plan (``graph.successors``).
        exits: The edges a run can take: ``edges`` without those only constant-false
            conditions name (or ``edges`` itself, for the rules as they were before).
        live: The steps reachable from the first step.
        min_send_wait: Rule 3's shortest wait in seconds; ``None`` skips rule 3.
    """
    by_id = {s.id: s for s in plan.steps}
    # A waitForEvent's timeout edge passes time; its onEvent edge may be taken at once.
    timeless = _without_timeouts(by_id, edges, 0)
    for comp in cyclic_components(edges):
        waits = {n for n in comp if isinstance(by_id[n], WaitStep)}
        if has_cycle(set(comp) - waits, timeless):
            add(
                comp[0],
                "transitions",
                f"a cycle through [{', '.join(comp)}] passes no wait: "
                "it would loop without time passing",
            )
    ends = {s.id for s in plan.steps if isinstance(s, EndStep)}
    # Unknown targets are already reported; count them as able to end to avoid echoes.
    ends |= {t for targets in exits.values() for t in targets if t not in by_id}
    can_end = can_reach(ends, exits)
    reported: set[str] = set()
    if min_send_wait is not None:
        timed = _without_timeouts(by_id, exits, min_send_wait)
        for comp in cyclic_components(exits):
            reported |= _send_cycle(comp, by_id, timed, can_end, min_send_wait, add)
    for s in plan.steps:
        if s.id in live and s.id not in can_end and exits[s.id] and s.id not in reported:
            add(s.id, "transitions", TRAPPED)


def _send_cycle(
    comp: list[str],
    by_id: Mapping[str, Step],
    timed: Edges,
    can_end: set[str],
    min_wait: int,
    add: Add,
) -> set[str]:
    """Rule 3 for one cyclic component; the steps it reported as having no way out.

    ``timed``: the edges a run can take, without the timeouts of at least ``min_wait``.
    """
    sends = [n for n in comp if is_send_step(by_id[n])]
    if not sends:
        return set()
    for inner, short in _sends_without_long_wait(comp, by_id, timed, min_wait):
        add(
            short[0],
            "transitions",
            f"a cycle through [{', '.join(inner)}] sends ({', '.join(short)}) without passing "
            f"a wait of at least {duration_text(min_wait)}: a loop that sends must wait that "
            "long on every round",
        )
    if can_end.isdisjoint(comp):
        add(  # on the cycle's first step, like rule 1's message
            comp[0],
            "transitions",
            f"a cycle through [{', '.join(comp)}] sends ({', '.join(sends)}) and has no way out "
            'to an end step (a condition that is always false, like when: "false", is no way '
            "out)",
        )
        return set(comp)
    return set()


def _sends_without_long_wait(
    comp: list[str], by_id: Mapping[str, Step], timed: Edges, min_wait: int
) -> list[tuple[list[str], list[str]]]:
    """The cycles of ``comp`` that send and pass waits, none of them long enough: each
    as (its steps, its sends).

    Removing the long waits leaves exactly the rounds that pass none; a cycle with no
    wait at all is rule 1's (reported there, not twice).
    """
    rest = {n for n in comp if not _long_wait(by_id[n], min_wait)}
    sub = {n: [t for t in timed[n] if t in rest] for n in sorted(rest)}
    found: list[tuple[list[str], list[str]]] = []
    for inner in cyclic_components(sub):
        sends = [n for n in inner if is_send_step(by_id[n])]
        if sends and any(isinstance(by_id[n], WaitStep | WaitForEventStep) for n in inner):
            found.append((inner, sends))
    return found


def _long_wait(step: Step, min_wait: int) -> bool:
    """A wait of at least ``min_wait`` seconds. A wait until a local time counts as a
    day: the next such time is on a later day than the last one the loop waited for."""
    if not isinstance(step, WaitStep):
        return False
    if step.duration is None:
        return min_wait <= 86_400
    return step.duration.total_seconds >= min_wait


def _without_timeouts(
    by_id: Mapping[str, Step], edges: Edges, min_wait: int
) -> dict[str, list[str]]:
    """``edges`` without the timeout edges of ``waitForEvent`` steps whose timeout is at
    least ``min_wait`` seconds (an edge its ``onEvent`` shares stays: that way is at once)."""
    out: dict[str, list[str]] = {}
    for node, targets in edges.items():
        step = by_id.get(node)
        if (
            isinstance(step, WaitForEventStep)
            and step.on_timeout != step.on_event
            and step.timeout.total_seconds >= max(min_wait, 1)
        ):
            out[node] = [t for t in targets if t != step.on_timeout]
        else:
            out[node] = list(targets)
    return out


def duration_text(seconds: int) -> str:
    """``86400`` -> ``1 day``; the largest whole unit, for messages."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


__all__ = ["TRAPPED", "check_cycles", "duration_text"]
