"""The static limit pass: what a condition writes must stay within ``cel_limits``.

Boundary: given a condition's source and its parsed tree, the sentences naming each
limit it exceeds, with the limit's value (``exceeds the comprehension nesting limit of
2 levels: comprehensions nest 4 deep``); :mod:`interpreter.cel_check` reports them at
validation with the plan, step and field. Standard library only.
"""

from __future__ import annotations

from interpreter.cel_cost import UNKNOWN, estimate
from interpreter.cel_lexer import CelSyntaxError, where
from interpreter.cel_limits import (
    COMPREHENSION_NESTING,
    COST,
    DEPTH,
    LITERAL_ELEMENTS,
    NESTING,
    NODES,
    STRING_LITERAL,
    source_problem,
)
from interpreter.cel_strict import left_to_right
from interpreter.cel_syntax import Expr, ListExpr, Literal, MapExpr, children, parse

__all__ = ["source_problem", "tree_problems"]


def tree_problems(source: str, expr: Expr) -> list[str]:
    """Every limit the parsed ``expr`` exceeds, in a fixed order."""
    problems: list[str] = []
    nodes = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        nodes += 1
        stack.extend(children(node))
        problem = _literal_problem(source, node)
        if problem is not None and problem not in problems:
            problems.append(problem)
    if nodes > NODES.value:
        problems.insert(0, NODES.exceeded(f"it has {nodes}"))
    found = estimate(expr, {"contact": UNKNOWN, "vars": UNKNOWN})
    if found.comprehension_nesting > COMPREHENSION_NESTING.value:
        depth = found.comprehension_nesting
        problems.append(COMPREHENSION_NESTING.exceeded(f"comprehensions nest {depth} deep"))
    if found.cost > COST.value:
        problems.append(
            COST.exceeded(
                f"an estimated {found.cost} before any data is read "
                "(the ranges of nested comprehensions multiply)"
            )
        )
    if nodes <= NODES.value:  # the rewrite of an oversized tree tells nothing more
        try:
            parse(left_to_right(expr))
        except CelSyntaxError:
            problems.append(
                NESTING.exceeded(
                    "once && and || are evaluated left to right (each becomes a ?:) it "
                    f"nests deeper, or past the depth limit of {DEPTH.value} {DEPTH.unit}; "
                    "use fewer parentheses or split the condition"
                )
            )
    return problems


def _literal_problem(source: str, node: Expr) -> str | None:
    match node:
        case ListExpr(elements=elements) if len(elements) > LITERAL_ELEMENTS.value:
            limit, what, size = LITERAL_ELEMENTS, "the list", len(elements)
        case MapExpr(entries=entries) if len(entries) > LITERAL_ELEMENTS.value:
            limit, what, size = LITERAL_ELEMENTS, "the map", len(entries)
        case Literal(value=str() | bytes() as text) if len(text) > STRING_LITERAL.value:
            limit, what, size = STRING_LITERAL, "the literal", len(text)
        case _:
            return None
    return limit.exceeded(f"{what} at {where(source, node.offset)} has {size}")
