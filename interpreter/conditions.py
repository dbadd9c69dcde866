"""Branch conditions: compiled once per plan, evaluated on an immutable snapshot.

Evaluation uses the Rust-backed ``cel`` package (about two microseconds per
expression). Receiver-style calls such as ``events.hasReply("intro-email")`` are
CEL sugar for ``hasReply(events, "intro-email")``, so each function below takes
the receiver as its first argument and answers from the snapshot it closes over.
Static checks (syntax, types, unknown functions, unknown step ids, the limits of
``cel_limits``) happen at validation time in ``cel_check``; anything that still goes
wrong at run time (a missing contact field, a contact value CEL cannot take, data
that would make the evaluation too costly) raises ``ConditionError`` — never a
silent ``false``, never an evaluation without end, and never another exception
escaping the step machine.

What is compiled is the condition with ``&&`` and ``||`` made to evaluate left to
right (``cel_strict``): in CEL they let the other side absorb an error, so a missing
field under ``&&`` was quietly ``false`` where under ``==`` it failed the run. The
README's one rule ("Conditions") now holds for every operator. Runs decided before
that rule are replayed by the rule they were decided by (``legacy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from interpreter import cel_env, cel_runtime
from interpreter.cel_cost import SCALAR, UNKNOWN, Bound, data_bound, estimate
from interpreter.cel_fields import data_paths as tree_paths
from interpreter.cel_limits import COST
from interpreter.cel_paths import data_paths, missing_path
from interpreter.cel_strict import left_to_right
from interpreter.cel_syntax import Expr, parse
from interpreter.cel_tree import Tree
from interpreter.cel_tree_cost import estimate as tree_cost
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot
from interpreter.plan import BranchStep

cel = cel_runtime.load()
DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    when: str
    goto: str
    # cel.Program of the left-to-right form (on the library: its compiled condition,
    # which ``cel_branch`` only tests for None), or None for ``default``.
    program: Any
    # The same test answered in Python, for the commonest shape of condition (one
    # event test such as ``events.hasOpen("intro-email")``): a CEL evaluation costs a
    # context and a call back into Python, about 5 µs, which was the largest single
    # cost of a simulated run.
    native: Callable[[EventSnapshot], bool] | None = None
    # The parsed condition when the run's data sizes multiply or accumulate in its cost
    # (``cel_cost``): its cost is bounded again on the data before each evaluation.
    scaled: Expr | None = None
    # The paths into ``contact`` and ``vars`` it reads, to name a missing one.
    paths: tuple[tuple[str, ...], ...] = ()
    # On the library (``google_cel``): its checked tree when the run's data sizes
    # multiply or accumulate in its cost (``cel_tree_cost``), as ``scaled`` above.
    scaled_tree: Tree | None = None


@dataclass(frozen=True, slots=True)
class CompiledBranch:
    step_id: str
    conditions: tuple[CompiledCondition, ...]
    # The variables and functions the conditions name: only those are put in the CEL
    # context (converting a contact of many fields, and making every function's
    # closure, for each evaluation was most of its cost). A name a condition uses
    # always appears in its text, so the text is a safe over-approximation.
    variables: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()


def compile_branch(step: BranchStep, *, google_cel: bool = False) -> CompiledBranch:
    """Compile every condition of a validated branch (``google_cel``: on the library,
    for ``cel_branch.evaluate_google``)."""
    conditions = tuple(
        CompiledCondition(c.when, c.goto, None, None)
        if c.when.strip() == DEFAULT
        else _compile(c.when, c.goto, google_cel=google_cel)
        for c in step.conditions
    )
    text = " ".join(c.when for c in conditions if c.program is not None)
    return CompiledBranch(
        step.id,
        conditions,
        tuple(name for name in VARIABLES if name in text),
        tuple(name for name in _FUNCTIONS if name in text),
    )


def compile_test(owner: str, when: str, *, google_cel: bool = False) -> CompiledBranch:
    """One condition that is not a branch (an exit rule's ``when``, a ``waitForEvent``'s
    ``until``), compiled as a branch of it and ``default``: ``holds`` evaluates it.

    ``owner`` names it in a ``ConditionError`` (``exitOn[2]``, the step id).
    """
    compiled = _compile(when, MATCHED, google_cel=google_cel)
    return CompiledBranch(
        owner,
        (compiled, CompiledCondition(DEFAULT, "", None, None)),
        tuple(name for name in VARIABLES if name in when),
        tuple(name for name in _FUNCTIONS if name in when),
    )


MATCHED = "@matched"


def _compile(when: str, goto: str, *, google_cel: bool = False) -> CompiledCondition:
    if google_cel:
        return _compile_google(when, goto)
    tree = parse(when)
    scaled = estimate(tree, {"contact": UNKNOWN, "vars": UNKNOWN}).scaled
    return CompiledCondition(
        when,
        goto,
        cel.compile(left_to_right(tree)),
        _native(when),
        tree if scaled else None,
        data_paths(tree),
    )


def _compile_google(when: str, goto: str) -> CompiledCondition:
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
        _native(when),
        paths=tree_paths(tree),
        scaled_tree=tree if scaled else None,
    )


@lru_cache(maxsize=256)
def _legacy_program(when: str) -> Any:
    """``when`` compiled as it was before the left-to-right rule (``legacy``)."""
    return cel.compile(when)


# ``events.hasX("step")`` and nothing else; a step id never needs escaping in a string
# literal (validation allows only [A-Za-z0-9_.:-]). Anything else is left to CEL.
_EVENT_TYPES = {
    "hasOpen": "email.opened",
    "hasReply": "email.replied",
    "hasClick": "email.clicked",
    "hasBounce": "email.bounced",
}
# Replies whoever sent them: hasReply counts the contact's only (``EventSnapshot``).
_ANY_SENDER = {"hasAnyReply": "email.replied"}
_EVENT_TEST = re.compile(
    rf"\s*events\.({'|'.join((*_EVENT_TYPES, *_ANY_SENDER))})\(\s*"
    r"(?:\"([A-Za-z0-9_.:-]+)\"|'([A-Za-z0-9_.:-]+)')\s*\)\s*"
)


def _native(when: str) -> Callable[[EventSnapshot], bool] | None:
    """A Python predicate equal to ``when`` when it is a single event test."""
    match = _EVENT_TEST.fullmatch(when)
    if match is None:
        return None
    step = match[2] or match[3]
    if match[1] in _ANY_SENDER:
        any_type = _ANY_SENDER[match[1]]
        return lambda snapshot: snapshot.has_any(any_type, step)
    event_type = _EVENT_TYPES[match[1]]
    return lambda snapshot: snapshot.has(event_type, step)


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
# Each function a condition may call, made for one evaluation's snapshot and visits.
_FUNCTIONS: dict[str, _Maker] = {
    **{name: _has(event_type, name) for name, event_type in _EVENT_TYPES.items()},
    **{name: _has_any(event_type, name) for name, event_type in _ANY_SENDER.items()},
    "hasEvent": _has_event,
    "callOutcome": _call_outcome,
    "visits": _visits,
}
VARIABLES = ("contact", "vars", "events", "run")


def evaluate_branch(
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
    for index, cond in enumerate(branch.conditions):
        if cond.program is None:
            return index, cond
        if cond.native is not None:
            if cond.native(snapshot):
                return index, cond
            continue
        try:
            if context is None:
                context = _context(branch, snapshot, contact, variables, visits)
            if legacy:
                result = _legacy_program(cond.when).execute(context)
            else:
                if cond.scaled is not None:
                    roots = roots or cost_roots(branch, contact, variables)
                    check_cost(cond.scaled, roots)
                result = cond.program.execute(context)
        except ValueProblem as exc:
            raise ConditionError(branch.step_id, index, cond.when, exc.reason) from None
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


class ValueProblem(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def cost_roots(
    branch: CompiledBranch, contact: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Bound]:
    """The measured contact and variables (only those the branch names: only those
    were checked to be JSON by ``_context``)."""
    values = {"contact": contact, "vars": variables}
    return {
        name: data_bound(value) if name in branch.variables else SCALAR
        for name, value in values.items()
    }


def check_cost(tree: Expr, roots: Mapping[str, Bound]) -> None:
    cost = estimate(tree, roots).cost
    if cost > COST.value:
        raise ValueProblem(COST.exceeded(f"an estimated {cost} on this run's contact and vars"))


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
