"""The old evaluator, replay-only: a condition compiled and evaluated as runs started
before ``conditions-on-google-cel`` were (see the package's docstring).

Evaluation uses the Rust-backed ``cel`` package. Receiver-style calls such as
``events.hasReply("intro-email")`` are CEL sugar for ``hasReply(events, "intro-email")``,
so each function below takes the receiver as its first argument and answers from the
snapshot it closes over. What is compiled is the condition with ``&&`` and ``||`` made to
evaluate left to right (``strict``); runs decided before that rule are replayed by the
rule they were decided by (``legacy``). Anything that goes wrong at run time raises
``ConditionError``: never a silent ``false``, never another exception escaping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from interpreter import cel_runtime
from interpreter.cel_limits import COST
from interpreter.cel_sizes import UNKNOWN, Bound
from interpreter.compiled_branch import (
    ANY_SENDER,
    EVENT_TYPES,
    CompiledBranch,
    CompiledCondition,
    ValueProblem,
    cost_roots,
    first_holding,
    native,
)
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot
from interpreter.legacy_cel.cost import estimate
from interpreter.legacy_cel.paths import data_paths, missing_path
from interpreter.legacy_cel.strict import left_to_right
from interpreter.legacy_cel.syntax import CelSyntaxError, Expr, parse

cel = cel_runtime.load()


def compile_legacy(when: str, goto: str) -> CompiledCondition:
    """``when`` parsed by DEE's old parser and compiled for the Rust ``cel`` package."""
    tree = parse(when)
    scaled = estimate(tree, {"contact": UNKNOWN, "vars": UNKNOWN}).scaled
    return CompiledCondition(
        when,
        goto,
        cel.compile(left_to_right(tree)),
        native(when),
        tree if scaled else None,
        data_paths(tree),
    )


def compile_problem(when: str) -> str | None:
    """Why the old evaluator cannot compile ``when`` (a plan validated for it), or None.

    DEE's old checker is deleted: a plan for the old evaluator is checked on Google's
    CEL, and this adds what only the old parser refuses (syntax only the library reads,
    ``a.?b``; nesting past its 48 levels), so "validates" still implies "compiles".
    A run recorded before the flip was admitted by the old checker, so it compiles.
    """
    try:
        compile_legacy(when, "")
    except CelSyntaxError as err:
        return f"does not parse on the old evaluator (runs before Google's CEL): {err.message}"
    except Exception as err:  # the Rust binding raises several builtin types
        return f"does not compile on the old evaluator: {_describe(err)}"
    return None


@lru_cache(maxsize=256)
def _legacy_program(when: str) -> Any:
    """``when`` compiled as it was before the left-to-right rule (``legacy``)."""
    return cel.compile(when)


def evaluate_legacy(
    branch: CompiledBranch,
    *,
    snapshot: EventSnapshot,
    contact: Mapping[str, Any],
    variables: Mapping[str, Any],
    visits: Mapping[str, int],
    legacy: bool = False,
) -> tuple[int, CompiledCondition]:
    """Return the index and condition of the first condition that holds.

    ``legacy`` evaluates as runs were evaluated before the left-to-right rule and the
    run-time cost limit (the text as written, ``no such key`` messages), so that a
    history recorded then replays as it was decided. The two differ only where today's
    rule raises: the step machine asks for ``legacy`` only then.

    Raises:
        ConditionError: a condition failed to evaluate, did not yield a boolean, or
            would cost more than ``cel_limits.COST`` on this run's data.
    """
    context: Any = None
    roots: dict[str, Bound] | None = None

    def answer(index: int, cond: CompiledCondition) -> object:
        nonlocal context, roots
        try:
            if context is None:
                context = _context(branch, snapshot, contact, variables, visits)
            if legacy:
                return _legacy_program(cond.when).execute(context)
            if cond.scaled is not None:
                roots = roots or cost_roots(branch, contact, variables)
                check_cost(cond.scaled, roots)
            return cond.program.execute(context)
        except ValueProblem:  # the run's data refused: ``first_holding`` records why
            raise
        except KeyError as exc:  # how the runtime reports a missing key
            reason = _describe(exc) if legacy else _missing(cond, exc, contact, variables)
            raise ConditionError(branch.step_id, index, cond.when, reason) from exc
        except Exception as exc:  # the CEL runtime raises several builtin types
            raise ConditionError(branch.step_id, index, cond.when, _describe(exc)) from exc
        except BaseException as exc:
            # A panic in the Rust binding is raised as pyo3's PanicException, which
            # derives from BaseException: let it escape and the workflow task retries
            # forever; as a ConditionError the run fails with the reason recorded.
            if type(exc).__name__ != "PanicException":
                raise
            raise ConditionError(branch.step_id, index, cond.when, _describe(exc)) from exc

    return first_holding(branch, snapshot, answer)


def check_cost(tree: Expr, roots: Mapping[str, Bound]) -> None:
    cost = estimate(tree, roots).cost
    if cost > COST.value:
        raise ValueProblem(COST.exceeded(f"an estimated {cost} on this run's contact and vars"))


def _missing(
    cond: CompiledCondition,
    exc: KeyError,
    contact: Mapping[str, Any],
    variables: Mapping[str, Any],
) -> str:
    """``missing field contact.tier``, when the key is one the condition reads."""
    key = exc.args[0] if exc.args else None
    found = missing_path(cond.paths, key, {"contact": contact, "vars": variables})
    return _describe(exc) if found is None else f"missing field {found}"


def _step_arg(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} expects a step id string, got {type(value).__name__}")
    return value


def _has(kind: str, name: str) -> _Maker:
    def make(snapshot: EventSnapshot, _visits: Mapping[str, int]) -> Callable[..., Any]:
        return lambda _receiver, step: snapshot.has(kind, _step_arg(name, step))

    return make


def _has_any(kind: str, name: str) -> _Maker:
    def make(snapshot: EventSnapshot, _visits: Mapping[str, int]) -> Callable[..., Any]:
        return lambda _receiver, step: snapshot.has_any(kind, _step_arg(name, step))

    return make


def _has_event(snapshot: EventSnapshot, _visits: Mapping[str, int]) -> Callable[..., Any]:
    def has_event(_receiver: object, event_type: object, step: object) -> bool:
        if not isinstance(event_type, str):
            raise TypeError("hasEvent expects an event type string")
        return snapshot.has(event_type, _step_arg("hasEvent", step))

    return has_event


def _call_outcome(snapshot: EventSnapshot, _visits: Mapping[str, int]) -> Callable[..., Any]:
    return lambda _r, step: snapshot.call_outcome(_step_arg("callOutcome", step))


def _visits(_snapshot: EventSnapshot, visits: Mapping[str, int]) -> Callable[..., Any]:
    return lambda _r, step: visits.get(_step_arg("visits", step), 0)


_Maker = Callable[[EventSnapshot, Mapping[str, int]], Callable[..., Any]]
# Each function a condition may call (``compiled_branch.FUNCTIONS``), made for one
# evaluation's snapshot and visits.
_FUNCTIONS: dict[str, _Maker] = {
    **{name: _has(event_type, name) for name, event_type in EVENT_TYPES.items()},
    **{name: _has_any(event_type, name) for name, event_type in ANY_SENDER.items()},
    "hasEvent": _has_event,
    "callOutcome": _call_outcome,
    "visits": _visits,
}


def _context(
    branch: CompiledBranch,
    snapshot: EventSnapshot,
    contact: Mapping[str, Any],
    variables: Mapping[str, Any],
    visits: Mapping[str, int],
) -> Any:
    """The CEL context for one evaluation of ``branch``.

    The contact and variables are checked first: the binding refuses some values with
    an error that does not say which field (a lone surrogate, a set), quietly rounds
    others (an integer past 64 bits) and crashes the process on very deep nesting.
    Runs started through the Engine were checked at the start; a raw Temporal start
    was not.
    """
    values = {"contact": contact, "vars": variables, "events": {}, "run": {}}
    for name in ("contact", "vars"):
        if name in branch.variables:
            problem = cel_runtime.value_problem(values[name], name, cel_runtime.CEL_LIMITS)
            if problem is not None:
                raise ValueProblem(problem)
    return cel.Context(
        variables={name: values[name] for name in branch.variables},
        functions={name: _FUNCTIONS[name](snapshot, visits) for name in branch.functions},
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0]!r}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
