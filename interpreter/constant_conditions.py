"""Which branch conditions are false whatever the run has seen: ``when: "false"``.

Validation treats a branch edge whose every condition is constant false as absent: a
loop whose only way out is ``when: "false"`` (or ``1 > 2``, ``!true``, ``x && false``)
is a loop with no way out. Only what the text itself decides is folded: boolean,
number and string literals under ``!``, ``&&``, ``||``, ``? :`` and comparisons of
two literals of one kind. Anything that reads the run (``events``, ``contact``,
``vars``, ``run``) or calls a function is unknown, and so is never constant. The literals are
read on the library's checked AST (``cel_tree``): its constants carry only strings
and bytes, so a bool, null or number is read from the source at its offset. CEL's
``&&`` and ``||`` are commutative even over errors (``x && false`` is false whatever
``x`` does), which the folding follows.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from interpreter import cel_env
from interpreter.cel_tree import Node, Tree

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "_==_": operator.eq,
    "_!=_": operator.ne,
    "_<_": operator.lt,
    "_<=_": operator.le,
    "_>_": operator.gt,
    "_>=_": operator.ge,
}
_ORDERED_KINDS = frozenset({"int", "uint", "double", "string"})
# A literal that is not a string or bytes, at its offset in the source.
_SCALAR = re.compile(
    r"(?P<word>true|false|null)\b"
    r"|(?P<number>-?(?:0[xX][0-9a-fA-F]+|\d*\.?\d+(?:[eE][+-]?\d+)?|\d+\.)(?P<u>[uU])?)"
)


def always_false(when: str) -> bool:
    """Whether the condition ``when`` is false on every run (one the library refuses: no)."""
    try:
        compiled = cel_env.compile_condition(when)
    except cel_env.ConditionError:
        return False  # reported by the condition check; not a constant
    return _value(compiled.tree.root, compiled.tree, when)[1] is False


def _value(node: Node, tree: Tree, source: str) -> tuple[str, Any]:
    """The kind and constant value of ``node`` (bool, number, string, null), or ``...``."""
    if node.kind == "const":
        return _literal(node, tree, source)
    if node.kind != "call" or node.member:
        return "", ...
    args = [_value(child, tree, source) for child in node.children]
    if node.name == "!_":
        inner = args[0][1]
        return ("bool", not inner) if isinstance(inner, bool) else ("", ...)
    if node.name in ("_&&_", "_||_"):
        return _logic(node.name, args[0][1], args[1][1])
    if node.name in _COMPARE:
        return _compare(node.name, args[0], args[1])
    if node.name == "_?_:_":
        test, then, other = (value for _, value in args)
        if isinstance(test, bool):
            return args[1] if test else args[2]
        return ("bool", then) if isinstance(then, bool) and then is other else ("", ...)
    return "", ...


def _literal(node: Node, tree: Tree, source: str) -> tuple[str, Any]:
    if isinstance(node.text, str):
        return "string", node.text
    if node.text is not None:
        return "", ...  # bytes
    match = _SCALAR.match(source, _clamped(source, tree.offset(node)))
    if match is None:
        return "", ...
    if match["word"]:
        return ("null", None) if match["word"] == "null" else ("bool", match["word"] == "true")
    text = match["number"].rstrip("uU")
    if text.lstrip("-").lower().startswith("0x"):
        value: Any = int(text, 16)
    elif any(c in text for c in ".eE"):
        return "double", float(text)
    else:
        value = int(text)
    return ("uint" if match["u"] else "int"), value


def _clamped(source: str, offset: int) -> int:
    return min(max(offset, 0), len(source))


def _logic(name: str, left: Any, right: Any) -> tuple[str, Any]:
    absorbing = name == "_||_"  # true absorbs ||, false absorbs &&
    if left is absorbing or right is absorbing:
        return "bool", absorbing
    if isinstance(left, bool) and isinstance(right, bool):
        return "bool", not absorbing
    return "", ...


def _compare(name: str, a: tuple[str, Any], b: tuple[str, Any]) -> tuple[str, Any]:
    (kind, left), (other, right) = a, b
    if left is ... or right is ... or kind != other:
        return "", ...  # mixed kinds: CEL's own rules (or an error), not folded here
    if name not in ("_==_", "_!=_") and kind not in _ORDERED_KINDS:
        return "", ...
    return "bool", _COMPARE[name](left, right)


__all__ = ["always_false"]
