"""Bounds on the values a condition reads and makes, and the run's data measured.

Boundary: :class:`Bound` (an upper bound on one value: elements, units to copy it,
its elements' bound) and :func:`data_bound` (a contact's or variables' exact bound),
shared by both cost models: DEE's own parse tree (``legacy_cel.cost``) and the library's
checked AST (``cel_tree_cost``). Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from interpreter.cel_limits import CHARS_PER_UNIT

__all__ = ["SCALAR", "UNKNOWN", "Bound", "data_bound", "field", "item", "merge", "text"]


@dataclass(frozen=True, slots=True)
class Bound:
    """An upper bound on one value an expression may produce.

    Attributes:
        length: Elements a comprehension over the value visits (0 for scalars, text).
        weight: Units to copy or compare the whole value (at least 1).
        item: A bound on every element of a list, or value of a map; ``None`` when
            the value has none (or, with ``unknown``, the value's own bound).
        fields: For a map, the bound of each key a condition can name (``contact.L``).
        data: The bound depends on the run's contact or variables.
        unknown: The data is not known yet (validation): every level of it counts as
            one element of weight one.
        chars: For text, at most this many characters (``None``: as many as ``weight``
            covers); what the strings functions' growth is bounded from.
    """

    length: int
    weight: int
    item: Bound | None = None
    fields: Mapping[str, Bound] | None = None
    data: bool = False
    unknown: bool = False
    chars: int | None = None


SCALAR = Bound(0, 1)
UNKNOWN = Bound(1, 1, data=True, unknown=True)


def _item(bound: Bound) -> Bound:
    if bound.item is not None:
        return bound.item
    return bound if bound.unknown else SCALAR


def _field(bound: Bound, name: str) -> Bound:
    if bound.fields is not None and name in bound.fields:
        return bound.fields[name]
    return _item(bound)


def _merge(bounds: Iterable[Bound]) -> Bound | None:
    merged: Bound | None = None
    for b in bounds:
        if merged is None:
            merged = b
            continue
        items = [x for x in (merged.item, b.item) if x is not None]
        merged = Bound(
            max(merged.length, b.length),
            max(merged.weight, b.weight),
            _merge(items),
            None,  # a merged map keeps no per-key bounds: its item covers every value
            merged.data or b.data,
            merged.unknown or b.unknown,
            None if merged.chars is None or b.chars is None else max(merged.chars, b.chars),
        )
    return merged


def concatenated(a: Bound, b: Bound) -> Bound:
    """The bound of ``a + b`` (lists, strings or bytes), in both cost models."""
    items = [x for x in (a.item, b.item) if x is not None]
    return Bound(a.length + b.length, a.weight + b.weight, _merge(items), data=a.data or b.data)


def _text(length: int, *, data: bool = False) -> Bound:
    return Bound(0, 1 + length // CHARS_PER_UNIT, data=data, chars=length)


_SCALARS = frozenset({int, float, bool, type(None)})


# --- the run's data ------------------------------------------------------------------


def data_bound(value: object) -> Bound:
    """The exact bound of a contact or variables value (already checked to be JSON
    within ``cel_runtime.CEL_LIMITS``, so at most 100 levels deep)."""
    if isinstance(value, str | bytes):
        return _text(len(value), data=True)
    if isinstance(value, Mapping):
        fields = {str(k): data_bound(v) for k, v in value.items()}
        weight = 1 + sum(1 + len(str(k)) // CHARS_PER_UNIT for k in value)
        weight += sum(f.weight for f in fields.values())
        return Bound(len(value), weight, _merge(fields.values()), fields, data=True)
    if isinstance(value, list | tuple):
        # Most elements are scalars: counted without a Bound each, by their exact type
        # (an isinstance against a union per element made this the slow part).
        weight, longest = 1 + len(value), -1
        nested: list[Bound] = []
        for element in value:
            kind = type(element)
            if kind is str or kind is bytes:
                longest = max(longest, len(element))
                weight += len(element) // CHARS_PER_UNIT
            elif kind not in _SCALARS:
                inner = data_bound(element)
                nested.append(inner)
                weight += inner.weight - 1
        if longest >= 0:
            nested.append(_text(longest, data=True))
        return Bound(len(value), weight, _merge(nested), data=True)
    return Bound(0, 1, data=True)


# Public names for the checked-AST cost model.
item, field, merge, text = _item, _field, _merge, _text
