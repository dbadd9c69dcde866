"""Plan-validation checks of a branch condition on Google's CEL (issue 23).

Boundary: what ``validate`` reports for one condition (a list of ``CelProblem``), for
every run since DEE's own checker was deleted. The library decides what CEL is
(``cel_env.compile_condition``: its parser and type checker, with line, column and
caret); DEE's rules come from ``cel_env.rule_problems`` on the checked AST; the limits
of ``cel_limits`` stay, all read from the library's own parse, so every condition it
accepts is bounded:

- the source length (and unreadable text) is checked before the library reads it;
- nesting past the library's parser's 32 levels is refused in DEE's words
  (``LIBRARY_NESTING``, below DEE's older ``MAX_NESTING``);
- the node count, literal sizes, comprehension nesting and static cost are counted on
  the library's checked AST (``cel_tree_cost``).

DEE's own CEL parser is not used. No I/O, clock or randomness.
"""

from __future__ import annotations

from interpreter.cel_env import ConditionError, compile_condition, rule_problems
from interpreter.cel_limits import NODES, CelProblem, source_problem
from interpreter.cel_tree_cost import static_problems


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
    return [*problems, *(CelProblem(m) for m in static_problems(source, compiled.tree))]
