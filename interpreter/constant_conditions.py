"""Which branch conditions are false whatever the run has seen: ``when: "false"``.

Validation treats a branch edge whose every condition is constant false as absent: a
loop whose only way out is ``when: "false"`` (or ``1 > 2``, ``!true``, ``x && false``)
is a loop with no way out. Only what the text itself decides is folded: boolean,
number and string literals under ``!``, ``&&``, ``||``, ``? :`` and comparisons of
two literals of one kind. Anything that reads the run (``events``, ``contact``,
``vars``, ``run``) or calls a function is unknown, and so is never constant. CEL's
``&&`` and ``||`` are commutative even over errors (``x && false`` is false whatever
``x`` does), which the folding follows.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from interpreter.cel_syntax import Binary, CelSyntaxError, Conditional, Expr, Literal, Unary, parse

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDERED_KINDS = frozenset({"int", "uint", "double", "string"})


def always_false(when: str) -> bool:
    """Whether the condition ``when`` is false on every run (a parse error: no)."""
    try:
        expr = parse(when)
    except CelSyntaxError:
        return False  # reported by the condition check; not a constant
    return _value(expr) is False


def _value(expr: Expr) -> Any:
    """The constant value of ``expr`` (bool, number, string, null), or ``...`` if unknown."""
    match expr:
        case Literal(kind=kind, value=value):
            return ... if kind == "bytes" else value
        case Unary(op="!", operand=operand):
            inner = _value(operand)
            return (not inner) if isinstance(inner, bool) else ...
        case Binary(op="&&" | "||" as op, left=left, right=right):
            return _logic(op, _value(left), _value(right))
        case Binary(op=op, left=Literal() as a, right=Literal() as b) if op in _COMPARE:
            return _compare(op, a, b)
        case Conditional(condition=c, if_true=t, if_false=f):
            test = _value(c)
            if isinstance(test, bool):
                return _value(t if test else f)
            then, other = _value(t), _value(f)
            return then if isinstance(then, bool) and then is other else ...
        case _:
            return ...


def _logic(op: str, left: Any, right: Any) -> Any:
    absorbing = op == "||"  # true absorbs ||, false absorbs &&
    if left is absorbing or right is absorbing:
        return absorbing
    if isinstance(left, bool) and isinstance(right, bool):
        return not absorbing
    return ...


def _compare(op: str, a: Literal, b: Literal) -> Any:
    if a.kind != b.kind or a.kind == "bytes":
        return ...  # mixed kinds: CEL's own rules (or an error), not folded here
    if op not in ("==", "!=") and a.kind not in _ORDERED_KINDS:
        return ...
    return _COMPARE[op](a.value, b.value)


__all__ = ["always_false"]
