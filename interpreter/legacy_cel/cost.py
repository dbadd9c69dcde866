"""What evaluating a condition may cost, bounded from its tree before it is evaluated.

Boundary: a pure walk over a :mod:`interpreter.legacy_cel.syntax` tree that counts *units* of
work (``interpreter.cel_limits.COST``): one per node evaluated, times the sizes of the
comprehension ranges around it, plus the size of every value the evaluator copies or
compares. What it copies was measured (``bench/condition_cost.py``): a field or
element selected, each element bound to a comprehension's variable, both sides of a
``+``, and the result list of ``map()``/``filter()``, which is rebuilt at every
element (quadratic); ``==``, ``in``, ``contains`` … touch their operands. It
evaluates nothing. Standard library only.

The same walk serves both checks. At validation the contact and variables are unknown
and count as one element (so a plan is refused for what it writes itself, such as
nested comprehensions over list literals); at run time they are measured
(:func:`data_bound`), and the walk is repeated only for a condition whose cost those
sizes can multiply or accumulate (``Estimate.scaled``): a comprehension over data, a
``+`` on data, data compared inside a comprehension. Any other condition evaluates
each node once, so its work is linear in the run's input, which is bounded already.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass

from interpreter.cel_sizes import SCALAR, UNKNOWN, Bound, concatenated, data_bound
from interpreter.cel_sizes import field as _field
from interpreter.cel_sizes import item as _item
from interpreter.cel_sizes import merge as _merge
from interpreter.cel_sizes import text as _text
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

__all__ = ["SCALAR", "UNKNOWN", "Bound", "Estimate", "data_bound", "estimate"]


# --- the walk ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the walk found.

    Attributes:
        cost: Units of work, an upper bound.
        scaled: The run's data sizes multiply or accumulate in ``cost``, so the
            estimate must be repeated on the data before each evaluation.
        comprehension_nesting: The deepest nesting of comprehensions in bodies.
    """

    cost: int
    scaled: bool
    comprehension_nesting: int


def estimate(expr: Expr, roots: Mapping[str, Bound]) -> Estimate:
    """Bound the cost of evaluating ``expr`` when its free names are bounded by
    ``roots`` (``contact`` and ``vars``; other names cost nothing to read)."""
    walk = _Walk(roots)
    walk.visit(expr, {}, 1, 0)
    return Estimate(walk.cost, walk.scaled, walk.nesting)


# Reads of the run's data a condition may make without its cost being measured on
# the data: each is linear in an input Temporal already bounds (a few MB).
_FEW_READS = 16
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Functions whose work grows with the size of their operands.
_SIZED = frozenset({"contains", "startsWith", "endsWith", "matches", "int", "uint", "double"})
_TEXT_RESULT = frozenset({"string", "bytes"})


@dataclass
class _Walk:
    roots: Mapping[str, Bound]
    cost: int = 0
    scaled: bool = False
    nesting: int = 0
    data_reads: int = 0

    def _work(self, times: int, *operands: Bound) -> None:
        """An operation at ``times`` evaluations touching all of ``operands``."""
        self.cost += times * sum(b.weight for b in operands)
        if any(b.data for b in operands):
            self.data_reads += times
            # Repeated, or so many that the input's size, times them, matters.
            self.scaled = self.scaled or times > 1 or self.data_reads > _FEW_READS

    def _copy(self, times: int, value: Bound) -> Bound:
        """``value``, copied out of its container ``times`` times."""
        self._work(times, value)
        return value

    def visit(self, expr: Expr, scope: Mapping[str, Bound], times: int, depth: int) -> Bound:
        self.cost += times
        match expr:
            case Literal(value=value):
                if isinstance(value, str | bytes):
                    return _text(len(value))
                return SCALAR
            case Ident(name=name, rooted=rooted):
                if not rooted and name in scope:
                    return scope[name]  # (its copy is counted where it is bound)
                return self.roots.get(name, SCALAR)
            case Select(operand=operand, field=name):
                return self._copy(times, _field(self.visit(operand, scope, times, depth), name))
            case Index(operand=operand, index=index):
                container = self.visit(operand, scope, times, depth)
                self.visit(index, scope, times, depth)
                if isinstance(index, Literal) and isinstance(index.value, str):
                    return self._copy(times, _field(container, index.value))
                return self._copy(times, _item(container))
            case ListExpr(elements=elements):
                bounds = [self.visit(e, scope, times, depth) for e in elements]
                return Bound(
                    len(bounds),
                    1 + sum(b.weight for b in bounds),
                    _merge(bounds),
                    data=any(b.data for b in bounds),
                )
            case MapExpr(entries=entries):
                return self._map(entries, scope, times, depth)
            case Unary(operand=operand):
                self.visit(operand, scope, times, depth)
                return SCALAR
            case Binary(op=op, left=left, right=right):
                return self._binary(op, left, right, scope, times, depth)
            case Conditional(condition=c, if_true=t, if_false=f):
                self.visit(c, scope, times, depth)
                merged = _merge([self.visit(x, scope, times, depth) for x in (t, f)])
                return merged or SCALAR
            case Call():
                return self._call(expr, scope, times, depth)
            case _:
                typing.assert_never(expr)

    def _map(
        self,
        entries: tuple[tuple[Expr, Expr], ...],
        scope: Mapping[str, Bound],
        times: int,
        depth: int,
    ) -> Bound:
        fields: dict[str, Bound] = {}
        values: list[Bound] = []
        weight, data = 1, False
        for key, value in entries:
            k = self.visit(key, scope, times, depth)
            v = self.visit(value, scope, times, depth)
            weight += k.weight + v.weight
            data = data or k.data or v.data
            values.append(v)
            if isinstance(key, Literal) and isinstance(key.value, str):
                fields[key.value] = v
        return Bound(len(entries), weight, _merge(values), fields, data)

    def _binary(
        self, op: str, left: Expr, right: Expr, scope: Mapping[str, Bound], times: int, depth: int
    ) -> Bound:
        a = self.visit(left, scope, times, depth)
        b = self.visit(right, scope, times, depth)
        if op == "+":
            self._work(times, a, b)
            if a.data or b.data:
                self.scaled = True  # repeated concatenation grows with the data
            return concatenated(a, b)
        if op in _COMPARISONS:
            self._work(times, a, b)
        return SCALAR

    def _call(self, expr: Call, scope: Mapping[str, Bound], times: int, depth: int) -> Bound:
        name, target, args = expr.function, expr.target, expr.args
        if name in _COMPREHENSIONS and target is not None and args:
            return self._comprehension(expr, target, scope, times, depth)
        if name == "has" and target is None and len(args) == 1 and isinstance(args[0], Select):
            self.visit(args[0].operand, scope, times, depth)  # the field itself is not read
            return SCALAR
        operands = [self.visit(x, scope, times, depth) for x in (target, *args) if x is not None]
        if name in _SIZED:
            self._work(times, *operands)
        elif name in _TEXT_RESULT and operands:
            self._work(times, *operands)
            return Bound(0, operands[0].weight, data=operands[0].data)
        return SCALAR

    def _comprehension(
        self, expr: Call, target: Expr, scope: Mapping[str, Bound], times: int, depth: int
    ) -> Bound:
        over = self.visit(target, scope, times, depth)
        if over.data:
            self.scaled = True
        element = _item(over)
        inner = dict(scope)
        variable = expr.args[0]
        if isinstance(variable, Ident):
            inner[variable.name] = element
        self.nesting = max(self.nesting, depth + 1)
        each = times * over.length
        self._work(each, element)  # each element is copied into the variable
        bodies = [self.visit(arg, inner, each, depth + 1) for arg in expr.args[1:]]
        # map() and filter() rebuild their result list at every element (measured in
        # bench/condition_cost.py): quadratic in the range, times the element copied.
        growing = over.length * (over.length + 1) // 2
        if expr.function == "map" and bodies:
            body = bodies[-1]
            self._work(times * growing, body)
            return Bound(
                over.length, 1 + over.length * body.weight, body, data=over.data or body.data
            )
        if expr.function == "filter":
            self._work(times * growing, element)
            return over
        return SCALAR
