"""Issue 18, item 9: every graph check of validation is linear in the plan.

Counted, not timed (the timings are ``bench/validate_speed.py``, whose chain-of-loops
document this test shares). It builds 1,000-step plans, so it lives with the bench
checks rather than in the pure, seconds-long ``tests/interpreter`` folder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from bench.validate_speed import chain_document
from interpreter import Limits, parse_plan, validate
from interpreter import limits as L
from interpreter.constant_conditions import always_false
from interpreter.cycles import check_cycles
from interpreter.graph import can_reach, reachable, strongly_connected, successors


class CountingEdges(Mapping[str, Sequence[str]]):
    """An edge map that counts every look-up and every edge it hands out."""

    def __init__(self, edges: Mapping[str, Sequence[str]]) -> None:
        self._edges = dict(edges)
        self.reads = 0

    def __getitem__(self, key: str) -> Sequence[str]:
        targets = self._edges[key]
        self.reads += 1 + len(targets)
        return targets

    def __iter__(self) -> Iterator[str]:
        for key in self._edges:
            self.reads += 1
            yield key

    def __len__(self) -> int:
        return len(self._edges)


def _graph_work(blocks: int) -> tuple[int, int]:
    """Edge reads of every graph check on a chain of ``blocks`` loops, and its size.

    Each loop is send -> wait a day -> branch (back to the send | on), with the end only
    at the far end: the shape on which the old "can this step end?" fixed point went
    round once per loop (quadratic).
    """
    plan = parse_plan(chain_document(3 * blocks + 1), source="chain.yaml")
    assert validate(plan, limits=Limits(max_steps=L.MAX_PLAN_STEPS)) == []
    raw = successors(plan)
    edges = CountingEdges(raw)
    exits = CountingEdges(successors(plan, dead=lambda c: always_false(c.when)))
    live = reachable(plan.steps[0].id, edges)
    strongly_connected(edges)
    can_reach({"done"}, exits)
    problems: list[object] = []
    check_cycles(plan, edges, exits, live, lambda *p: problems.append(p), min_send_wait=86_400)
    assert problems == []
    size = len(raw) + sum(len(t) for t in raw.values())
    return edges.reads + exits.reads, size


def test_every_graph_check_is_linear_in_the_plan() -> None:
    """Counted, not timed: twice the plan, at most about twice the work."""
    small_work, small_size = _graph_work(166)  # 499 steps
    large_work, large_size = _graph_work(333)  # 1,000 steps: the ceiling
    assert large_size > 1.9 * small_size
    assert large_work <= 2.2 * small_work
    assert large_work <= 40 * large_size  # a constant number of passes over the edges
