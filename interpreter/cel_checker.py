"""The checker walk: the type of each node of a parsed condition, and what is wrong with it.

Boundary: :class:`Checker` visits a :mod:`interpreter.cel_syntax` tree once, computing
types from :mod:`interpreter.cel_types` and collecting plain-sentence problems;
:mod:`interpreter.cel_check` turns those into the public result. Standard library only.
"""

from __future__ import annotations

import typing

from interpreter.cel_syntax import (
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
from interpreter.cel_types import (
    BOOL,
    BYTES,
    COMPREHENSIONS,
    CONVERSIONS,
    DOUBLE,
    DYN,
    ENVIRONMENT,
    ENVIRONMENT_FUNCTIONS,
    ERROR,
    EVENTS,
    INT,
    LITERAL_TYPES,
    MAP_KEYS,
    NULL,
    RUN,
    STRING,
    STRING_FUNCTIONS,
    CelType,
    ListType,
    MapType,
    Scope,
    arithmetic,
    compatible,
    is_dyn,
    join,
    orderable,
)

__all__ = ["Checker"]


def _plural(count: int) -> str:
    return "1 argument" if count == 1 else f"{count} arguments"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


class Checker:
    """Types the nodes of one parsed condition and collects each problem once, in order.

    Args:
        step_ids: The plan's step ids, which string-literal step ids must name.
    """

    def __init__(self, step_ids: frozenset[str]) -> None:
        self.step_ids = step_ids
        self.problems: list[str] = []

    def report(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def check(self, expr: Expr, scope: Scope) -> CelType:
        match expr:
            case Literal(kind=kind):
                return LITERAL_TYPES[kind]
            case Ident(name=name, rooted=rooted):
                if not rooted and name in scope:
                    return scope[name]
                if name in ENVIRONMENT:
                    return ENVIRONMENT[name]
                self.report(f"unknown identifier '{name}'")
                return ERROR
            case Select(operand=operand, field=field):
                return self._select(self.check(operand, scope), field)
            case Index():
                return self._index(expr, scope)
            case ListExpr(elements=elements):
                elem: CelType | None = None
                for element in elements:
                    t = self.check(element, scope)
                    elem = t if elem is None else join(elem, t)
                return ListType(DYN if elem is None else elem)
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
            case MapType(key=key, value=value) if key == STRING or is_dyn(key):
                return value
            case _ if is_dyn(operand):
                return operand
            case _ if operand in (EVENTS, RUN):
                self.report(f"{operand.name.lower()} has no field '{field}'")
            case _:
                self.report(f"cannot select field '{field}' on {operand}")
        return ERROR

    def _index(self, expr: Index, scope: Scope) -> CelType:
        operand = self.check(expr.operand, scope)
        index = self.check(expr.index, scope)
        match operand:
            case ListType(elem=elem):
                if index != INT and not is_dyn(index):
                    self.report(f"list index must be an int, got {index}")
                return elem
            case MapType(key=key, value=value):
                if self._valid_key(index) and not compatible(key, index):
                    self.report(f"map key must be {key}, got {index}")
                return value
            case _ if is_dyn(operand):
                return operand
            case _:
                self.report(f"cannot index {operand}")
                return ERROR

    def _valid_key(self, key: CelType) -> bool:
        if key in MAP_KEYS or is_dyn(key):
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
            key_type = k if key_type is None else join(key_type, k)
            value_type = v if value_type is None else join(value_type, v)
        return MapType(key_type or DYN, value_type or DYN)

    def _unary(self, expr: Unary, scope: Scope) -> CelType:
        operand = self.check(expr.operand, scope)
        if expr.op == "!":
            if operand != BOOL and not is_dyn(operand):
                self.report(f"operator ! needs a boolean, got {operand}")
            return BOOL
        if operand in (INT, DOUBLE) or is_dyn(operand):
            return operand
        self.report(f"operator - cannot be applied to {operand}")
        return ERROR

    def _binary(self, expr: Binary, scope: Scope) -> CelType:
        op = expr.op
        left = self.check(expr.left, scope)
        right = self.check(expr.right, scope)
        if op in ("&&", "||"):
            for side in (left, right):
                if side != BOOL and not is_dyn(side):
                    self.report(f"operator {op} needs boolean operands, got {side}")
            return BOOL
        if op in ("==", "!="):
            if not compatible(left, right):
                self.report(f"cannot compare {left} and {right} with {op}")
            return BOOL
        if op == "in":
            match right:
                case ListType(elem=key) | MapType(key=key):
                    key_ok = isinstance(right, ListType) or self._valid_key(left)
                    if key_ok and not compatible(left, key):
                        self.report(f"operator in cannot look for {left} in {right}")
                case _ if not is_dyn(right):
                    self.report(f"operator in needs a list or map on the right, got {right}")
            return BOOL
        if op in ("<", "<=", ">", ">="):
            if not orderable(left, right):
                self.report(f"operator {op} cannot be applied to {left} and {right}")
            return BOOL
        result = arithmetic(op, left, right)
        if result is None:
            self.report(f"operator {op} cannot be applied to {left} and {right}")
            return ERROR
        return result

    def _conditional(self, expr: Conditional, scope: Scope) -> CelType:
        condition = self.check(expr.condition, scope)
        if condition != BOOL and not is_dyn(condition):
            self.report(f"the condition of ?: must be a boolean, got {condition}")
        if_true = self.check(expr.if_true, scope)
        if_false = self.check(expr.if_false, scope)
        if not compatible(if_true, if_false):
            self.report(f"the branches of ?: have different types, {if_true} and {if_false}")
            return ERROR
        if NULL in (if_true, if_false):
            # c ? null : x has x's type, so a non-boolean x is still reported.
            return if_false if if_true == NULL else if_true
        return join(if_true, if_false)

    def _call(self, expr: Call, scope: Scope) -> CelType:
        name = expr.function
        if name == "has":
            return self._has(expr, scope)
        if name in COMPREHENSIONS:
            if expr.target is not None:
                return self._comprehension(expr, expr.target, scope)
            # Not checking the arguments: their variable would read as unknown.
            self.report(f"{name}() must be called on a list or map, e.g. xs.{name}(x, x > 0)")
            return ERROR
        target = None if expr.target is None else self.check(expr.target, scope)
        args = [self.check(arg, scope) for arg in expr.args]
        if name in ENVIRONMENT_FUNCTIONS:
            return self._environment_call(expr, target, args)
        if name == "size":
            return self._size(target, args)
        if name in STRING_FUNCTIONS:
            return self._string_function(name, target, args)
        if name in CONVERSIONS:
            return self._conversion(name, target, args)
        if name == "bool":
            self.report('bool() is not available at run time; compare instead, e.g. x == "true"')
        else:
            self.report(f"unknown function '{name}'")
        return ERROR

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
            return ERROR
        variable = expr.args[0]
        if not isinstance(variable, Ident) or variable.rooted:
            self.report(f"{name}() expects a variable name as its first argument")
            return ERROR
        match range_type:
            case ListType(elem=elem) | MapType(key=elem):
                var_type = elem
            case _ if is_dyn(range_type):
                var_type = DYN
            case _:
                self.report(f"{name}() needs a list or map to range over, got {range_type}")
                var_type = ERROR
        # The runtime visits map entries in random order (not even PYTHONHASHSEED fixes
        # it): map()/filter() results follow that order, and all()/exists() may meet an
        # erroring element first or not. Only statically known lists are ranged over.
        if range_type == DYN or isinstance(range_type, MapType):
            self.report(
                f"{name}() over a map or an untyped value is order-dependent; "
                "range over a list literal, or test membership with `in`"
            )
        inner = {**scope, variable.name: var_type}
        bodies = [self.check(arg, inner) for arg in expr.args[1:]]
        # map(x, t) has no condition, map(x, p, t) a filter, the others a predicate.
        role = "filter" if name == "map" else "predicate"
        for condition in bodies[:-1] if name == "map" else bodies:
            if condition != BOOL and not is_dyn(condition):
                self.report(f"the {role} of {name}() must be a boolean, got {condition}")
        if name == "map":
            return ListType(bodies[-1])
        if name == "filter":
            return ListType(var_type) if isinstance(range_type, ListType) else ListType(DYN)
        return BOOL

    def _environment_call(self, expr: Call, target: CelType | None, args: list[CelType]) -> CelType:
        name = expr.function
        owner, result, roles = ENVIRONMENT_FUNCTIONS[name]
        full = f"{owner}.{name}"
        if target is None or (target != ENVIRONMENT[owner] and target != ERROR):
            self.report(f"{name} must be called on {owner}")
            return ERROR
        if len(args) != len(roles):
            wanted = " and ".join(f"{_article(role)} {role} string" for role in roles)
            self.report(f"{full} expects {_plural(len(roles))} ({wanted}), got {len(args)}")
            return result
        for role, arg_type, arg in zip(roles, args, expr.args, strict=True):
            if arg_type != STRING and not is_dyn(arg_type):
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
        sized = isinstance(subject, ListType | MapType) or subject in (STRING, BYTES)
        if not sized and not is_dyn(subject):
            self.report(f"size() expects a string, bytes, list or map, got {subject}")
        return INT

    def _string_function(self, name: str, target: CelType | None, args: list[CelType]) -> CelType:
        if target is None:
            self.report(f'{name}() must be called on a string, e.g. s.{name}("x")')
            return BOOL
        if target != STRING and not is_dyn(target):
            self.report(f"{name}() must be called on a string, got {target}")
        if len(args) != 1:
            self.report(f"{name}() expects 1 argument, got {len(args)}")
        elif args[0] != STRING and not is_dyn(args[0]):
            self.report(f"{name}() expects a string argument, got {args[0]}")
        return BOOL

    def _conversion(self, name: str, target: CelType | None, args: list[CelType]) -> CelType:
        result = LITERAL_TYPES[name]
        if target is not None:
            self.report(f"{name}() is not a method; write {name}(x)")
        elif len(args) != 1:
            self.report(f"{name}() expects 1 argument, got {len(args)}")
        elif args[0] not in CONVERSIONS[name] and not is_dyn(args[0]):
            self.report(f"{name}() cannot convert {args[0]}")
        return result
