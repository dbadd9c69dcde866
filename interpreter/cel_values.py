"""Values crossing Google's CEL library's Python binding, both ways.

Boundary: a pure walk over a contact's or variables' JSON value for what the library
would refuse or silently change, named by its path so the condition fails with a reason
instead of deciding on other data; and a result turned into Python without the
binding's crashing conversions. No I/O, clock or randomness.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cel_expr_python import cel

from interpreter.cel_runtime import CEL_LIMITS, value_problem


def data_problem(contact: Mapping[str, Any], variables: Mapping[str, Any]) -> str | None:
    """Why ``contact`` or ``variables`` cannot be evaluated on (not plain JSON within
    the limits, or holding a NUL the library would cut at), or ``None``."""
    for name, value in (("contact", contact), ("vars", variables)):
        problem = value_problem(value, name, CEL_LIMITS) or nul_problem(value, name)
        if problem is not None:
            return problem
    return None


def nul_problem(value: object, path: str) -> str | None:
    """Where ``value`` (JSON, already checked) holds a NUL character, or ``None``.

    The library's binding cuts a string of the run's data at its first NUL (measured on
    cel-expr-python 0.1.3: ``size(contact.s)`` is 1 for ``"a\\u0000b"``, and
    ``contact.s == "a\\u0000b"`` is false), so a condition would silently decide on
    other text than the run's. A NUL written in the condition itself is kept."""
    if type(value) is str:
        return f"{path}: contains a NUL character (U+0000), {_NUL}" if "\0" in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{_SHOWN_NUL.join(str(key).split(chr(0)))}"
            if "\0" in key:
                return f"{inner}: a key contains a NUL character (U+0000), {_NUL}"
            problem = nul_problem(item, inner)
            if problem is not None:
                return problem
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = nul_problem(item, f"{path}[{index}]")
            if problem is not None:
                return problem
    return None


_NUL = "which CEL's library would cut the text at"
_SHOWN_NUL = "\\u0000"  # a key is named with its NUL written out, printable


def plain(value: Any) -> Any:
    """``value`` in Python, a list or map one level at a time: the binding's
    ``plain_value()`` of a list or map holding an optional kills the process (a
    segmentation fault for ``dyn({1: optional.of(2)})``; a ``SystemError`` naming a
    memory address for ``dyn([optional.none()])``), so an optional inside stays the
    library's value, as one on its own does. A map's keys come sorted (by type, then
    value): its text goes into a failed condition's reason."""
    kind = value.type()
    name = kind.name()
    if name.startswith("LIST"):
        return [plain(item) for item in value.value()]
    if name.startswith("MAP"):  # in key order: the library's order changes per process
        items = sorted(value.value().items(), key=lambda pair: (type(pair[0]).__name__, pair[0]))
        return {key: plain(item) for key, item in items}
    if kind == cel.Type.ERROR:  # an optional inside a list or map
        return value
    return value.plain_value()
