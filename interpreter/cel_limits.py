"""The limits on what one branch condition may be and may cost, in one place.

Boundary: named constants (and ``source_problem``, the check made before any parser
reads a condition), read by the validation on Google's CEL (:mod:`interpreter.cel_validate`,
:mod:`interpreter.cel_tree_cost`) and by the replay-only old parser and cost model
(:mod:`interpreter.legacy_cel`). They
describe CEL expressions, not the library that evaluates them, so they stay when the
evaluator changes. docs/conditions.md lists them for plan authors.

Why they exist: a condition is evaluated inside a workflow task, synchronously, on a
worker shared by every run. A plan that validates but makes its evaluation run for
minutes (``L.all(a, L.all(b, L.all(c, L.all(d, true))))`` with ``L`` of 100 elements
is 10^8 steps) stalls that worker for every other run, and a deadlock-detected
workflow task retries forever. So a condition is refused at validation when what it
writes is already too big, and its evaluation is refused at run time (failing the run
with the reason recorded) when the run's data would make it too costly — both
decided by counting, never by a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: its name in messages, its value and the unit the value counts."""

    name: str
    value: int
    unit: str

    def exceeded(self, found: str) -> str:
        """The message for a condition over this limit, e.g. ``exceeds the node count
        limit of 500 nodes: it has 612``."""
        return f"exceeds the {self.name} limit of {self.value} {self.unit}: {found}"


# Characters of one condition's source. Checked before anything else reads it, so the
# lexer and parser never spend more than a few milliseconds on one condition.
SOURCE_LENGTH: Final = Limit("expression length", 4096, "characters")
# Nodes of the parsed expression (each literal, name, operator, call, selection).
NODES: Final = Limit("node count", 500, "nodes")
# Levels of brackets, parentheses, call arguments and ``?:`` branches. The spec asks
# for 32; the evaluator's own parser stops near 95, and the checker recurses once per
# level, so 48 keeps both far from any recursion limit.
MAX_NESTING: Final = 48
# Depth of the parsed tree (each chained operator is one level): bounds the
# recursion of every pass over it (checker, cost model, left-to-right rewrite).
MAX_DEPTH: Final = 120
NESTING: Final = Limit("nesting", MAX_NESTING, "levels")
# Google's CEL parser (``cel_env``) stops at 32 levels of its own recursion, which counts
# brackets, calls and chained operators alike (``1 + 1 + ... + 1`` of 32 terms is
# refused); measured on cel-expr-python 0.1.3. DEE names it in its own words.
LIBRARY_NESTING: Final = Limit("nesting", 32, "levels")
DEPTH: Final = Limit("depth", MAX_DEPTH, "levels")
# Comprehensions (all, exists, exists_one, map, filter) inside the body of another.
# Each level multiplies the work by the size of its range; two levels answer every
# question a branch needs to ask of a list ("does any tag of any order match").
COMPREHENSION_NESTING: Final = Limit("comprehension nesting", 2, "levels")
# Elements of one list literal, entries of one map literal.
LITERAL_ELEMENTS: Final = Limit("literal size", 256, "elements")
# Characters of one string literal, bytes of one bytes literal.
STRING_LITERAL: Final = Limit("string literal", 1024, "characters")
# Units of evaluation work (see ``interpreter.cel_tree_cost``): one per node evaluated, times
# the sizes of the comprehension ranges around it, plus the size of every value the
# evaluator copies or compares. 100 000 units took at most 15 ms in every shape
# ``bench/condition_cost.py`` measures: far below Temporal's two-second deadlock
# detector even for a chain of branches, and far above any condition a plan needs
# (a 100-tag list searched for each of 100 order ids is about 21 000).
COST: Final = Limit("evaluation cost", 100_000, "units")
# A unit of work covers this many characters of text copied or compared (measured by
# ``bench/condition_cost.py``, like the other terms of the cost).
CHARS_PER_UNIT: Final = 256

__all__ = [
    "CHARS_PER_UNIT",
    "COMPREHENSION_NESTING",
    "COST",
    "DEPTH",
    "LIBRARY_NESTING",
    "LITERAL_ELEMENTS",
    "MAX_DEPTH",
    "MAX_NESTING",
    "NESTING",
    "NODES",
    "SOURCE_LENGTH",
    "STRING_LITERAL",
    "CelProblem",
    "Limit",
    "source_problem",
]


def source_problem(source: str) -> str | None:
    """Why ``source`` may not even be read by a parser, or ``None``."""
    if len(source) > SOURCE_LENGTH.value:
        return SOURCE_LENGTH.exceeded(f"it has {len(source)}")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as exc:  # no evaluator takes it; and it cannot be printed
        return f"contains a lone surrogate (U+{ord(source[exc.start]):04X}), not valid text"
    return None


@dataclass(frozen=True)
class CelProblem:
    """One thing wrong with a condition.

    Attributes:
        message: One human-readable sentence, e.g.
            ``events.hasReply refers to unknown step 'intro-emial'``.
    """

    message: str
