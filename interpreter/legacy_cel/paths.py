"""The contact and variables fields a condition names, and which of them is missing.

Boundary: given a parsed condition, the paths it reads from ``contact`` and ``vars``
(``contact.address.city``, ``vars["a b"]``); given the key an evaluator reported
missing, the path that key belongs to in this run's data. Standard library only.

Why: the evaluator reports a missing key by its name alone (``'tier'``), which does
not say whether the contact or the variables lack it, nor at which level. The run's
failure reason should: ``missing field contact.tier``.
"""

from __future__ import annotations

from collections.abc import Set

from interpreter.cel_fields import DATA_ROOTS, missing_path
from interpreter.legacy_cel.syntax import Call, Expr, Ident, Index, Literal, Select, children

__all__ = ["DATA_ROOTS", "data_paths", "missing_path"]

_COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})

Path = tuple[str, ...]


def data_paths(expr: Expr) -> tuple[Path, ...]:
    """Every path into ``contact`` or ``vars`` that ``expr`` reads, in source order."""
    found: list[tuple[int, Path]] = []
    _collect(expr, frozenset(), found)
    return tuple(dict.fromkeys(path for _, path in sorted(found)))


def _collect(expr: Expr, shadowed: Set[str], found: list[tuple[int, Path]]) -> None:
    path = _path(expr, shadowed)
    if path is not None:
        if len(path) > 1:
            found.append((expr.offset, path))
        return
    if isinstance(expr, Call) and expr.function in _COMPREHENSIONS and expr.target is not None:
        _collect(expr.target, shadowed, found)
        variable = expr.args[0] if expr.args else None
        inner = shadowed | {variable.name} if isinstance(variable, Ident) else shadowed
        for arg in expr.args[1:]:
            _collect(arg, inner, found)
        return
    for child in children(expr):
        _collect(child, shadowed, found)


def _path(expr: Expr, shadowed: Set[str]) -> Path | None:
    """``expr`` as a path of fixed keys from a data root, or ``None``."""
    keys: list[str] = []
    while True:
        match expr:
            case Select(operand=operand, field=name):
                keys.append(name)
                expr = operand
            case Index(operand=operand, index=Literal(value=str() as name)):
                keys.append(name)
                expr = operand
            case Ident(name=name, rooted=rooted) if name in DATA_ROOTS and (
                rooted or name not in shadowed
            ):
                return (name, *reversed(keys))
            case _:
                return None
