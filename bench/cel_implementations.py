"""The condition implementations ``bench.cel_conformance`` measures, behind one interface.

Each answers two questions about an expression, as a plan's ``when`` would be treated:

* ``accept``: does DEE's static check (what ``dee plan validate`` runs on a condition)
  let it through? ``None`` when it does, else the first reason. One rule is left out: a
  condition must be boolean, and most conformance expressions are not (``1 + 2``); in a
  plan they would be an operand (``1 + 2 == 3``), whose acceptance is what is measured.
* ``evaluate``: its value with no contact, variables or events, as the step machine
  computes it; a CEL error raises ``EvalError``.

``handwritten`` was DEE's own lexer, parser and checker with the Rust-backed
``common-expression-language`` evaluating the left-to-right rewrite: the checker is
deleted (issue 23) and its figures are read from ``bench/results`` (``recorded``).
``cel-expr-python`` is Google's C++ implementation behind ``interpreter.cel_env``, and
``cel-expr-python-run`` the same as a run's branch evaluates it (``interpreter.cel_branch``:
with DEE's left-to-right rule). An implementation whose modules are gone (or not there
yet) is reported as unavailable, not as an error, with its recorded figures if any.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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


# DEE's own checker (``cel_check``) was deleted with issue 23; its figures, measured on
# cel-spec 508bd98 at the last commit that had it (a5f6933, ``--impl handwritten
# --json``), are kept here and reported beside the live ones (``recorded``).
RECORDED = {"handwritten": Path(__file__).parent / "results" / "cel_conformance_handwritten.json"}


def handwritten() -> Implementation:
    """DEE's old checker and the ``common-expression-language`` evaluator: deleted."""
    raise ImportError(
        "DEE's own checker was deleted (issue 23); its figures as measured before: "
        f"bench/results/{RECORDED['handwritten'].name}"
    )


def recorded(name: str) -> dict[str, Any] | None:
    """The figures recorded for an implementation no longer in the tree (its entry of
    a ``--json`` summary), or None."""
    path = RECORDED.get(name)
    if path is None or not path.is_file():
        return None
    for entry in json.loads(path.read_text(encoding="utf-8"))["implementations"]:
        if entry["name"] == name:
            return dict(entry)
    return None


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
