"""Branch conditions: compiled once per plan for the evaluator the run uses.

The one place that chooses between the two evaluators' compilers: Google's CEL
(``cel_branch``, every run started since ``conditions-on-google-cel``, issue 23) or the
old evaluator (``legacy_cel``, replay-only: runs recorded before the flip). It is the
only module that imports ``legacy_cel`` (an import-linter contract); the step machine
evaluates with ``cel_branch.evaluate_google`` or, for an old run, ``evaluate_branch``
below. Both share the loop over a branch's conditions (``compiled_branch``).

Static checks (syntax, types, unknown step ids, the limits of ``cel_limits``) happen
at validation time on the library (``cel_validate``); anything that still goes wrong at
run time raises ``ConditionError`` — never a silent ``false``, never an evaluation
without end, and never another exception escaping the step machine.
"""

from __future__ import annotations

from interpreter import cel_env
from interpreter.cel_branch import compile_google
from interpreter.cel_limits import CelProblem
from interpreter.cel_validate import check_condition_google
from interpreter.compiled_branch import (
    DEFAULT,
    MATCHED,
    VARIABLES,
    CompiledBranch,
    CompiledCondition,
    ValueProblem,
    branch_of,
)
from interpreter.legacy_cel.evaluate import compile_legacy, compile_problem
from interpreter.legacy_cel.evaluate import evaluate_legacy as evaluate_branch
from interpreter.legacy_cel.functions import unknown_function
from interpreter.plan import BranchStep


def compile_branch(step: BranchStep, *, google_cel: bool = False) -> CompiledBranch:
    """Compile every condition of a validated branch (``google_cel``: on the library,
    for ``cel_branch.evaluate_google``; else for the old evaluator, ``evaluate_branch``)."""
    return branch_of(
        step.id,
        tuple(
            CompiledCondition(c.when, c.goto, None, None)
            if c.when.strip() == DEFAULT
            else _compile(c.when, c.goto, google_cel=google_cel)
            for c in step.conditions
        ),
    )


def compile_test(owner: str, when: str, *, google_cel: bool = False) -> CompiledBranch:
    """One condition that is not a branch (an exit rule's ``when``, a ``waitForEvent``'s
    ``until``), compiled as a branch of it and ``default``: ``holds`` evaluates it.

    ``owner`` names it in a ``ConditionError`` (``exitOn[2]``, the step id).
    """
    compiled = _compile(when, MATCHED, google_cel=google_cel)
    return branch_of(owner, (compiled, CompiledCondition(DEFAULT, "", None, None)))


def check_for_old_evaluator(source: str, *, step_ids: frozenset[str]) -> list[CelProblem]:
    """The condition check of a plan validated for the old evaluator (``--legacy-cel``,
    the replay of a run recorded before the flip): Google's CEL's check
    (``cel_validate``), then whether the old evaluator compiles it and has every function
    it calls (``legacy_cel.functions``)."""
    problems = check_condition_google(source, step_ids=step_ids)
    if problems:
        return problems
    problem = compile_problem(source) or unknown_function(
        cel_env.compile_condition(source).tree.root
    )
    return [] if problem is None else [CelProblem(problem)]


def _compile(when: str, goto: str, *, google_cel: bool) -> CompiledCondition:
    return compile_google(when, goto) if google_cel else compile_legacy(when, goto)


__all__ = [
    "DEFAULT",
    "MATCHED",
    "VARIABLES",
    "CompiledBranch",
    "CompiledCondition",
    "ValueProblem",
    "check_for_old_evaluator",
    "compile_branch",
    "compile_test",
    "evaluate_branch",
]
