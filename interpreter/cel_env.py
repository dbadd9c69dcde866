"""Branch conditions on Google's CEL (``cel-expr-python``, the C++ reference implementation).

Boundary: this module declares DEE's CEL environment once (``contact`` and ``vars`` as
``map(string, dyn)``, ``events`` and ``run`` with their member functions, the strings
and optional extensions; timestamps and durations are standard), compiles a condition with the
library's parser and type checker, and evaluates it on an ``Activation``. The library
decides what CEL is; DEE's own rules stay, read from the library's checked AST
(``cel_ast``): a condition must be boolean, an event or visit test must name one of the
plan's steps, and no comprehension may range over a map or a ``dyn`` value (the library
iterates maps in an order that changes between processes: docs/conditions.md).

The member functions answer from the evaluation's snapshot: the library binds a
function's implementation when the environment is built, not per evaluation, so the
implementations read the activation being evaluated from a context variable set around
``eval``. No I/O, clock or randomness.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings

from interpreter.cel_ast import Checked, read_checked
from interpreter.cel_limits import LIBRARY_NESTING
from interpreter.cel_order import left_to_right
from interpreter.cel_time_zones import time_zone_problems
from interpreter.cel_tree import Tree, read_tree
from interpreter.cel_values import data_problem, plain
from interpreter.errors import InterpreterError
from interpreter.events import EventSnapshot
from interpreter.limits import shown

# Pinned here (and checked against the installed distribution by the tests): reading the
# installed version at run time is I/O, and the start entry records this string.
CEL_IMPLEMENTATION = "cel-expr-python 0.1.3"


class ConditionError(InterpreterError):
    """A condition that does not compile, breaks one of DEE's rules, or fails to evaluate.

    Attributes:
        source: The condition's text.
        message: One sentence, the library's own words where it found the problem.
        line: 1-based line of the problem in ``source``, or ``None`` when it has no place
            (an evaluation error).
        column: 1-based column, or ``None``.
        caret: The library's two-line excerpt (`` | source`` and `` | ....^``), or ``""``.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        caret: str = "",
    ) -> None:
        self.source = source
        self.message = message
        self.line = line
        self.column = column
        self.caret = caret
        where = f"{line}:{column}: " if line is not None else ""
        super().__init__(f"{where}{message}" + (f"\n{caret}" if caret else ""))


@dataclass(frozen=True, slots=True)
class Activation:
    """What one evaluation sees: the run's contact and variables, its events and visits."""

    contact: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    events: EventSnapshot | None = None
    visits: Mapping[str, int] = field(default_factory=dict)
    # ``data_problem``'s answer once asked: a branch evaluates each of its conditions on
    # one activation, and the data walk is the same for every one of them.
    _checked: list[str | None] = field(default_factory=list, init=False, repr=False, compare=False)

    def data_problem(self) -> str | None:
        """``cel_values.data_problem`` of ``contact`` and ``vars``, walked once."""
        if not self._checked:
            self._checked.append(data_problem(self.contact, self.vars))
        return self._checked[0]


_EMPTY = Activation()
_CURRENT: contextvars.ContextVar[Activation] = contextvars.ContextVar("cel_activation")

# ``events`` and ``run`` are receivers only: each gets a map type no plan value has, so
# the checker refuses ``contact.hasOpen(...)`` and ``events.visits(...)``. (The library
# cannot bind a value of an abstract type, which would say this more plainly.)
_EVENTS = cel.Type.Map(cel.Type.INT, cel.Type.NULL)
_RUN = cel.Type.Map(cel.Type.UINT, cel.Type.NULL)
_JSON = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)

# The event type each ``events`` test looks for; hasAnyReply counts replies whoever sent
# them, hasReply the contact's only (``EventSnapshot``).
EVENT_TESTS = {
    "hasOpen": "email.opened",
    "hasReply": "email.replied",
    "hasClick": "email.clicked",
    "hasBounce": "email.bounced",
}
ANY_SENDER_TESTS = {"hasAnyReply": "email.replied"}


_NO_EVENTS = EventSnapshot(())


def _snapshot() -> EventSnapshot:
    events = _CURRENT.get(_EMPTY).events
    return events if events is not None else _NO_EVENTS


def _has(event_type: str) -> Callable[[object, str], bool]:
    return lambda _events, step: _snapshot().has(event_type, step)


def _has_any(event_type: str) -> Callable[[object, str], bool]:
    return lambda _events, step: _snapshot().has_any(event_type, step)


def _member(
    name: str, receiver: cel.Type, params: list[cel.Type], result: cel.Type, impl: Any
) -> cel.FunctionDecl:
    overload = cel.Overload(f"dee_{name}", result, [receiver, *params], is_member=True, impl=impl)
    return cel.FunctionDecl(name, [overload])


def _functions() -> list[cel.FunctionDecl]:
    text = cel.Type.STRING
    tests = {name: _has(kind) for name, kind in EVENT_TESTS.items()}
    tests |= {name: _has_any(kind) for name, kind in ANY_SENDER_TESTS.items()}
    declared = [_member(name, _EVENTS, [text], cel.Type.BOOL, impl) for name, impl in tests.items()]
    declared += [
        _member(
            "hasEvent",
            _EVENTS,
            [text, text],
            cel.Type.BOOL,
            lambda _e, kind, step: _snapshot().has(kind, step),
        ),
        _member(
            "callOutcome",
            _EVENTS,
            [text],
            cel.Type.STRING,
            lambda _e, step: _snapshot().call_outcome(step),
        ),
        _member(
            "visits",
            _RUN,
            [text],
            cel.Type.INT,
            lambda _r, step: _CURRENT.get(_EMPTY).visits.get(step, 0),
        ),
    ]
    return declared


ENV = cel.NewEnv(
    variables={"contact": _JSON, "vars": _JSON, "events": _EVENTS, "run": _RUN},
    extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()],
    functions=_functions(),
)


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """One condition compiled and checked by the library.

    Attributes:
        source: The condition's text.
        result_type: The checked type's name (``bool``, ``dyn``, ``int`` ...).
        checked: What DEE's own rules read from the checked AST.
        tree: The checked AST, for the cost bound and missing-field names.
    """

    source: str
    result_type: str
    checked: Checked
    tree: Tree
    expression: Any = field(repr=False, compare=False)

    def evaluate(self, activation: Activation | Mapping[str, Any] | None = None) -> Any:
        """The condition's value on ``activation`` as a plain Python value (``None``,
        ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``dict``, ``datetime``,
        ``timedelta``, a ``cel.Type`` for a type), or the library's ``cel.Value`` where
        there is none (an ``optional``). ``uint`` values come back as ``int``.

        A mapping is read as an ``Activation``'s fields (``contact``, ``vars``,
        ``events``, ``visits``); ``None`` evaluates with no data.

        Raises:
            ConditionError: the evaluation ended in a CEL error (a missing key, an
                overflow, a division by zero ...), with the library's message.
        """
        act = _activation(activation)
        # Checked first: the library refuses a lone surrogate with a message naming no
        # field, and quotes the whole offending value in others.
        problem = act.data_problem()
        if problem is not None:
            raise ConditionError(self.source, problem)
        token = _CURRENT.set(act)
        try:
            value = self.expression.eval(
                data={"contact": act.contact, "vars": act.vars, "events": {}, "run": {}}
            )
        except RuntimeError as exc:  # a value the library cannot take
            raise ConditionError(self.source, _evaluation_error(str(exc))) from None
        finally:
            _CURRENT.reset(token)
        if value.type() == cel.Type.ERROR:
            try:
                error = value.value()
            except TypeError:
                # An optional has no Python form (the binding reports its type as ERROR
                # too): the library's value is the answer.
                return value
            raise ConditionError(self.source, _evaluation_error(str(error)))
        return plain(value)


# The library quotes a value of the run's data in some messages (``Key not found in map``
# with the whole key): the reason goes into the audit chain and the history, so it is
# cut, and escaped like every message quoting what a plan or a run holds.
_ERROR_WIDTH = 300


def _evaluation_error(text: str) -> str:
    return shown(_strip(text), _ERROR_WIDTH)


def _activation(activation: Activation | Mapping[str, Any] | None) -> Activation:
    if activation is None:
        return _EMPTY
    if isinstance(activation, Activation):
        return activation
    return Activation(**dict(activation))


def compile_condition(source: str, *, strict: bool = False) -> CompiledCondition:
    """Compile and type-check ``source`` in DEE's environment; ``strict``: evaluate
    ``&&`` and ``||`` left to right, DEE's rule for a run (``cel_order``).

    Raises:
        ConditionError: the library refused it (syntax, unknown name, no matching
            overload ...), at the line and column it names, with its caret.
    """
    try:
        expression = ENV.compile(source)
    except RuntimeError as exc:
        raise _compile_error(source, str(exc)) from None
    returned = expression.return_type()
    serialized = expression.serialize()
    if strict:
        try:
            expression = ENV.deserialize(left_to_right(serialized))
        except RuntimeError as exc:  # not seen at the library's deepest nesting: a guard
            message = f"the left-to-right form of && and || was refused: {_strip(str(exc))}"
            raise ConditionError(source, message) from None
    return CompiledCondition(
        source,
        returned.name().lower() if returned is not None else "dyn",
        read_checked(serialized),
        read_tree(serialized),
        expression,
    )


# ``ERROR: <input>:1:12: message`` then `` | source`` and `` | ....^``: the library's form.
_LOCATED = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


# How the library refuses nesting past its parser's recursion limit (no line or column).
_TOO_DEEP = re.compile(r"Exceeded max recursion depth|recursion limit exceeded")


def _compile_error(source: str, text: str) -> ConditionError:
    if _TOO_DEEP.search(text):
        return ConditionError(
            source,
            LIBRARY_NESTING.exceeded(
                "brackets, calls and chained operators nest deeper "
                "(use fewer parentheses, or split the condition)"
            ),
        )
    lines = _strip(text).splitlines()
    for index, line in enumerate(lines):
        match = _LOCATED.search(line)
        if match is None:
            continue
        caret = "\n".join(_caret_lines(lines[index + 1 :]))
        row, column = int(match[1]), int(match[2])
        if _at(source, row, column) == "\0":
            # The library's message quotes the character and is cut at it.
            return located(
                source,
                _offset(source, row, column),
                'a NUL character (U+0000) may not appear here (inside a string, write "\\u0000")',
            )
        return ConditionError(source, match[3], line=row, column=column, caret=caret)
    return ConditionError(source, _strip(text))


def _offset(source: str, line: int, column: int) -> int:
    """The code-point offset of the library's 1-based ``line`` and ``column``."""
    lines = source.split("\n")
    return sum(len(text) + 1 for text in lines[: line - 1]) + column - 1


def _at(source: str, line: int, column: int) -> str:
    offset = _offset(source, line, column)
    return source[offset] if 0 <= offset < len(source) else ""


def _caret_lines(lines: list[str]) -> Iterator[str]:
    for line in lines:
        if not line.startswith(" |"):
            return
        yield line


def _strip(text: str) -> str:
    """The message without the status code the library puts around it."""
    text = re.sub(r"^[A-Z_]+: ", "", text.strip())
    return re.sub(r" \[[A-Z_]+\]$", "", text)


# --- DEE's own rules, on the checked AST ------------------------------------------

_STEP_ARGUMENT = {name: 0 for name in (*EVENT_TESTS, *ANY_SENDER_TESTS, "callOutcome")}
_STEP_ARGUMENT |= {"hasEvent": 1, "visits": 0}


def rule_problems(compiled: CompiledCondition, step_ids: frozenset[str]) -> list[ConditionError]:
    """What breaks DEE's rules in a condition the library accepted, in source order.

    A condition must be boolean (or ``dyn``, decided at run time); a step id written in
    an ``events`` test or ``run.visits`` must be one of ``step_ids``; no comprehension
    may range over a map or a ``dyn`` value, whose iteration order the library does not
    keep from one process to the next (a ``map()`` would list it, and ``all()`` or
    ``exists()`` over two failing elements would report whichever it met first).
    """
    source = compiled.source
    problems: list[tuple[int, ConditionError]] = []
    if compiled.result_type not in ("bool", "dyn"):
        problems.append(
            (-1, ConditionError(source, f"a condition must be boolean, not {compiled.result_type}"))
        )
    for call in compiled.checked.calls:
        index = _STEP_ARGUMENT.get(call.function)
        if index is None or index >= len(call.args):
            continue
        step = call.args[index]
        if step is not None and step not in step_ids:
            message = f"{call.receiver}.{call.function} refers to unknown step {step!r}"
            problems.append((call.offset, located(source, call.offset, message)))
    for offset, message in time_zone_problems(compiled.tree):
        problems.append((offset, located(source, offset, message)))
    for ranged in compiled.checked.unordered:
        message = (
            f"all(), exists(), exists_one(), map() and filter() may not range over a "
            f"{ranged.kind} value: the library's map order changes between processes "
            '(range over a list, or test membership with `in`: "vip" in contact.tags)'
        )
        problems.append((ranged.offset, located(source, ranged.offset, message)))
    return [problem for _offset, problem in sorted(problems, key=lambda item: item[0])]


def located(source: str, offset: int, message: str) -> ConditionError:
    """A ``ConditionError`` at code-point ``offset`` of ``source``, with a caret drawn as
    the library draws its own."""
    before = source[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    text = source.splitlines()[line - 1] if source.splitlines() else ""
    text = text.replace("\0", "\u2400")  # a NUL shown as a symbol, one column wide
    caret = f" | {text}\n | {'.' * (column - 1)}^"
    return ConditionError(source, message, line=line, column=column, caret=caret)
