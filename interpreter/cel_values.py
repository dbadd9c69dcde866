"""What of a run's data Google's CEL library would not read as it is.

Boundary: a pure walk over a contact's or variables' JSON value (already checked by
``cel_runtime.value_problem``) for what the library's binding would silently change,
named by its path so the condition fails with a reason instead of deciding on other
data. No I/O, clock or randomness.
"""

from __future__ import annotations

from collections.abc import Mapping


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
