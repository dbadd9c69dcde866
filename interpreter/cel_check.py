"""Static checks for plan branch conditions written in CEL.

Boundary: at plan-validation time this module decides whether a condition parses
(via :mod:`interpreter.cel_syntax`), type-checks against the plan environment and
calls only functions the runtime provides, and says in plain sentences what is
wrong. It never evaluates anything: the Rust-backed ``cel`` package does that in
``interpreter.conditions``. Standard library only; no I/O, clock or randomness.

The environment is fixed: ``events`` (opaque, with ``hasOpen``/``hasReply``/
``hasAnyReply``/``hasClick``/``hasBounce``/``hasEvent``/``callOutcome``), ``run`` (opaque, with
``visits``), and ``contact`` and ``vars`` (``map(string, dyn)``). Operators follow
the CEL spec overloads with no implicit numeric conversion; ``dyn`` is accepted
wherever a concrete type would be. One rule goes beyond CEL: ``map()`` and
``filter()`` may not range over a map or an untyped value, because the runtime
iterates maps in random order and a plan must branch the same way on replay.
"""

from __future__ import annotations

from interpreter.cel_bounds import source_problem, tree_problems
from interpreter.cel_checker import Checker
from interpreter.cel_limits import CelProblem
from interpreter.cel_syntax import CelSyntaxError, parse

# The type model lives in cel_types and the walk in cel_checker; the public names this
# module defined before the split are re-exported (``__all__``) so imports keep working.
from interpreter.cel_types import (
    BOOL,
    BYTES,
    DOUBLE,
    DYN,
    EVENTS,
    INT,
    NULL,
    RUN,
    STRING,
    UINT,
    CelType,
    Scope,
    is_dyn,
)

__all__ = [
    "BOOL", "BYTES", "DOUBLE", "DYN", "EVENTS", "INT", "NULL", "RUN", "STRING", "UINT",
    "CelProblem", "CelType", "Scope", "check_condition",
]  # fmt: skip


def check_condition(source: str, *, step_ids: frozenset[str]) -> list[CelProblem]:
    """Check one branch condition statically.

    Args:
        source: The CEL expression. The literal ``default`` is the caller's business
            and is not special here.
        step_ids: The plan's step ids; a string-literal step id passed to an
            ``events`` function or ``run.visits`` must be one of them.

    Returns:
        Every problem found, in source order and without repeats, then every limit of
        ``interpreter.cel_limits`` the expression exceeds; empty when the expression
        parses, is boolean (or ``dyn``), uses only known names and is within limits.
    """
    unreadable = source_problem(source)
    if unreadable is not None:
        return [CelProblem(unreadable)]
    try:
        expr = parse(source)
    except CelSyntaxError as err:
        return [CelProblem(f"does not parse: {err.message}")]
    checker = Checker(step_ids)
    result = checker.check(expr, {})
    if not is_dyn(result) and result != BOOL:
        checker.report(f"condition must be a boolean, got {result}")
    return [CelProblem(message) for message in (*checker.problems, *tree_problems(source, expr))]
