"""A branch's conditions as compiled for either evaluator, and the one loop over them.

Boundary: the compiled shapes (``CompiledBranch``, ``CompiledCondition``) both
evaluators share, the Python answer for a single event test, and ``first_holding``:
the first condition that holds, each condition answered by the evaluator passed in
(Google's CEL in ``cel_branch``; the old one, replay-only, in ``legacy_cel``). A
condition that does not yield a boolean, or a branch with no default, raises
``ConditionError`` here the same way for both. No I/O, clock or randomness.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from interpreter.cel_env import ANY_SENDER_TESTS, EVENT_TESTS
from interpreter.cel_sizes import SCALAR, Bound, data_bound
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot

DEFAULT = "default"
# The goto of a condition that is not a branch (``compile_test``): ``holds`` reads it.
MATCHED = "@matched"
VARIABLES = ("contact", "vars", "events", "run")


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    when: str
    goto: str
    # The evaluator's compiled condition (a ``cel_env.CompiledCondition`` on the
    # library; a ``cel.Program`` of the left-to-right form on the old evaluator), or
    # None for ``default``.
    program: Any
    # The same test answered in Python, for the commonest shape of condition (one
    # event test such as ``events.hasOpen("intro-email")``): measured 0.6 µs against
    # 13 µs on the library (5 µs on the old evaluator).
    native: Callable[[EventSnapshot], bool] | None = None
    # The old evaluator's parsed condition when the run's data sizes multiply or
    # accumulate in its cost (``legacy_cel.cost``): bounded again before each evaluation.
    scaled: Any = None
    # The paths into ``contact`` and ``vars`` it reads, to name a missing one.
    paths: tuple[tuple[str, ...], ...] = ()
    # On the library: its checked tree (``cel_tree.Tree``) when the run's data sizes
    # multiply or accumulate in its cost (``cel_tree_cost``), as ``scaled`` above.
    scaled_tree: Any = None


@dataclass(frozen=True, slots=True)
class CompiledBranch:
    step_id: str
    conditions: tuple[CompiledCondition, ...]
    # The variables and functions the conditions name: only those are put in the old
    # evaluator's context (converting a contact of many fields, and making every
    # function's closure, for each evaluation was most of its cost). A name a condition
    # uses always appears in its text, so the text is a safe over-approximation.
    variables: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()


class ValueProblem(Exception):
    """The run's data refused before evaluation (a value CEL cannot take, or a cost over
    the limit): the reason is recorded as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ``events.hasX("step")`` and nothing else; a step id never needs escaping in a string
# literal (validation allows only [A-Za-z0-9_.:-]). Anything else is left to CEL. The
# event type each test looks for is the library environment's (``cel_env``).
EVENT_TYPES = EVENT_TESTS
ANY_SENDER = ANY_SENDER_TESTS
FUNCTIONS = (*EVENT_TYPES, *ANY_SENDER, "hasEvent", "callOutcome", "visits")
_EVENT_TEST = re.compile(
    rf"\s*events\.({'|'.join((*EVENT_TYPES, *ANY_SENDER))})\(\s*"
    r"(?:\"([A-Za-z0-9_.:-]+)\"|'([A-Za-z0-9_.:-]+)')\s*\)\s*"
)


def native(when: str) -> Callable[[EventSnapshot], bool] | None:
    """A Python predicate equal to ``when`` when it is a single event test."""
    match = _EVENT_TEST.fullmatch(when)
    if match is None:
        return None
    step = match[2] or match[3]
    if match[1] in ANY_SENDER:
        any_type = ANY_SENDER[match[1]]
        return lambda snapshot: snapshot.has_any(any_type, step)
    event_type = EVENT_TYPES[match[1]]
    return lambda snapshot: snapshot.has(event_type, step)


def branch_of(step_id: str, conditions: tuple[CompiledCondition, ...]) -> CompiledBranch:
    """The compiled branch, with the variables and functions its conditions name."""
    text = " ".join(c.when for c in conditions if c.program is not None)
    return CompiledBranch(
        step_id,
        conditions,
        tuple(name for name in VARIABLES if name in text),
        tuple(name for name in FUNCTIONS if name in text),
    )


def first_holding(
    branch: CompiledBranch,
    snapshot: EventSnapshot,
    answer: Callable[[int, CompiledCondition], object],
) -> tuple[int, CompiledCondition]:
    """The index and condition of the first condition that holds: ``default``, a single
    event test answered in Python, or ``answer(index, condition)`` (the evaluator, which
    raises ``ConditionError`` itself when it fails, or ``ValueProblem``).

    Raises:
        ConditionError: ``answer`` refused the run's data (``ValueProblem``) or did not
            yield a boolean, or no condition held.
    """
    for index, cond in enumerate(branch.conditions):
        if cond.program is None or cond.when.strip() == DEFAULT:
            return index, cond
        if cond.native is not None:
            if cond.native(snapshot):
                return index, cond
            continue
        try:
            result = answer(index, cond)
        except ValueProblem as exc:
            raise ConditionError(branch.step_id, index, cond.when, exc.reason) from None
        if not isinstance(result, bool):
            raise ConditionError(
                branch.step_id,
                index,
                cond.when,
                f"evaluated to {type(result).__name__} {result!r}, not a boolean",
            )
        if result:
            return index, cond
    # Validation guarantees a default; a branch without one is a programming error.
    raise ConditionError(branch.step_id, len(branch.conditions), DEFAULT, "no condition held")


def cost_roots(
    branch: CompiledBranch, contact: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Bound]:
    """The measured contact and variables (only those the branch names: only those were
    checked to be JSON before)."""
    values = {"contact": contact, "vars": variables}
    return {
        name: data_bound(value) if name in branch.variables else SCALAR
        for name, value in values.items()
    }
