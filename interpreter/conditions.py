"""Branch conditions: compiled once per plan, evaluated on an immutable snapshot.

Evaluation uses the Rust-backed ``cel`` package (about two microseconds per
expression). Receiver-style calls such as ``events.hasReply("intro-email")`` are
CEL sugar for ``hasReply(events, "intro-email")``, so each function below takes
the receiver as its first argument and answers from the snapshot it closes over.
Static checks (syntax, types, unknown functions, unknown step ids) happen at
validation time in ``cel_check``; anything that still goes wrong at run time (a
missing contact field) raises ``ConditionError`` — never a silent ``false``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cel

from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot
from interpreter.plan import BranchStep

DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    when: str
    goto: str
    program: Any  # cel.Program, or None for ``default``


@dataclass(frozen=True, slots=True)
class CompiledBranch:
    step_id: str
    conditions: tuple[CompiledCondition, ...]


def compile_branch(step: BranchStep) -> CompiledBranch:
    """Compile every condition of a validated branch."""
    return CompiledBranch(
        step.id,
        tuple(
            CompiledCondition(
                c.when, c.goto, None if c.when.strip() == DEFAULT else cel.compile(c.when)
            )
            for c in step.conditions
        ),
    )


def _step_arg(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} expects a step id string, got {type(value).__name__}")
    return value


def _functions(snapshot: EventSnapshot, visits: Mapping[str, int]) -> dict[str, Callable[..., Any]]:
    def has(kind: str, name: str) -> Callable[[object, object], bool]:
        return lambda _receiver, step: snapshot.has(kind, _step_arg(name, step))

    def has_event(_receiver: object, event_type: object, step: object) -> bool:
        if not isinstance(event_type, str):
            raise TypeError("hasEvent expects an event type string")
        return snapshot.has(event_type, _step_arg("hasEvent", step))

    return {
        "hasOpen": has("email.opened", "hasOpen"),
        "hasReply": has("email.replied", "hasReply"),
        "hasClick": has("email.clicked", "hasClick"),
        "hasBounce": has("email.bounced", "hasBounce"),
        "hasEvent": has_event,
        "callOutcome": lambda _r, step: snapshot.call_outcome(_step_arg("callOutcome", step)),
        "visits": lambda _r, step: visits.get(_step_arg("visits", step), 0),
    }


def evaluate_branch(
    branch: CompiledBranch,
    *,
    snapshot: EventSnapshot,
    contact: Mapping[str, Any],
    variables: Mapping[str, Any],
    visits: Mapping[str, int],
) -> tuple[int, CompiledCondition]:
    """Return the index and condition of the first condition that holds.

    Raises:
        ConditionError: a condition failed to evaluate or did not yield a boolean.
    """
    context: Any = None
    for index, cond in enumerate(branch.conditions):
        if cond.program is None:
            return index, cond
        if context is None:
            context = cel.Context(
                variables={"contact": contact, "vars": variables, "events": {}, "run": {}},
                functions=_functions(snapshot, visits),
            )
        try:
            result = cond.program.execute(context)
        except Exception as exc:  # the CEL runtime raises several builtin types
            raise ConditionError(branch.step_id, index, cond.when, _describe(exc)) from exc
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


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0]!r}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
