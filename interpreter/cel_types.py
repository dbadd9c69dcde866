"""The static type model of plan conditions: CEL types, the plan environment and its functions.

Boundary: data and pure relations between types (which may be compared, joined,
ordered, added) used by :mod:`interpreter.cel_checker`; it walks no expression and
reports nothing. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

__all__ = [
    "BOOL", "BYTES", "COMPREHENSIONS", "CONVERSIONS", "DOUBLE", "DYN", "ENVIRONMENT",
    "ENVIRONMENT_FUNCTIONS", "ERROR", "EVENTS", "INT", "LITERAL_TYPES", "MAP_KEYS", "NULL",
    "RUN", "STRING", "STRING_FUNCTIONS", "UINT", "CelType", "ListType", "MapType",
    "PrimType", "Scope", "arithmetic", "compatible", "is_dyn", "join", "orderable",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class PrimType:
    name: str

    def __str__(self) -> str:
        # An already-reported mistake reads as dyn inside a later message.
        return "dyn" if self.name == "error" else self.name


@dataclass(frozen=True, slots=True)
class ListType:
    elem: CelType

    def __str__(self) -> str:
        return f"list({self.elem})"


@dataclass(frozen=True, slots=True)
class MapType:
    key: CelType
    value: CelType

    def __str__(self) -> str:
        return f"map({self.key}, {self.value})"


CelType: TypeAlias = PrimType | ListType | MapType

BOOL: Final = PrimType("bool")
INT: Final = PrimType("int")
UINT: Final = PrimType("uint")
DOUBLE: Final = PrimType("double")
STRING: Final = PrimType("string")
BYTES: Final = PrimType("bytes")
NULL: Final = PrimType("null")
DYN: Final = PrimType("dyn")
EVENTS: Final = PrimType("Events")
RUN: Final = PrimType("Run")
# The type of an expression already reported as wrong: it accepts everything, like
# dyn, so that one mistake yields one message rather than a cascade.
ERROR: Final = PrimType("error")

ENVIRONMENT: Final[Mapping[str, CelType]] = {
    "events": EVENTS,
    "run": RUN,
    "contact": MapType(STRING, DYN),
    "vars": MapType(STRING, DYN),
}
LITERAL_TYPES: Final = {
    "int": INT, "uint": UINT, "double": DOUBLE, "string": STRING, "bytes": BYTES,
    "bool": BOOL, "null": NULL,
}  # fmt: skip
_NUMERIC: Final = frozenset({INT, UINT, DOUBLE})
_ORDERED: Final = _NUMERIC | {STRING, BYTES, BOOL}
MAP_KEYS: Final = frozenset({INT, UINT, BOOL, STRING})
_ARITHMETIC: Final[Mapping[str, frozenset[PrimType]]] = {
    "+": _NUMERIC | {STRING, BYTES},  # and lists, handled separately
    "-": _NUMERIC,
    "*": _NUMERIC,
    "/": _NUMERIC,
    "%": frozenset({INT, UINT}),
}
# Receiver, result and the role of each (string) argument; "step id" must name a step.
ENVIRONMENT_FUNCTIONS: Final[Mapping[str, tuple[str, CelType, tuple[str, ...]]]] = {
    "hasOpen": ("events", BOOL, ("step id",)),
    "hasReply": ("events", BOOL, ("step id",)),
    "hasAnyReply": ("events", BOOL, ("step id",)),
    "hasClick": ("events", BOOL, ("step id",)),
    "hasBounce": ("events", BOOL, ("step id",)),
    "callOutcome": ("events", STRING, ("step id",)),
    "hasEvent": ("events", BOOL, ("event type", "step id")),
    "visits": ("run", INT, ("step id",)),
}
STRING_FUNCTIONS: Final = frozenset({"contains", "startsWith", "endsWith", "matches"})
# The spec's bool(), string(bool) and global matches(s, re) are left out on purpose:
# the runtime does not implement them, so a plan using them would fail mid-run.
CONVERSIONS: Final[Mapping[str, frozenset[CelType]]] = {
    "int": frozenset({INT, UINT, DOUBLE, STRING}),
    "uint": frozenset({INT, UINT, DOUBLE, STRING}),
    "double": frozenset({INT, UINT, DOUBLE, STRING}),
    "string": frozenset({INT, UINT, DOUBLE, STRING, BYTES}),
    "bytes": frozenset({BYTES, STRING}),
}
COMPREHENSIONS: Final = frozenset({"all", "exists", "exists_one", "map", "filter"})

Scope: TypeAlias = Mapping[str, CelType]


def is_dyn(t: CelType) -> bool:
    return t in (DYN, ERROR)


def compatible(a: CelType, b: CelType) -> bool:
    """Whether values of types ``a`` and ``b`` may be compared with ``==``."""
    if is_dyn(a) or is_dyn(b) or NULL in (a, b):
        return True
    match a, b:
        case ListType(), ListType():
            return compatible(a.elem, b.elem)
        case MapType(), MapType():
            return compatible(a.key, b.key) and compatible(a.value, b.value)
        case _:
            return a == b


def join(a: CelType, b: CelType) -> CelType:
    """The most specific type covering both, falling back to dyn."""
    match a, b:
        case _ if a == b:
            return a
        case ListType(), ListType():
            return ListType(join(a.elem, b.elem))
        case MapType(), MapType():
            return MapType(join(a.key, b.key), join(a.value, b.value))
        case _:
            return DYN


def orderable(left: CelType, right: CelType) -> bool:
    if is_dyn(left) and is_dyn(right):
        return True
    if is_dyn(left) or is_dyn(right):
        return (right if is_dyn(left) else left) in _ORDERED
    # The spec has cross-type overloads for ordering (1 < 1.5) but not for equality.
    return (left == right and left in _ORDERED) or (left in _NUMERIC and right in _NUMERIC)


def arithmetic(op: str, left: CelType, right: CelType) -> CelType | None:
    allowed = _ARITHMETIC[op]
    if ERROR in (left, right):
        return ERROR
    if is_dyn(left) and is_dyn(right):
        return DYN
    if is_dyn(left) or is_dyn(right):
        known = right if is_dyn(left) else left
        if known in allowed:
            return known
        return ListType(DYN) if op == "+" and isinstance(known, ListType) else None
    if op == "+" and isinstance(left, ListType) and isinstance(right, ListType):
        return join(left, right) if compatible(left, right) else None
    return left if left == right and left in allowed else None
