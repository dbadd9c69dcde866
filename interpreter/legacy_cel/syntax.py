"""DEE's old parser for CEL branch conditions (replay-only: ``legacy_cel``).

Boundary: this module turns CEL source text into a small immutable AST or raises
:class:`CelSyntaxError` (tokens come from :mod:`interpreter.legacy_cel.lexer`). It knows
nothing about types, functions or the plan environment and evaluates nothing (the
Rust-backed ``cel`` package does that at run time). Standard library only; no I/O.

The grammar is the one in the CEL language definition
(https://github.com/google/cel-spec/blob/master/doc/langdef.md). Where the spec leaves room, the
parser follows the ANTLR grammar shared by cel-go and the runtime we evaluate with, so that "parses
here" and "parses there" agree: a ``-`` directly before a number belongs to the literal (``!-1``
parses, ``!-x`` does not), list and map literals take a trailing comma, call argument lists do not,
and reserved words such as ``if`` may follow a ``.`` but may not stand alone. Optional-field syntax
(``a.?b``) and message construction (``M{f: 1}``) are rejected.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

from interpreter.cel_limits import MAX_DEPTH, MAX_NESTING
from interpreter.legacy_cel.lexer import CelSyntaxError, LiteralValue, Token, syntax_error, tokenize

__all__ = [
    "MAX_DEPTH",
    "MAX_NESTING",
    "Binary",
    "Call",
    "CelSyntaxError",
    "Conditional",
    "Expr",
    "Ident",
    "Index",
    "ListExpr",
    "Literal",
    "MapExpr",
    "Select",
    "Unary",
    "children",
    "parse",
]

LiteralKind: TypeAlias = typing.Literal["int", "uint", "double", "string", "bytes", "bool", "null"]


# Every node's ``offset`` is a zero-based index into the source: the operator token
# for operators, the name for selections and calls, and the opening token otherwise.
@dataclass(frozen=True, slots=True)
class Ident:
    """A variable name; ``rooted`` when written with a leading dot (``.name``)."""

    name: str
    offset: int
    rooted: bool = False


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant; ``value`` is the decoded Python value (bytes for ``b"..."``)."""

    kind: LiteralKind
    value: LiteralValue
    offset: int


@dataclass(frozen=True, slots=True)
class Select:
    """Field selection ``operand.field``."""

    operand: Expr
    field: str
    offset: int


@dataclass(frozen=True, slots=True)
class Call:
    """A global call ``f(args)`` (``target`` is None) or a receiver call ``target.f(args)``."""

    target: Expr | None
    function: str
    args: tuple[Expr, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Index:
    """Indexing ``operand[index]``."""

    operand: Expr
    index: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class ListExpr:
    """A list literal ``[e1, e2, ...]``."""

    elements: tuple[Expr, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class MapExpr:
    """A map literal ``{k1: v1, ...}``; entries keep source order."""

    entries: tuple[tuple[Expr, Expr], ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Unary:
    """``!operand`` or ``-operand``."""

    op: typing.Literal["!", "-"]
    operand: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right`` for the logical, relational and arithmetic operators."""

    op: str
    left: Expr
    right: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class Conditional:
    """``condition ? if_true : if_false``."""

    condition: Expr
    if_true: Expr
    if_false: Expr
    offset: int


Expr: TypeAlias = (
    Ident | Literal | Select | Call | Index | ListExpr | MapExpr | Unary | Binary | Conditional
)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr``, in source order."""
    match expr:
        case Ident() | Literal():
            return ()
        case Select(operand=operand) | Unary(operand=operand):
            return (operand,)
        case Call(target=target, args=args):
            return args if target is None else (target, *args)
        case Index(operand=operand, index=index):
            return (operand, index)
        case ListExpr(elements=elements):
            return elements
        case MapExpr(entries=entries):
            return tuple(part for entry in entries for part in entry)
        case Binary(left=left, right=right):
            return (left, right)
        case Conditional(condition=c, if_true=t, if_false=f):
            return (c, t, f)
        case _:
            typing.assert_never(expr)


def parse(source: str) -> Expr:
    """Parse one CEL expression.

    Args:
        source: The expression text; ``//`` comments and any whitespace are allowed.

    Returns:
        The root of the expression's AST.

    Raises:
        CelSyntaxError: The text is not a single well-formed CEL expression, or it
            nests more deeply than this parser (and the checker behind it) supports.
    """
    try:
        expr = _Parser(source).parse()
    except RecursionError:  # the nesting limits should make this unreachable
        raise CelSyntaxError("expression is nested too deeply", 0) from None
    _check_depth(expr, source)
    return expr


_RESERVED: Final = frozenset({
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop",
    "package", "namespace", "return", "var", "void", "while",
})  # fmt: skip
_BINARY_PRECEDENCE: Final = {
    "||": 1, "&&": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5,
}  # fmt: skip
_T = TypeVar("_T")


def _describe(token: Token) -> str:
    if token.kind == "EOF":
        return "end of expression"
    text = token.text if len(token.text) <= 20 else token.text[:17] + "..."
    return f"string {text}" if token.kind in ("STRING", "BYTES") else f'"{text}"'  # has quotes


class _Parser:
    def __init__(self, source: str) -> None:
        self._src = source
        self._tokens = tokenize(source)
        self._pos = 0
        self._nesting = 0

    def parse(self) -> Expr:
        expr = self._expr()
        if self._peek().kind != "EOF":
            raise self._unexpected(self._peek())
        return expr

    def _peek(self, ahead: int = 0) -> Token:
        return self._tokens[min(self._pos + ahead, len(self._tokens) - 1)]

    def _advance(self) -> Token:
        token = self._peek()
        self._pos = min(self._pos + 1, len(self._tokens) - 1)
        return token

    def _unexpected(self, token: Token) -> CelSyntaxError:
        return syntax_error(self._src, f"unexpected {_describe(token)}", token.offset)

    def _expect(self, kind: str) -> Token:
        token = self._peek()
        if token.kind != kind:
            found = _describe(token)
            raise syntax_error(self._src, f'expected "{kind}" but found {found}', token.offset)
        return self._advance()

    def _expr(self) -> Expr:
        self._nesting += 1
        if self._nesting > MAX_NESTING:
            offset = self._peek().offset
            raise syntax_error(
                self._src, f"expression nests deeper than {MAX_NESTING} levels", offset
            )
        expr = self._binary(1)
        if self._peek().kind == "?":
            question = self._advance()
            if_true = self._binary(1)
            self._expect(":")
            expr = Conditional(expr, if_true, self._expr(), question.offset)
        self._nesting -= 1
        return expr

    def _binary(self, min_precedence: int) -> Expr:
        left = self._unary()
        while True:
            op = self._peek()
            precedence = _BINARY_PRECEDENCE.get(op.kind, 0)
            if precedence < min_precedence:
                return left
            self._advance()
            left = Binary(op.kind, left, self._binary(precedence + 1), op.offset)

    def _unary(self) -> Expr:
        first = self._peek()
        # "-5" is a signed literal (so -9223372036854775808 fits); "--5" is two negations.
        if first.kind not in ("!", "-") or (
            first.kind == "-" and self._peek(1).kind in ("INT", "DOUBLE")
        ):
            return self._member()
        ops: list[Token] = []
        while self._peek().kind == first.kind:
            ops.append(self._advance())
        expr = self._member()
        for op in reversed(ops):
            expr = Unary("!" if op.kind == "!" else "-", expr, op.offset)
        return expr

    def _member(self) -> Expr:
        expr = self._primary()
        while True:
            token = self._peek()
            if token.kind == ".":
                self._advance()
                name = self._peek()
                if name.kind != "IDENT":
                    found = _describe(name)
                    raise syntax_error(
                        self._src, f'expected a field name after "." but found {found}', name.offset
                    )
                self._advance()
                if self._peek().kind == "(":
                    expr = Call(expr, name.text, self._call_args(), name.offset)
                else:
                    expr = Select(expr, name.text, name.offset)
            elif token.kind == "[":
                self._advance()
                index = self._expr()
                self._expect("]")
                expr = Index(expr, index, token.offset)
            elif token.kind == "{" and _is_qualified_name(expr):
                raise syntax_error(self._src, "message construction is not supported", token.offset)
            else:
                return expr

    def _primary(self) -> Expr:
        token = self._advance()
        match token.kind:
            case "INT" | "UINT" | "DOUBLE" | "STRING" | "BYTES":
                return self._literal(token, negate=False)
            case "-" if self._peek().kind in ("INT", "DOUBLE"):
                return self._literal(self._advance(), negate=True, offset=token.offset)
            case "true" | "false":
                return Literal("bool", token.kind == "true", token.offset)
            case "null":
                return Literal("null", None, token.offset)
            case "IDENT":
                return self._name(token, rooted=False)
            case "." if self._peek().kind == "IDENT":
                return self._name(self._advance(), rooted=True, offset=token.offset)
            case "(":
                expr = self._expr()
                self._expect(")")
                return expr
            case "[":
                elements = self._sequence("]", self._expr)
                return ListExpr(tuple(elements), token.offset)
            case "{":
                return MapExpr(tuple(self._sequence("}", self._map_entry)), token.offset)
            case _:
                raise self._unexpected(token)

    def _literal(self, token: Token, *, negate: bool, offset: int | None = None) -> Literal:
        at = token.offset if offset is None else offset
        kind = typing.cast(LiteralKind, token.kind.lower())
        value = token.value
        if isinstance(value, int | float) and negate:
            value = -value
        if kind == "int" and isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise syntax_error(self._src, "int literal out of range", at)
        if kind == "double" and isinstance(value, float) and value in (float("inf"), -float("inf")):
            raise syntax_error(self._src, "double literal out of range", at)
        return Literal(kind, value, at)

    def _name(self, token: Token, *, rooted: bool, offset: int | None = None) -> Expr:
        if token.text in _RESERVED:
            what = f'reserved word "{token.text}" cannot be used as a name'
            raise syntax_error(self._src, what, token.offset)
        at = token.offset if offset is None else offset
        if self._peek().kind == "(":
            return Call(None, token.text, self._call_args(), at)
        return Ident(token.text, at, rooted)

    def _call_args(self) -> tuple[Expr, ...]:
        self._expect("(")
        args: list[Expr] = []
        if self._peek().kind != ")":
            args.append(self._expr())
            while self._peek().kind == ",":
                self._advance()
                args.append(self._expr())
        self._expect(")")
        return tuple(args)

    def _map_entry(self) -> tuple[Expr, Expr]:
        key = self._expr()
        self._expect(":")
        return key, self._expr()

    def _sequence(self, closer: str, item: Callable[[], _T]) -> list[_T]:
        # The grammar is '[' ExprList? ','? ']', which (like the runtime) accepts "[,]".
        items: list[_T] = []
        if self._peek().kind not in (closer, ","):
            items.append(item())
            while self._peek().kind == "," and self._peek(1).kind != closer:
                self._advance()
                items.append(item())
        if self._peek().kind == ",":
            self._advance()
        self._expect(closer)
        return items


def _is_qualified_name(expr: Expr) -> bool:
    while isinstance(expr, Select):
        expr = expr.operand
    return isinstance(expr, Ident)


def _check_depth(root: Expr, source: str) -> None:
    stack = [(root, 1)]
    while stack:
        expr, depth = stack.pop()
        if depth > MAX_DEPTH:
            what = f"expression nests deeper than {MAX_DEPTH} levels (each chained operator is one)"
            raise syntax_error(source, what, expr.offset)
        stack.extend((child, depth + 1) for child in children(expr))
