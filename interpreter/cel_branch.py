"""A compiled branch evaluated on Google's CEL (``interpreter.cel_env``).

Boundary: the same contract as the old evaluator's (the index and condition of the
first condition that holds, ``compiled_branch.first_holding``; ``errors.ConditionError``
naming step, condition and reason otherwise), on the library instead of the Rust
evaluator. The step machine asks
for it when ``MachineConfig.google_cel`` is set; the run's start entry then names
``cel_env.CEL_IMPLEMENTATION``.

DEE's rule that ``&&`` and ``||`` evaluate left to right is kept on the library's
checked AST (``cel_order``), the run-time cost bound is estimated on it
(``cel_tree_cost``) and a missing key is named from it (``cel_fields``): DEE's own CEL
parser is not used, and every condition the library accepts has all three. The single
event test keeps its Python answer (``CompiledCondition.native``): measured, 0.6 µs
against 13 µs on the library. No I/O, clock or randomness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from interpreter import cel_env
from interpreter.cel_fields import data_paths, missing_path
from interpreter.cel_runtime import CEL_LIMITS, value_problem
from interpreter.cel_sizes import UNKNOWN, Bound
from interpreter.cel_tree_cost import check_cost
from interpreter.cel_tree_cost import estimate as tree_cost
from interpreter.compiled_branch import (
    CompiledBranch,
    CompiledCondition,
    ValueProblem,
    cost_roots,
    first_holding,
    native,
)
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot


@lru_cache(maxsize=1024)
def compiled(when: str) -> cel_env.CompiledCondition:
    """``when`` compiled on the library with ``&&``/``||`` left to right, as a run
    evaluates it (compiling costs 60-200 µs: once per text per process)."""
    return cel_env.compile_condition(when, strict=True)


def compile_google(when: str, goto: str) -> CompiledCondition:
    """``when`` compiled on the library (which validated it), ``&&``/``||`` left to
    right; its run-time cost bound and missing-field names read from the library's
    checked tree, so every condition the library accepts has both."""
    program = cel_env.compile_condition(when, strict=True)
    tree = program.tree
    scaled = tree_cost(tree, {"contact": UNKNOWN, "vars": UNKNOWN}).scaled
    return CompiledCondition(
        when,
        goto,
        program,
        native(when),
        paths=data_paths(tree),
        scaled_tree=tree if scaled else None,
    )


@lru_cache(maxsize=1024)
def _on_library(when: str) -> CompiledCondition:
    """``when`` as ``compile_branch(google_cel=True)`` makes it, for a branch compiled
    for the other evaluator."""
    return compile_google(when, "")


def evaluate_google(
    branch: CompiledBranch,
    *,
    snapshot: EventSnapshot,
    contact: Mapping[str, Any],
    variables: Mapping[str, Any],
    visits: Mapping[str, int],
) -> tuple[int, CompiledCondition]:
    """Return the index and condition of the first condition that holds.

    Raises:
        ConditionError: a condition failed to compile or evaluate on the library, or
            did not yield a boolean.
    """
    activation = cel_env.Activation(contact, variables, snapshot, visits)
    roots: dict[str, Bound] | None = None

    def answer(index: int, cond: CompiledCondition) -> object:
        nonlocal roots
        on_library = cond if isinstance(cond.program, cel_env.CompiledCondition) else None
        google = on_library or _on_library(cond.when)
        try:
            if google.scaled_tree is not None:  # the run-time cost bound
                if roots is None:  # once per branch: the data is the same for each condition
                    _check_values(contact, variables)  # measured only once known to be JSON
                    roots = cost_roots(branch, contact, variables)
                problem = check_cost(google.scaled_tree, roots)
                if problem is not None:
                    raise ValueProblem(problem)
            return google.program.evaluate(activation)
        except cel_env.ConditionError as exc:
            reason = _missing(google, exc.message, contact, variables) or str(exc)
            raise ConditionError(branch.step_id, index, cond.when, reason) from None

    return first_holding(branch, snapshot, answer)


# What a run whose start entry names no ``cel`` was evaluated on: DEE's own checker and
# the Rust ``cel`` package (every run before issue 23).
LEGACY_CEL = "common-expression-language"


def recorded_cel(entries: Iterable[Mapping[str, Any]]) -> str:
    """The CEL implementation a run's audit entries say evaluated it: its start entry's
    ``cel``, or ``LEGACY_CEL`` when it records none (or the entries have no start)."""
    for entry in entries:
        if entry.get("action") == "start":
            cel = (entry.get("detail") or {}).get("cel")
            return cel if isinstance(cel, str) else LEGACY_CEL
    return LEGACY_CEL


def on_google_cel(cel: str | None) -> bool:
    """Whether a run told to evaluate with ``cel`` (a recorded implementation; ``None``:
    the engine's own choice, the old evaluator until the flip) runs on Google's CEL."""
    return cel is not None and cel != LEGACY_CEL


# How the library reports a missing key: ``Key not found in map : "tier"``.
_MISSING_KEY = re.compile(r'^Key not found in map : "(.*)"$')


def _missing(
    cond: CompiledCondition, message: str, contact: Mapping[str, Any], variables: Mapping[str, Any]
) -> str | None:
    """``missing field contact.tier``, when the key is one the condition reads."""
    match = _MISSING_KEY.match(message)
    if match is None:
        return None
    found = missing_path(cond.paths, match[1], {"contact": contact, "vars": variables})
    return None if found is None else f"missing field {found}"


def _check_values(contact: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
    for name, value in (("contact", contact), ("vars", variables)):
        problem = value_problem(value, name, CEL_LIMITS)
        if problem is not None:
            raise ValueProblem(problem)
