"""What evaluating a condition may cost, bounded from the library's checked tree.

Boundary: a pure walk over a :mod:`interpreter.cel_tree` tree counting units of work
(``cel_limits.COST``) as ``legacy_cel.cost`` does on DEE's own parse tree, with the same
measured terms (``bench/condition_cost.py``): one per node evaluated, times the sizes
of the comprehension ranges around it, plus the size of every value copied or compared;
the list a ``map()``/``filter()`` accumulates is rebuilt at every element. Calls are
known by the library's function names (``_==_``, ``_[_]``, ``_?._``, ``replace`` ...);
``dyn()`` and the optional functions pass their operand's bound through, and the
strings extension's results are bounded by what they may grow to (``replace`` with an
empty pattern inserts its replacement between every character, ``split`` makes a list
as long as its text, ``join`` and ``format`` concatenate). Evaluates nothing.

At validation the contact and variables count as one element (``UNKNOWN``); at run
time they are measured (``cel_sizes.data_bound``) and the walk is repeated only for a
condition whose cost their sizes multiply or accumulate (``Estimate.scaled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from interpreter.cel_limits import (
    CHARS_PER_UNIT,
    COMPREHENSION_NESTING,
    COST,
    LITERAL_ELEMENTS,
    STRING_LITERAL,
)
from interpreter.cel_sizes import SCALAR, UNKNOWN, Bound, concatenated, field, item, merge, text
from interpreter.cel_tree import Node, Tree, where

__all__ = ["Estimate", "check_cost", "estimate", "static_problems"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the walk found.

    Attributes:
        cost: Units of work, an upper bound.
        scaled: The run's data sizes multiply or accumulate in ``cost``.
        comprehension_nesting: The deepest nesting of comprehensions in loop bodies.
        literals: Each literal over ``cel_limits``' literal limits: the node and the
            limit's name with its size (``("list", 300)``).
    """

    cost: int
    scaled: bool
    comprehension_nesting: int
    literals: tuple[tuple[Node, str, int], ...] = ()


def estimate(tree: Tree, roots: Mapping[str, Bound]) -> Estimate:
    """Bound the cost of evaluating ``tree`` when ``contact`` and ``vars`` are bounded
    by ``roots`` (other names cost nothing to read)."""
    walk = _Walk(roots)
    walk.visit(tree.root, {}, 1, 0)
    return Estimate(walk.cost, walk.scaled, walk.nesting, tuple(walk.literals))


_FEW_READS = 16  # reads of the data linear in an input Temporal bounds (``legacy_cel.cost``)
_COMPARISONS = frozenset({"_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "@in"})
# Work grows with the operands; the result is a scalar.
_SIZED = frozenset({
    "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "size",
    "indexOf", "lastIndexOf", "timestamp", "duration",
})  # fmt: skip
# The result is (at most) as big as the operands together: one pass over them.
_PASS_THROUGH = frozenset({"dyn", "optional.of", "optional.ofNonZeroValue", "value", "or"})
_SAME_SIZE = frozenset({
    "string", "bytes", "lowerAscii", "upperAscii", "trim", "reverse", "substring", "charAt",
    "orValue",
})  # fmt: skip
# Measured on the library (cel-expr-python 0.1.3): ``strings.quote`` writes a backslash
# before every ``\\`` and ``"`` and adds two quotes, so nested quotes double the text at
# every level (20 levels of a 500-character literal: 15 s and 1.6 GB of one worker);
# ``format`` writes at most 218 characters per character of its pattern (``%.999f`` of
# -1.8e308 is 1,310 characters from a 6-character pattern), besides its arguments.
_QUOTE_GROWTH = 2
_FORMAT_GROWTH = 220
_SCALAR_RESULT = frozenset({"_&&_", "_||_", "!_", "-_", "_-_", "_*_", "_/_", "_%_"})


class _Walk:
    def __init__(self, roots: Mapping[str, Bound]) -> None:
        self.roots = roots
        self.cost = 0
        self.scaled = False
        self.nesting = 0
        self.data_reads = 0
        self.literals: list[tuple[Node, str, int]] = []

    def _work(self, times: int, *operands: Bound) -> None:
        self.cost += times * sum(b.weight for b in operands)
        if any(b.data for b in operands):
            self.data_reads += times
            self.scaled = self.scaled or times > 1 or self.data_reads > _FEW_READS

    def visit(self, node: Node, scope: Mapping[str, Bound], times: int, depth: int) -> Bound:
        self.cost += times
        kind = node.kind
        if kind == "const":
            if node.text is None:
                return SCALAR
            if len(node.text) > STRING_LITERAL.value:
                self.literals.append((node, STRING_LITERAL.name, len(node.text)))
            return text(len(node.text))
        if kind == "ident":
            if node.name in scope:
                return scope[node.name]  # (its copy is counted where it is bound)
            return self.roots.get(node.name, SCALAR)
        if kind == "select":
            operand = self.visit(node.children[0], scope, times, depth)
            if node.test_only:
                return SCALAR
            return self._copy(times, field(operand, node.name))
        if kind == "list":
            if len(node.children) > LITERAL_ELEMENTS.value:
                self.literals.append((node, "list", len(node.children)))
            bounds = [self.visit(e, scope, times, depth) for e in node.children]
            return Bound(
                len(bounds),
                1 + sum(b.weight for b in bounds),
                merge(bounds),
                data=any(b.data for b in bounds),
            )
        if kind == "map":
            return self._map(node, scope, times, depth)
        if kind == "comprehension":
            return self._comprehension(node, scope, times, depth)
        return self._call(node, scope, times, depth)

    def _copy(self, times: int, value: Bound) -> Bound:
        self._work(times, value)
        return value

    def _map(self, node: Node, scope: Mapping[str, Bound], times: int, depth: int) -> Bound:
        entries = len(node.children) // 2
        if entries > LITERAL_ELEMENTS.value:
            self.literals.append((node, "map", entries))
        fields: dict[str, Bound] = {}
        values: list[Bound] = []
        weight, data = 1, False
        for index in range(0, 2 * entries, 2):
            key, value = node.children[index], node.children[index + 1]
            k = self.visit(key, scope, times, depth)
            v = self.visit(value, scope, times, depth)
            weight += k.weight + v.weight
            data = data or k.data or v.data
            values.append(v)
            if key.kind == "const" and isinstance(key.text, str):
                fields[key.text] = v
        return Bound(entries, weight, merge(values), fields, data)

    def _call(self, node: Node, scope: Mapping[str, Bound], times: int, depth: int) -> Bound:
        name = node.name
        ops = [self.visit(child, scope, times, depth) for child in node.children]
        if name in ("_[_]", "_[?_]", "_?._") and len(ops) == 2:
            key = node.children[1]
            if key.kind == "const" and isinstance(key.text, str):
                return self._copy(times, field(ops[0], key.text))
            return self._copy(times, item(ops[0]))
        if name == "_?_:_" and len(ops) == 3:
            return merge(ops[1:]) or SCALAR
        if name == "_+_" and len(ops) == 2:
            a, b = ops
            self._work(times, a, b)
            if a.data or b.data:
                self.scaled = True  # repeated concatenation grows with the data
            return concatenated(a, b)
        if name in _COMPARISONS or name in _SIZED:
            self._work(times, *ops)
            return SCALAR
        if name in _SCALAR_RESULT or not ops:
            return SCALAR
        if name in _PASS_THROUGH:
            return merge(ops) or SCALAR
        self._work(times, *ops)
        return self._grown(name, ops)

    def _grown(self, name: str, ops: list[Bound]) -> Bound:
        """The bound of what a string function makes from ``ops`` (target first)."""
        data = any(b.data for b in ops)
        # Text not known yet (validation) counts as one character, as unknown data
        # counts as one element: a plan is refused for what it writes itself.
        chars = [_chars(b) for b in ops]
        if name == "replace" and len(ops) >= 3:  # an empty pattern: between every char
            grown = chars[0] + (chars[0] + 1) * chars[2]
        elif name == "split":  # as many pieces as characters, each at most the text
            pieces = chars[0] + 1
            self.scaled = self.scaled or data
            return Bound(pieces, 1 + pieces + ops[0].weight, text(chars[0], data=data), data=data)
        elif name == "join" and ops:  # every element, and the separator between each
            grown = chars[0] + ops[0].length * (chars[1] if len(ops) > 1 else 0)
        elif name == "format" and len(ops) == 2:  # the pattern, each argument in full
            grown = _FORMAT_GROWTH * chars[0] + chars[1]
        elif name == "strings.quote" and ops:
            grown = _QUOTE_GROWTH * chars[0] + 2
        elif name in _SAME_SIZE:
            return Bound(0, ops[0].weight, data=ops[0].data, chars=ops[0].chars)
        else:  # a function DEE does not know: no bigger than its operands together
            return Bound(0, sum(b.weight for b in ops), data=data)
        if data:
            self.scaled = True
        return text(grown, data=data)

    def _comprehension(
        self, node: Node, scope: Mapping[str, Bound], times: int, depth: int
    ) -> Bound:
        over_node, init_node, condition, step, result = node.children
        over = self.visit(over_node, scope, times, depth)
        if over.data:
            self.scaled = True
        element = item(over)
        start = self.visit(init_node, scope, times, depth)
        inner = dict(scope)
        for name in node.names:
            inner[name] = element
        inner[node.accu] = start
        self.nesting = max(self.nesting, depth + 1)
        each = times * over.length
        self._work(each, element)  # each element is copied into the variable
        self.visit(condition, inner, each, depth + 1)
        stepped = self.visit(step, inner, each, depth + 1)
        final: Bound = SCALAR
        if init_node.kind == "list":  # map() and filter() accumulate a list, rebuilt
            one = item(stepped)  # at every element: quadratic in the range
            growing = over.length * (over.length + 1) // 2
            self._work(times * growing, one)
            final = Bound(
                over.length, 1 + over.length * one.weight, one, data=over.data or one.data
            )
        inner[node.accu] = final
        return self.visit(result, inner, times, depth)


def _chars(bound: Bound) -> int:
    """At most how many characters ``bound`` holds as text."""
    if bound.unknown:
        return 1
    return bound.chars if bound.chars is not None else bound.weight * CHARS_PER_UNIT


def static_problems(source: str, tree: Tree) -> list[str]:
    """Every limit of ``cel_limits`` that what ``tree`` writes exceeds before any data
    is read: its literals' sizes, comprehension nesting and cost, in that order."""
    found = estimate(tree, {"contact": UNKNOWN, "vars": UNKNOWN})
    problems: list[str] = []
    for node, what, size in found.literals:
        limit = STRING_LITERAL if what == STRING_LITERAL.name else LITERAL_ELEMENTS
        noun = "the literal" if limit is STRING_LITERAL else f"the {what}"
        problem = limit.exceeded(f"{noun} at {where(source, tree.offset(node))} has {size}")
        if problem not in problems:
            problems.append(problem)
    if found.comprehension_nesting > COMPREHENSION_NESTING.value:
        depth = found.comprehension_nesting
        problems.append(COMPREHENSION_NESTING.exceeded(f"comprehensions nest {depth} deep"))
    if found.cost > COST.value:
        problems.append(
            COST.exceeded(
                f"an estimated {found.cost} before any data is read "
                "(the ranges of nested comprehensions multiply, string functions grow text)"
            )
        )
    return problems


def check_cost(tree: Tree, roots: Mapping[str, Bound]) -> str | None:
    """Why evaluating ``tree`` on this run's measured ``roots`` would cost too much, or
    ``None``."""
    cost = estimate(tree, roots).cost
    if cost > COST.value:
        return COST.exceeded(f"an estimated {cost} on this run's contact and vars")
    return None
