"""The plan as a graph: its edges, reachability and the cycles that could not end.

Edge semantics: with ``linear`` transitions every step that is not a branch or an
end flows to the next step in list order; a branch's edges are its conditions'
gotos (in order); with explicit transitions the listed edges apply, and an
explicit edge leaving a branch must name one of its gotos (validation checks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from interpreter.plan import BranchStep, EndStep, ExecutionPlan


def successors(plan: ExecutionPlan) -> dict[str, tuple[str, ...]]:
    """Outgoing edges of every step, each list in a deterministic order."""
    out: dict[str, list[str]] = {s.id: [] for s in plan.steps}
    for index, step in enumerate(plan.steps):
        if isinstance(step, BranchStep):
            for cond in step.conditions:
                if cond.goto not in out[step.id]:
                    out[step.id].append(cond.goto)
        elif isinstance(step, EndStep):
            continue
        elif plan.transitions == "linear" and index + 1 < len(plan.steps):
            out[step.id].append(plan.steps[index + 1].id)
    if plan.transitions != "linear":
        branch_ids = {s.id for s in plan.steps if isinstance(s, BranchStep)}
        for t in plan.transitions:
            if t.from_ in out and t.from_ not in branch_ids and t.to not in out[t.from_]:
                out[t.from_].append(t.to)
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
    """Tarjan's algorithm, iterative (plans may be long), components in stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = [c for c in edges.get(node, ()) if c in edges]
            if child_pos < len(children):
                work.append((node, child_pos + 1))
                child = children[child_pos]
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
