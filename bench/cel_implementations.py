"""The condition implementations ``bench.cel_conformance`` measures, behind one interface.

Each answers two questions about an expression, as a plan's ``when`` would be treated:

* ``accept``: does DEE's static check (what ``dee plan validate`` runs on a condition)
  let it through? ``None`` when it does, else the first reason. One rule is left out: a
  condition must be boolean, and most conformance expressions are not (``1 + 2``); in a
  plan they would be an operand (``1 + 2 == 3``), whose acceptance is what is measured.
* ``evaluate``: its value with no contact, variables or events, as the step machine
  computes it; a CEL error raises ``EvalError``.

``handwritten`` is DEE's own lexer, parser and checker (``interpreter.cel_check``) with
the Rust-backed ``common-expression-language`` evaluating the left-to-right rewrite
(``interpreter.conditions``); ``cel-expr-python`` is Google's C++ implementation behind
``interpreter.cel_env``, and ``cel-expr-python-run`` the same as a run's branch evaluates
it (``interpreter.cel_branch``: with DEE's left-to-right rule). An implementation whose
modules are gone (or not there yet) is reported as unavailable, not as an error.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class EvalError(Exception):
    """The evaluation ended in a CEL error (the message is the implementation's)."""


@dataclass(frozen=True, slots=True)
class Implementation:
    """One implementation: its name and version, and the two questions it answers.

    ``static_type`` is the checker's type of the whole expression (``int``, ``uint``,
    ``dyn`` ...), or ``None``: both Python bindings return a CEL ``uint`` as a plain
    ``int``, so the static type is what tells an ``int`` result from a ``uint`` one.
    """

    name: str
    version: str
    accept: Callable[[str], str | None]
    evaluate: Callable[[str], Any]
    static_type: Callable[[str], str | None]
    # The evaluator on the text as written, no static check first: where checker and
    # evaluator are separate programs, what the evaluator alone makes of CEL.
    evaluate_alone: Callable[[str], Any] | None = None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def handwritten() -> Implementation:
    """DEE's own checker and the ``common-expression-language`` evaluator."""
    from interpreter.cel_bounds import source_problem, tree_problems  # noqa: PLC0415
    from interpreter.cel_checker import Checker  # noqa: PLC0415
    from interpreter.cel_runtime import load  # noqa: PLC0415
    from interpreter.cel_strict import left_to_right  # noqa: PLC0415
    from interpreter.cel_syntax import CelSyntaxError, parse  # noqa: PLC0415

    cel = load()

    def check(source: str) -> tuple[str | None, str | None]:
        # interpreter.cel_check.check_condition without its boolean rule.
        unreadable = source_problem(source)
        if unreadable is not None:
            return unreadable, None
        try:
            tree = parse(source)
        except CelSyntaxError as err:
            return f"does not parse: {err.message}", None
        checker = Checker(frozenset())
        result = checker.check(tree, {})
        problems = [*checker.problems, *tree_problems(source, tree)]
        return (problems[0] if problems else None), str(result)

    def run(text: str) -> Any:
        try:
            return cel.compile(text).execute(cel.Context(variables={}, functions={}))
        except BaseException as exc:  # the binding raises builtins and pyo3's PanicException
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise EvalError(f"{type(exc).__name__}: {str(exc).strip()}") from None

    def evaluate(source: str) -> Any:
        try:
            text = left_to_right(parse(source))
        except CelSyntaxError as err:
            raise EvalError(f"does not parse: {err.message}") from None
        return run(text)

    return Implementation(
        "handwritten",
        f"DEE checker + common-expression-language {_version('common-expression-language')}",
        lambda source: check(source)[0],
        evaluate,
        lambda source: check(source)[1],
        run,
    )


def google() -> Implementation:
    """Google's ``cel-expr-python`` behind ``interpreter.cel_env``."""
    from interpreter.cel_env import (  # noqa: PLC0415
        CEL_IMPLEMENTATION,
        ConditionError,
        compile_condition,
        rule_problems,
    )

    def accept(source: str) -> str | None:
        try:
            compiled = compile_condition(source)
        except ConditionError as err:
            return err.message
        # DEE's own rules, the boolean one left out (the module docstring says why).
        problems = rule_problems(dataclasses.replace(compiled, result_type="bool"), frozenset())
        return problems[0].message if problems else None

    def evaluate(source: str) -> Any:
        try:
            return compile_condition(source).evaluate(None)
        except ConditionError as err:
            raise EvalError(err.message) from None

    def static_type(source: str) -> str | None:
        try:
            return compile_condition(source).result_type
        except ConditionError:
            return None

    return Implementation("cel-expr-python", CEL_IMPLEMENTATION, accept, evaluate, static_type)


def google_in_a_run() -> Implementation:
    """``cel-expr-python`` as the step machine calls it (``interpreter.cel_branch``): the
    text compiled with DEE's rule that ``&&`` and ``||`` evaluate left to right, so an
    error on the left fails the run where standard CEL lets the right side decide."""
    from interpreter.cel_branch import compiled  # noqa: PLC0415
    from interpreter.cel_env import ConditionError  # noqa: PLC0415

    plain = google()

    def evaluate(source: str) -> Any:
        try:
            return compiled(source).evaluate(None)
        except ConditionError as err:
            raise EvalError(err.message) from None

    return dataclasses.replace(plain, name="cel-expr-python-run", evaluate=evaluate)


FACTORIES: dict[str, Callable[[], Implementation]] = {
    "handwritten": handwritten,
    "cel-expr-python": google,
    "cel-expr-python-run": google_in_a_run,
}
