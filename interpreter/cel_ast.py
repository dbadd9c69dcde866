"""What DEE's own rules need from the library's checked AST.

``cel-expr-python`` exposes a compiled expression's checked AST only as its serialized
form (a ``google.protobuf.Any`` holding a ``cel.expr.CheckedExpr``); the generated
classes for ``cel.expr`` are not shipped with it. The protobuf wire format is simple and
stable, so this module walks it directly and keeps only what DEE's rules read: the
calls of member functions with their receiver and constant string arguments (step ids),
the comprehensions (``all``, ``exists``, ``exists_one``, ``map``, ``filter``) over a value
checked as a map or ``dyn``, and each node's source offset (for a caret). Field numbers are those of
cel-spec's ``checked.proto`` and ``syntax.proto``. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Expr: id = 2; const_expr = 3; ident_expr = 4; select_expr = 5; call_expr = 6;
# list_expr = 7; struct_expr = 8; comprehension_expr = 9. Which fields of each message
# hold further Exprs (Select.operand; Call.target, args; CreateList.elements;
# CreateStruct.entries -> Entry.map_key, value; Comprehension.iter_range, accu_init,
# loop_condition, loop_step, result).
_CHILDREN = {5: (1,), 6: (1, 3), 7: (1,), 9: (2, 4, 5, 6, 7)}
_STRUCT, _ENTRY_EXPRS = 8, (3, 4)
# cel.expr.Type's kinds that make a comprehension's order matter: dyn (1), map_type (7).
_UNORDERED_TYPES = {1: "dyn", 7: "map"}


@dataclass(frozen=True, slots=True)
class Call:
    """A member call ``receiver.function(args...)`` where the receiver is a plain name.

    ``args`` holds each argument's constant string, or ``None`` where it is not one.
    """

    receiver: str
    function: str
    args: tuple[str | None, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Ranged:
    """A comprehension over a value whose checked type is ``kind`` (``map`` or ``dyn``)."""

    kind: str
    offset: int


@dataclass(frozen=True, slots=True)
class Checked:
    """The facts DEE's rules read: member calls, unordered comprehensions, and the
    number of nodes (for the node-count limit, counted as the library parsed it)."""

    calls: tuple[Call, ...] = ()
    unordered: tuple[Ranged, ...] = ()
    nodes: int = 0


def read_checked(serialized: bytes) -> Checked:
    """The ``Checked`` facts of one serialized ``CheckedExpr`` (wrapped in an ``Any``)."""
    wrapped = dict(_first_of_each(serialized))
    checked = wrapped.get(2, b"")
    assert isinstance(checked, bytes)
    types: dict[int, int] = {}
    positions: dict[int, int] = {}
    root = b""
    for number, value in _fields(checked):
        if number == 3 and isinstance(value, bytes):  # type_map entry
            key, kind = _map_entry(value)
            types[key] = _type_kind(kind)
        elif number == 4 and isinstance(value, bytes):
            root = value
        elif number == 5 and isinstance(value, bytes):
            _source_info(value, positions)
    calls: list[Call] = []
    ranged: list[Ranged] = []
    nodes = 0
    for node_id, kind, body in _walk(root):
        nodes += 1
        offset = positions.get(node_id, 0)
        if kind == 6:
            call = _call(body, offset)
            if call is not None:
                calls.append(call)
        elif kind == 9:
            iter_range = dict(_first_of_each(body)).get(2, b"")
            assert isinstance(iter_range, bytes)
            range_type = types.get(_expr_id(iter_range), 0)
            if range_type in _UNORDERED_TYPES:
                ranged.append(Ranged(_UNORDERED_TYPES[range_type], offset))
    return Checked(tuple(calls), tuple(ranged), nodes)


def _call(body: bytes, offset: int) -> Call | None:
    target: bytes | None = None
    function = ""
    args: list[str | None] = []
    for number, value in _fields(body):
        if not isinstance(value, bytes):
            continue
        if number == 1:
            target = value
        elif number == 2:
            function = value.decode("utf-8")
        elif number == 3:
            args.append(_string_constant(value))
    if target is None:
        return None
    receiver = dict(_first_of_each(target)).get(4)
    if not isinstance(receiver, bytes):
        return None
    name = dict(_first_of_each(receiver)).get(1, b"")
    assert isinstance(name, bytes)
    return Call(name.decode("utf-8"), function, tuple(args), offset)


def _string_constant(expr: bytes) -> str | None:
    constant = dict(_first_of_each(expr)).get(3)
    if not isinstance(constant, bytes):
        return None
    text = dict(_first_of_each(constant)).get(6)
    return text.decode("utf-8") if isinstance(text, bytes) else None


def _walk(expr: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Every node under ``expr``: its id, its kind's field number, its body."""
    pending = [expr]
    while pending:
        current = pending.pop()
        node_id = _expr_id(current)
        for number, value in _fields(current):
            if number < 3 or not isinstance(value, bytes):
                continue
            yield node_id, number, value
            for child_number, child in _fields(value):
                if not isinstance(child, bytes):
                    continue
                if child_number in _CHILDREN.get(number, ()):
                    pending.append(child)
                elif number == _STRUCT and child_number == 2:
                    pending.extend(
                        v for n, v in _fields(child) if n in _ENTRY_EXPRS and isinstance(v, bytes)
                    )


def _expr_id(expr: bytes) -> int:
    value = dict(_first_of_each(expr)).get(2, 0)
    return value if isinstance(value, int) else 0


def _source_info(info: bytes, positions: dict[int, int]) -> None:
    for number, value in _fields(info):
        if number == 4 and isinstance(value, bytes):
            key, offset = _map_entry(value)
            positions[key] = offset if isinstance(offset, int) else 0


def _type_kind(kind: int | bytes) -> int:
    """The field number of the kind a serialized ``cel.expr.Type`` holds."""
    if not isinstance(kind, bytes):
        return 0
    for number, _value in _fields(kind):
        return number
    return 0


def _map_entry(entry: bytes) -> tuple[int, int | bytes]:
    fields = dict(_first_of_each(entry))
    key = fields.get(1, 0)
    return (key if isinstance(key, int) else 0), fields.get(2, 0)


def _first_of_each(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    seen: set[int] = set()
    for number, value in _fields(data):
        if number not in seen:
            seen.add(number)
            yield number, value


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The (field number, value) pairs of one message: varints as ints, lengths as bytes."""
    position, end = 0, len(data)
    while position < end:
        tag = data[position]  # one byte for every field number below 16 (all of cel.expr's)
        position += 1
        if tag >= 0x80:
            tag, position = _varint(data, position - 1)
        number, wire = tag >> 3, tag & 7
        if wire in (0, 2):
            value = data[position]
            position += 1
            if value >= 0x80:
                value, position = _varint(data, position - 1)
            if wire == 0:
                yield number, value
            else:
                yield number, data[position : position + value]
                position += value
        elif wire == 1:
            yield number, int.from_bytes(data[position : position + 8], "little")
            position += 8
        elif wire == 5:
            yield number, int.from_bytes(data[position : position + 4], "little")
            position += 4
        else:  # groups (3, 4) are not used by cel.expr
            raise ValueError(f"unexpected wire type {wire}")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
