"""The plan as a graph: its edges, reachability and the cycles that could not end.

Every function here is linear in the plan's steps and edges (iterative, so a long
plan meets no recursion limit either): validation runs them on every plan it is given.

Edge semantics: with ``linear`` transitions every step that is not a branch or an
end flows to the next step in list order; a branch's edges are its conditions'
gotos (in order), a ``waitForEvent``'s its ``onEvent`` and ``onTimeout``; with
explicit transitions the listed edges apply, and an explicit edge leaving a branch or
a ``waitForEvent`` must name one of its gotos (validation checks it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

from interpreter.plan import BranchStep, Condition, EndStep, ExecutionPlan, WaitForEventStep


def successors(
    plan: ExecutionPlan, *, dead: Callable[[Condition], bool] | None = None
) -> dict[str, tuple[str, ...]]:
    """Outgoing edges of every step, each list in a deterministic order.

    ``dead``: branch conditions it holds true for are left out (validation passes
    ``always_false``: a goto only a constant-false condition names is no edge).
    """
    out: dict[str, list[str]] = {s.id: [] for s in plan.steps}
    seen: set[tuple[str, str]] = set()  # a set, not ``in`` on the list: linear in edges

    def link(source: str, target: str) -> None:
        if (source, target) not in seen:
            seen.add((source, target))
            out[source].append(target)

    for index, step in enumerate(plan.steps):
        if isinstance(step, BranchStep):
            for cond in step.conditions:
                if dead is None or not dead(cond):
                    link(step.id, cond.goto)
        elif isinstance(step, WaitForEventStep):
            link(step.id, step.on_event)
            link(step.id, step.on_timeout)
        elif isinstance(step, EndStep):
            continue
        elif plan.transitions == "linear" and index + 1 < len(plan.steps):
            link(step.id, plan.steps[index + 1].id)
    if plan.transitions != "linear":
        branch_ids = {s.id for s in plan.steps if isinstance(s, BranchStep | WaitForEventStep)}
        for t in plan.transitions:
            if t.from_ in out and t.from_ not in branch_ids:
                link(t.from_, t.to)
    return {k: tuple(v) for k, v in out.items()}


def reachable(entry: str, edges: Mapping[str, Sequence[str]]) -> set[str]:
    seen = {entry}
    stack = [entry]
    while stack:
        node = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt in edges and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def strongly_connected(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (plans may be long), components in stable order.

    Linear in nodes and edges: each node's children are listed once, and the work
    stack holds a position into that list rather than re-listing it on every return.
    """
    children = {n: [c for c in targets if c in edges] for n, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            mine = children[node]
            if child_pos < len(mine):
                work.append((node, child_pos + 1))
                child = mine[child_pos]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def has_cycle(nodes: set[str], edges: Mapping[str, Sequence[str]]) -> bool:
    """Whether the subgraph induced by ``nodes`` contains a cycle."""
    sub = {n: [c for c in edges.get(n, ()) if c in nodes] for n in sorted(nodes)}
    return any(len(comp) > 1 or comp[0] in sub[comp[0]] for comp in strongly_connected(sub))


def cyclic_components(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Components that contain at least one cycle (a self-loop counts)."""
    return [
        comp
        for comp in strongly_connected(edges)
        if len(comp) > 1 or comp[0] in edges.get(comp[0], ())
    ]


def can_reach(targets: set[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
    """Every node with a path to one of ``targets`` (themselves included).

    A breadth-first search backwards from ``targets``: linear in nodes and edges.
    """
    into: dict[str, list[str]] = {}
    for node, outs in edges.items():
        for nxt in outs:
            into.setdefault(nxt, []).append(node)
    found = set(targets)
    queue = deque(targets)
    while queue:
        for prev in into.get(queue.popleft(), ()):
            if prev not in found:
                found.add(prev)
                queue.append(prev)
    return found
