"""A condition rewritten so that ``&&`` and ``||`` evaluate strictly left to right.

Boundary: a :mod:`interpreter.legacy_cel.syntax` tree in, CEL source text out, which any CEL
evaluator compiles. Standard library only; evaluates nothing.

Why: CEL's ``&&`` and ``||`` are commutative. An error on one side is absorbed when
the other side decides the result (``error && false`` is ``false``), so
``contact.tier == "gold" && events.hasOpen("e")`` for a contact without ``tier``
quietly took the default branch, while the same missing field under ``==``, ``!``,
``in`` or ``?:`` failed the run. DEE's rule is the same for every operator (README,
"Conditions"): a condition is evaluated left to right, ``&&``/``||``/``?:`` evaluate
their right-hand side only when the left does not decide, and anything evaluated that
fails fails the run. Evaluators have no switch for that, so each ``a && b`` is
compiled as ``!(a) ? false : b`` and each ``a || b`` as ``a ? true : b``: the
condition of a ``?:`` is strict in CEL (an error there is the result) and only the
chosen branch is evaluated. ``all()``/``exists()`` already stop at the first deciding
element, and an error before it is the result.

Everything else is written back as it was parsed. A chain ``a && b && c …`` becomes a
balanced tree of ``?:`` (``?:`` nests where ``&&`` chains, and evaluators limit
nesting), and an operand that is not boolean by its form (``vars.flag``) is checked
with ``vars.flag ? true : false`` so that ``true && 1`` is still an error, not ``1``.
"""

from __future__ import annotations

import typing
from typing import Final

from interpreter.legacy_cel.syntax import (
    Binary,
    Call,
    Conditional,
    Expr,
    Ident,
    Index,
    ListExpr,
    Literal,
    MapExpr,
    Select,
    Unary,
)

__all__ = ["left_to_right"]

# Binding strength of what a text is, as the grammar nests them: a ``?:`` (0), the
# binary operators (1 to 5), a unary operator (6), a member or primary expression (7).
_CONDITIONAL: Final = 0
_UNARY: Final = 6
_MEMBER: Final = 7
_PRECEDENCE: Final = {
    "||": 1, "&&": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5,
}  # fmt: skip
_BOOLEAN_OPERATORS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "&&", "||"})
_BOOLEAN_CALLS: Final = frozenset({
    "has", "all", "exists", "exists_one", "hasOpen", "hasReply", "hasClick", "hasBounce",
    "hasEvent", "contains", "startsWith", "endsWith", "matches",
})  # fmt: skip


def left_to_right(expr: Expr) -> str:
    """CEL source for ``expr`` in which ``&&`` and ``||`` evaluate left to right."""
    return _emit(expr)[0]


def _emit(expr: Expr) -> tuple[str, int]:
    """The text of ``expr`` and how strongly it binds."""
    match expr:
        case Literal():
            return _literal(expr)
        case Ident(name=name, rooted=rooted):
            return ("." if rooted else "") + name, _MEMBER
        case Select(operand=operand, field=name):
            return f"{_at(operand, _MEMBER)}.{name}", _MEMBER
        case Call(target=target, function=name, args=args):
            prefix = "" if target is None else _at(target, _MEMBER) + "."
            return f"{prefix}{name}({', '.join(_emit(a)[0] for a in args)})", _MEMBER
        case Index(operand=operand, index=index):
            return f"{_at(operand, _MEMBER)}[{_emit(index)[0]}]", _MEMBER
        case ListExpr(elements=elements):
            return "[" + ", ".join(_emit(e)[0] for e in elements) + "]", _MEMBER
        case MapExpr(entries=entries):
            inner = ", ".join(f"{_at(k, 1)}: {_emit(v)[0]}" for k, v in entries)
            return "{" + inner + "}", _MEMBER
        case Unary(op=op, operand=operand):
            # Parsers fold a run of the same operator ("!!x" is x, unchecked): a run is
            # kept only over a boolean, where folding changes nothing; otherwise each
            # operator gets its own parentheses, as in "!(!x)". "-(1)" is not "-1".
            if isinstance(operand, Unary) and operand.op == op == "!" and _negates_boolean(operand):
                return op + _emit(operand)[0], _UNARY
            if isinstance(operand, Literal | Unary):
                return f"{op}({_emit(operand)[0]})", _UNARY
            return op + _at(operand, _MEMBER), _UNARY
        case Binary(op="&&" | "||" as op):
            return _logical(op, _chain(expr, op))
        case Binary(op=op, left=left, right=right):
            precedence = _PRECEDENCE[op]
            return f"{_at(left, precedence)} {op} {_at(right, precedence + 1)}", precedence
        case Conditional(condition=c, if_true=t, if_false=f):
            return f"{_at(c, 1)} ? {_at(t, 1)} : {_emit(f)[0]}", _CONDITIONAL
        case _:
            typing.assert_never(expr)


def _at(expr: Expr, strength: int) -> str:
    text, binds = _emit(expr)
    return _wrap(text, binds, strength)


def _wrap(text: str, binds: int, strength: int) -> str:
    return text if binds >= strength else f"({text})"


def _chain(expr: Expr, op: str) -> list[Expr]:
    """The operands of a chain of ``op`` (``a && (b && c)`` is ``[a, b, c]``), in order:
    the operator is associative, so the grouping the source chose does not matter."""
    operands: list[Expr] = []
    pending = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, Binary) and node.op == op:
            pending += (node.right, node.left)
        else:
            operands.append(node)
    return operands


def _logical(op: str, operands: list[Expr]) -> tuple[str, int]:
    if len(operands) == 1:
        return _boolean(operands[0])
    middle = len(operands) // 2
    left, left_binds = _logical(op, operands[:middle])
    right = _logical(op, operands[middle:])[0]
    if op == "&&":
        negated = "!" + (
            left
            if left_binds == _UNARY and left.startswith("!")
            else _wrap(left, left_binds, _MEMBER)
        )
        return f"{negated} ? false : {right}", _CONDITIONAL
    return f"{_wrap(left, left_binds, 1)} ? true : {right}", _CONDITIONAL


def _boolean(expr: Expr) -> tuple[str, int]:
    """``expr``, checked to be a boolean where its form does not guarantee one (the
    condition of a ``?:`` must be one; ``!!x`` would not do: parsers fold it to ``x``)."""
    text, binds = _emit(expr)
    if _is_boolean(expr):
        return text, binds
    return f"{_wrap(text, binds, 1)} ? true : false", _CONDITIONAL


def _is_boolean(expr: Expr) -> bool:
    match expr:
        case Literal(kind="bool") | Unary(op="!"):  # (written so that "!!x" is checked)
            return True
        case Binary(op=op):
            return op in _BOOLEAN_OPERATORS
        case Call(function=name):
            return name in _BOOLEAN_CALLS
        case Conditional(if_true=t, if_false=f):
            return _is_boolean(t) and _is_boolean(f)
        case _:
            return False


def _negates_boolean(expr: Unary) -> bool:
    """Whether the run of ``!`` that ``expr`` starts is over a boolean by its form."""
    inner: Expr = expr
    while isinstance(inner, Unary) and inner.op == "!":
        inner = inner.operand
    return _is_boolean(inner)


# --- literals ------------------------------------------------------------------------

_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal(literal: Literal) -> tuple[str, int]:
    match literal.kind, literal.value:
        case "bool", value:
            return ("true" if value else "false"), _MEMBER
        case "uint", int() as value:
            return f"{value}u", _MEMBER
        case "int" | "double", int() | float() as value:
            text = repr(value)
            # A negative number is one literal token, but binds like "-x".
            return text, (_UNARY if text.startswith("-") else _MEMBER)
        case "string", str() as value:
            return '"' + "".join(_escape(ch) for ch in value) + '"', _MEMBER
        case "bytes", bytes() as value:
            return 'b"' + "".join(_escape_byte(b) for b in value) + '"', _MEMBER
        case _:
            return "null", _MEMBER


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    point = ord(ch)
    if " " <= ch <= "~" or 0xD800 <= point <= 0xDFFF:
        return ch  # (a lone surrogate has no escape; it stays as the source had it)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def _escape_byte(byte: int) -> str:
    ch = chr(byte)
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    return ch if 0x20 <= byte <= 0x7E else f"\\x{byte:02x}"
