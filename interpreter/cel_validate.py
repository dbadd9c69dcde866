"""Plan-validation checks of a branch condition on Google's CEL (issue 23).

Boundary: what ``validate`` reports for one condition when ``Limits.google_cel`` is set,
in the shape of :func:`interpreter.cel_check.check_condition` (a list of
``CelProblem``). The library decides what CEL is (``cel_env.compile_condition``: its
parser and type checker, with line, column and caret); DEE's rules come from
``cel_env.rule_problems`` on the checked AST; the limits of ``cel_limits`` stay:

- the source length (and unreadable text) is checked before the library reads it;
- the node count is counted on the library's AST;
- the library refuses nesting past its own 32 levels (below ``MAX_NESTING``);
- the literal sizes, comprehension nesting and static cost are still estimated on
  DEE's own parse tree, for a condition that parser reads. A condition in syntax only
  the library reads (``dyn()``, ``type()``, optionals ...) has no static cost estimate
  yet: its run-time cost bound is the evaluator's (``cel_branch``).

No I/O, clock or randomness.
"""

from __future__ import annotations

from interpreter.cel_bounds import source_problem, tree_problems
from interpreter.cel_check import CelProblem
from interpreter.cel_env import ConditionError, compile_condition, rule_problems
from interpreter.cel_limits import NODES
from interpreter.cel_syntax import CelSyntaxError, parse


def check_condition_google(source: str, *, step_ids: frozenset[str]) -> list[CelProblem]:
    """Check one branch condition on Google's CEL.

    Args:
        source: The CEL expression (``default`` is the caller's business).
        step_ids: The plan's step ids, which ``events`` tests and ``run.visits`` must name.

    Returns:
        Every problem found: the library's refusal (``line:column: message`` and its
        caret), else DEE's rules in source order, then every limit exceeded; empty when
        the condition may run.
    """
    unreadable = source_problem(source)
    if unreadable is not None:
        return [CelProblem(unreadable)]
    try:
        compiled = compile_condition(source)
    except ConditionError as err:
        return [CelProblem(f"does not compile: {err}")]
    problems = [CelProblem(str(problem)) for problem in rule_problems(compiled, step_ids)]
    nodes = compiled.checked.nodes
    if nodes > NODES.value:
        return [*problems, CelProblem(NODES.exceeded(f"it has {nodes}"))]
    try:
        tree = parse(source)
    except CelSyntaxError:
        return problems  # syntax only the library reads: no static estimate yet
    limits = [p for p in tree_problems(source, tree) if not p.startswith("exceeds the node")]
    return [*problems, *(CelProblem(message) for message in limits)]
