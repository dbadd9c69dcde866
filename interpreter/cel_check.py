"""Static checks for plan branch conditions written in CEL.

Boundary: at plan-validation time this module decides whether a condition parses
(via :mod:`interpreter.cel_syntax`), type-checks against the plan environment and
calls only functions the runtime provides, and says in plain sentences what is
wrong. It never evaluates anything: the Rust-backed ``cel`` package does that in
``interpreter.conditions``. Standard library only; no I/O, clock or randomness.

The environment is fixed: ``events`` (opaque, with ``hasOpen``/``hasReply``/
``hasClick``/``hasBounce``/``hasEvent``/``callOutcome``), ``run`` (opaque, with
``visits``), and ``contact`` and ``vars`` (``map(string, dyn)``). Operators follow
the CEL spec overloads with no implicit numeric conversion; ``dyn`` is accepted
wherever a concrete type would be. One rule goes beyond CEL: ``map()`` and
``filter()`` may not range over a map or an untyped value, because the runtime
iterates maps in random order and a plan must branch the same way on replay.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from interpreter.cel_syntax import (
    Binary,
    Call,
    CelSyntaxError,
    Conditional,
    Expr,
    Ident,
    Index,
    ListExpr,
    Literal,
    MapExpr,
    Select,
    Unary,
    parse,
)

__all__ = ["CelProblem", "check_condition"]


@dataclass(frozen=True)
class CelProblem:
    """One thing wrong with a condition.

    Attributes:
        message: One human-readable sentence, e.g.
            ``events.hasReply refers to unknown step 'intro-emial'``.
    """

    message: str


def check_condition(source: str, *, step_ids: frozenset[str]) -> list[CelProblem]:
    """Check one branch condition statically.

    Args:
        source: The CEL expression. The literal ``default`` is the caller's business
            and is not special here.
        step_ids: The plan's step ids; a string-literal step id passed to an
            ``events`` function or ``run.visits`` must be one of them.

    Returns:
        Every problem found, in source order and without repeats; empty when the
        expression parses, is boolean (or ``dyn``) and uses only known names.
    """
    try:
        expr = parse(source)
    except CelSyntaxError as err:
        return [CelProblem(f"does not parse: {err.message}")]
    checker = _Checker(step_ids)
    result = checker.check(expr, {})
    if not _is_dyn(result) and result != BOOL:
        checker.report(f"condition must be a boolean, got {result}")
    return [CelProblem(message) for message in checker.problems]


@dataclass(frozen=True, slots=True)
class _Prim:
    name: str

    def __str__(self) -> str:
        # An already-reported mistake reads as dyn inside a later message.
        return "dyn" if self.name == "error" else self.name


@dataclass(frozen=True, slots=True)
class _List:
    elem: CelType

    def __str__(self) -> str:
        return f"list({self.elem})"


@dataclass(frozen=True, slots=True)
class _Map:
    key: CelType
    value: CelType

    def __str__(self) -> str:
        return f"map({self.key}, {self.value})"


CelType: TypeAlias = _Prim | _List | _Map

BOOL: Final = _Prim("bool")
INT: Final = _Prim("int")
UINT: Final = _Prim("uint")
DOUBLE: Final = _Prim("double")
STRING: Final = _Prim("string")
BYTES: Final = _Prim("bytes")
NULL: Final = _Prim("null")
DYN: Final = _Prim("dyn")
EVENTS: Final = _Prim("Events")
RUN: Final = _Prim("Run")
# The type of an expression already reported as wrong: it accepts everything, like
# dyn, so that one mistake yields one message rather than a cascade.
_ERROR: Final = _Prim("error")

_ENVIRONMENT: Final[Mapping[str, CelType]] = {
    "events": EVENTS,
    "run": RUN,
    "contact": _Map(STRING, DYN),
    "vars": _Map(STRING, DYN),
}
_LITERAL_TYPES: Final = {
    "int": INT, "uint": UINT, "double": DOUBLE, "string": STRING, "bytes": BYTES,
    "bool": BOOL, "null": NULL,
}  # fmt: skip
_NUMERIC: Final = frozenset({INT, UINT, DOUBLE})
_ORDERED: Final = _NUMERIC | {STRING, BYTES, BOOL}
_MAP_KEYS: Final = frozenset({INT, UINT, BOOL, STRING})
_ARITHMETIC: Final[Mapping[str, frozenset[_Prim]]] = {
    "+": _NUMERIC | {STRING, BYTES},  # and lists, handled separately
    "-": _NUMERIC,
    "*": _NUMERIC,
    "/": _NUMERIC,
    "%": frozenset({INT, UINT}),
}
# Receiver, result and the role of each (string) argument; "step id" must name a step.
_ENVIRONMENT_FUNCTIONS: Final[Mapping[str, tuple[str, CelType, tuple[str, ...]]]] = {
    "hasOpen": ("events", BOOL, ("step id",)),
    "hasReply": ("events", BOOL, ("step id",)),
    "hasClick": ("events", BOOL, ("step id",)),
    "hasBounce": ("events", BOOL, ("step id",)),
    "callOutcome": ("events", STRING, ("step id",)),
    "hasEvent": ("events", BOOL, ("event type", "step id")),
    "visits": ("run", INT, ("step id",)),
}
_STRING_FUNCTIONS: Final = frozenset({"contains", "startsWith", "endsWith", "matches"})
# The spec's bool(), string(bool) and global matches(s, re) are left out on purpose:
# the runtime does not implement them, so a plan using them would fail mid-run.
_CONVERSIONS: Final[Mapping[str, frozenset[CelType]]] = {
    "int": frozenset({INT, UINT, DOUBLE, STRING}),
    "uint": frozenset({INT, UINT, DOUBLE, STRING}),
    "double": frozenset({INT, UINT, DOUBLE, STRING}),
    "string": frozenset({INT, UINT, DOUBLE, STRING, BYTES}),
    "bytes": frozenset({BYTES, STRING}),
}
_COMPREHENSIONS: Final = frozenset({"all", "exists", "exists_one", "map", "filter"})

Scope: TypeAlias = Mapping[str, CelType]


def _is_dyn(t: CelType) -> bool:
    return t in (DYN, _ERROR)


def _compatible(a: CelType, b: CelType) -> bool:
    """Whether values of types ``a`` and ``b`` may be compared with ``==``."""
    if _is_dyn(a) or _is_dyn(b) or NULL in (a, b):
        return True
    match a, b:
        case _List(), _List():
            return _compatible(a.elem, b.elem)
        case _Map(), _Map():
            return _compatible(a.key, b.key) and _compatible(a.value, b.value)
        case _:
            return a == b


def _join(a: CelType, b: CelType) -> CelType:
    """The most specific type covering both, falling back to dyn."""
    match a, b:
        case _ if a == b:
            return a
        case _List(), _List():
            return _List(_join(a.elem, b.elem))
        case _Map(), _Map():
            return _Map(_join(a.key, b.key), _join(a.value, b.value))
        case _:
            return DYN


def _plural(count: int) -> str:
    return "1 argument" if count == 1 else f"{count} arguments"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


class _Checker:
    def __init__(self, step_ids: frozenset[str]) -> None:
        self.step_ids = step_ids
        self.problems: list[str] = []

    def report(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def check(self, expr: Expr, scope: Scope) -> CelType:
        match expr:
            case Literal(kind=kind):
                return _LITERAL_TYPES[kind]
            case Ident(name=name, rooted=rooted):
                if not rooted and name in scope:
                    return scope[name]
                if name in _ENVIRONMENT:
                    return _ENVIRONMENT[name]
                self.report(f"unknown identifier '{name}'")
                return _ERROR
            case Select(operand=operand, field=field):
                return self._select(self.check(operand, scope), field)
            case Index():
                return self._index(expr, scope)
            case ListExpr(elements=elements):
                elem: CelType | None = None
                for element in elements:
                    t = self.check(element, scope)
                    elem = t if elem is None else _join(elem, t)
                return _List(DYN if elem is None else elem)
            case MapExpr():
                return self._map_literal(expr, scope)
            case Unary():
                return self._unary(expr, scope)
            case Binary():
                return self._binary(expr, scope)
            case Conditional():
                return self._conditional(expr, scope)
            case Call():
                return self._call(expr, scope)
            case _:
                typing.assert_never(expr)

    def _select(self, operand: CelType, field: str) -> CelType:
        match operand:
            case _Map(key=key, value=value) if key == STRING or _is_dyn(key):
                return value
            case _ if _is_dyn(operand):
                return operand
            case _ if operand in (EVENTS, RUN):
                self.report(f"{operand.name.lower()} has no field '{field}'")
            case _:
                self.report(f"cannot select field '{field}' on {operand}")
        return _ERROR

    def _index(self, expr: Index, scope: Scope) -> CelType:
        operand = self.check(expr.operand, scope)
        index = self.check(expr.index, scope)
        match operand:
            case _List(elem=elem):
                if index != INT and not _is_dyn(index):
                    self.report(f"list index must be an int, got {index}")
                return elem
            case _Map(key=key, value=value):
                if self._valid_key(index) and not _compatible(key, index):
                    self.report(f"map key must be {key}, got {index}")
                return value
            case _ if _is_dyn(operand):
                return operand
            case _:
                self.report(f"cannot index {operand}")
                return _ERROR

    def _valid_key(self, key: CelType) -> bool:
        if key in _MAP_KEYS or _is_dyn(key):
            return True
        self.report(f"map keys must be int, uint, bool or string, got {key}")
        return False

    def _map_literal(self, expr: MapExpr, scope: Scope) -> CelType:
        key_type: CelType | None = None
        value_type: CelType | None = None
        seen: set[tuple[str, object]] = set()
        for key, value in expr.entries:
            k = self.check(key, scope)
            v = self.check(value, scope)
            self._valid_key(k)
            if isinstance(key, Literal):
                if (key.kind, key.value) in seen:
                    self.report(f"map literal repeats the key {key.value!r}")
                seen.add((key.kind, key.value))
            key_type = k if key_type is None else _join(key_type, k)
            value_type = v if value_type is None else _join(value_type, v)
        return _Map(key_type or DYN, value_type or DYN)

    def _unary(self, expr: Unary, scope: Scope) -> CelType:
        operand = self.check(expr.operand, scope)
        if expr.op == "!":
            if operand != BOOL and not _is_dyn(operand):
                self.report(f"operator ! needs a boolean, got {operand}")
            return BOOL
        if operand in (INT, DOUBLE) or _is_dyn(operand):
            return operand
        self.report(f"operator - cannot be applied to {operand}")
        return _ERROR

    def _binary(self, expr: Binary, scope: Scope) -> CelType:
        op = expr.op
        left = self.check(expr.left, scope)
        right = self.check(expr.right, scope)
        if op in ("&&", "||"):
            for side in (left, right):
                if side != BOOL and not _is_dyn(side):
                    self.report(f"operator {op} needs boolean operands, got {side}")
            return BOOL
        if op in ("==", "!="):
            if not _compatible(left, right):
                self.report(f"cannot compare {left} and {right} with {op}")
            return BOOL
        if op == "in":
            match right:
                case _List(elem=key) | _Map(key=key):
                    key_ok = isinstance(right, _List) or self._valid_key(left)
                    if key_ok and not _compatible(left, key):
                        self.report(f"operator in cannot look for {left} in {right}")
                case _ if not _is_dyn(right):
                    self.report(f"operator in needs a list or map on the right, got {right}")
            return BOOL
        if op in ("<", "<=", ">", ">="):
            if not _orderable(left, right):
                self.report(f"operator {op} cannot be applied to {left} and {right}")
            return BOOL
        result = _arithmetic(op, left, right)
        if result is None:
            self.report(f"operator {op} cannot be applied to {left} and {right}")
            return _ERROR
        return result

    def _conditional(self, expr: Conditional, scope: Scope) -> CelType:
        condition = self.check(expr.condition, scope)
        if condition != BOOL and not _is_dyn(condition):
            self.report(f"the condition of ?: must be a boolean, got {condition}")
        if_true = self.check(expr.if_true, scope)
        if_false = self.check(expr.if_false, scope)
        if not _compatible(if_true, if_false):
            self.report(f"the branches of ?: have different types, {if_true} and {if_false}")
            return _ERROR
        if NULL in (if_true, if_false):
            # c ? null : x has x's type, so a non-boolean x is still reported.
            return if_false if if_true == NULL else if_true
        return _join(if_true, if_false)

    def _call(self, expr: Call, scope: Scope) -> CelType:
        name = expr.function
        if name == "has":
            return self._has(expr, scope)
        if name in _COMPREHENSIONS:
            if expr.target is not None:
                return self._comprehension(expr, expr.target, scope)
            # Not checking the arguments: their variable would read as unknown.
            self.report(f"{name}() must be called on a list or map, e.g. xs.{name}(x, x > 0)")
            return _ERROR
        target = None if expr.target is None else self.check(expr.target, scope)
        args = [self.check(arg, scope) for arg in expr.args]
        if name in _ENVIRONMENT_FUNCTIONS:
            return self._environment_call(expr, target, args)
        if name == "size":
            return self._size(target, args)
        if name in _STRING_FUNCTIONS:
            return self._string_function(name, target, args)
        if name in _CONVERSIONS:
            return self._conversion(name, target, args)
        if name == "bool":
            self.report('bool() is not available at run time; compare instead, e.g. x == "true"')
        else:
            self.report(f"unknown function '{name}'")
        return _ERROR

    def _has(self, expr: Call, scope: Scope) -> CelType:
        if expr.target is not None:
            self.check(expr.target, scope)
            self.report("has() is not a method; write has(contact.field)")
        elif len(expr.args) != 1 or not isinstance(expr.args[0], Select):
            for arg in expr.args:
                self.check(arg, scope)
            self.report("has() expects one field selection, e.g. has(contact.tier)")
        else:
            selection = expr.args[0]
            self._select(self.check(selection.operand, scope), selection.field)
        return BOOL

    def _comprehension(self, expr: Call, target: Expr, scope: Scope) -> CelType:
        name = expr.function
        range_type = self.check(target, scope)
        arities = (2, 3) if name == "map" else (2,)
        if len(expr.args) not in arities:
            if name == "map":
                wanted = "2 or 3 arguments (a variable name, an optional filter and a transform)"
            else:
                wanted = "2 arguments (a variable name and a predicate)"
            self.report(f"{name}() expects {wanted}, got {len(expr.args)}")
            return _ERROR
        variable = expr.args[0]
        if not isinstance(variable, Ident) or variable.rooted:
            self.report(f"{name}() expects a variable name as its first argument")
            return _ERROR
        match range_type:
            case _List(elem=elem) | _Map(key=elem):
                var_type = elem
            case _ if _is_dyn(range_type):
                var_type = DYN
            case _:
                self.report(f"{name}() needs a list or map to range over, got {range_type}")
                var_type = _ERROR
        # The runtime visits map entries in random order (not even PYTHONHASHSEED fixes
        # it): map()/filter() results follow that order, and all()/exists() may meet an
        # erroring element first or not. Only statically known lists are ranged over.
        if range_type == DYN or isinstance(range_type, _Map):
            self.report(
                f"{name}() over a map or an untyped value is order-dependent; "
                "range over a list literal, or test membership with `in`"
            )
        inner = {**scope, variable.name: var_type}
        bodies = [self.check(arg, inner) for arg in expr.args[1:]]
        # map(x, t) has no condition, map(x, p, t) a filter, the others a predicate.
        role = "filter" if name == "map" else "predicate"
        for condition in bodies[:-1] if name == "map" else bodies:
            if condition != BOOL and not _is_dyn(condition):
                self.report(f"the {role} of {name}() must be a boolean, got {condition}")
        if name == "map":
            return _List(bodies[-1])
        if name == "filter":
            return _List(var_type) if isinstance(range_type, _List) else _List(DYN)
        return BOOL

    def _environment_call(self, expr: Call, target: CelType | None, args: list[CelType]) -> CelType:
        name = expr.function
        owner, result, roles = _ENVIRONMENT_FUNCTIONS[name]
        full = f"{owner}.{name}"
        if target is None or (target != _ENVIRONMENT[owner] and target != _ERROR):
            self.report(f"{name} must be called on {owner}")
            return _ERROR
        if len(args) != len(roles):
            wanted = " and ".join(f"{_article(role)} {role} string" for role in roles)
            self.report(f"{full} expects {_plural(len(roles))} ({wanted}), got {len(args)}")
            return result
        for role, arg_type, arg in zip(roles, args, expr.args, strict=True):
            if arg_type != STRING and not _is_dyn(arg_type):
                self.report(f"{full} expects a string {role}, got {arg_type}")
            elif (
                role == "step id"
                and isinstance(arg, Literal)
                and isinstance(arg.value, str)
                and arg.value not in self.step_ids
            ):
                self.report(f"{full} refers to unknown step '{arg.value}'")
        return result

    def _size(self, target: CelType | None, args: list[CelType]) -> CelType:
        if target is None and len(args) != 1:
            self.report(f"size() expects 1 argument, got {len(args)}")
            return INT
        if target is not None and args:
            self.report(f"size() called on a value takes no arguments, got {len(args)}")
            return INT
        subject = target if target is not None else args[0]
        sized = isinstance(subject, _List | _Map) or subject in (STRING, BYTES)
        if not sized and not _is_dyn(subject):
            self.report(f"size() expects a string, bytes, list or map, got {subject}")
        return INT

    def _string_function(self, name: str, target: CelType | None, args: list[CelType]) -> CelType:
        if target is None:
            self.report(f'{name}() must be called on a string, e.g. s.{name}("x")')
            return BOOL
        if target != STRING and not _is_dyn(target):
            self.report(f"{name}() must be called on a string, got {target}")
        if len(args) != 1:
            self.report(f"{name}() expects 1 argument, got {len(args)}")
        elif args[0] != STRING and not _is_dyn(args[0]):
            self.report(f"{name}() expects a string argument, got {args[0]}")
        return BOOL

    def _conversion(self, name: str, target: CelType | None, args: list[CelType]) -> CelType:
        result = _LITERAL_TYPES[name]
        if target is not None:
            self.report(f"{name}() is not a method; write {name}(x)")
        elif len(args) != 1:
            self.report(f"{name}() expects 1 argument, got {len(args)}")
        elif args[0] not in _CONVERSIONS[name] and not _is_dyn(args[0]):
            self.report(f"{name}() cannot convert {args[0]}")
        return result


def _orderable(left: CelType, right: CelType) -> bool:
    if _is_dyn(left) and _is_dyn(right):
        return True
    if _is_dyn(left) or _is_dyn(right):
        return (right if _is_dyn(left) else left) in _ORDERED
    # The spec has cross-type overloads for ordering (1 < 1.5) but not for equality.
    return (left == right and left in _ORDERED) or (left in _NUMERIC and right in _NUMERIC)


def _arithmetic(op: str, left: CelType, right: CelType) -> CelType | None:
    allowed = _ARITHMETIC[op]
    if _ERROR in (left, right):
        return _ERROR
    if _is_dyn(left) and _is_dyn(right):
        return DYN
    if _is_dyn(left) or _is_dyn(right):
        known = right if _is_dyn(left) else left
        if known in allowed:
            return known
        return _List(DYN) if op == "+" and isinstance(known, _List) else None
    if op == "+" and isinstance(left, _List) and isinstance(right, _List):
        return _join(left, right) if _compatible(left, right) else None
    return left if left == right and left in allowed else None
