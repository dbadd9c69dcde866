"""DEE's left-to-right ``&&``/``||`` rule, applied to the library's checked AST.

Boundary: the serialized ``CheckedExpr`` of ``cel_env`` (``Expression.serialize()``) in,
the same with every ``_&&_`` and ``_||_`` call rewritten out, for ``ENV.deserialize``.
Nothing is parsed from text, so every condition the library accepts is rewritten
(optionals, raw strings, ``dyn()`` ...). No I/O.

Why: CEL's ``&&`` and ``||`` are commutative, an error on one side is absorbed when the
other decides (``error && false`` is ``false``), so a missing field under ``&&`` quietly
took the default branch while under ``==`` it failed the run. DEE's rule (README,
"Conditions") is left to right: ``a && b`` runs as ``!a ? false : b`` and ``a || b`` as
``a ? true : b`` (the condition of a ``?:`` is strict, and only the chosen side runs). A
right operand the checker did not type ``bool`` (``vars.flag``, a ``dyn``) runs as
``b ? true : false`` so that ``true && 1`` is an error, not ``1``. The ``&&``/``||`` a
macro generates for its own accumulator (``all``, ``exists``) is left as the library
wrote it: those keep CEL's rule that an element's error is absorbed by a later deciding
element (``[1, 2, 3].all(e, 6 / (2 - e) == 6)`` is ``false``); the author's own
``&&`` inside a macro's body is rewritten like any other.

Field numbers are those of cel-spec's ``checked.proto`` and ``syntax.proto``.
"""

from __future__ import annotations

from collections.abc import Iterator

from interpreter.cel_ast import _first_of_each
from interpreter.cel_ast import _varint as _read_varint

__all__ = ["left_to_right"]

_BOOL_TYPE = b"\x18\x01"  # cel.expr.Type{primitive: BOOL}
_TRUE, _FALSE = b"\x10\x01", b"\x10\x00"  # cel.expr.Constant{bool_value}
_LOGICAL = frozenset({b"_&&_", b"_||_"})
# Expr kinds (field numbers) whose message holds further Exprs, and in which fields
# (Select.operand; Call.target, args; CreateList.elements; Comprehension.iter_range,
# accu_init, loop_condition, loop_step, result); CreateStruct's entries hold them one
# level further down (Entry.map_key, value).
_CHILDREN = {5: (1,), 6: (1, 3), 7: (1,), 9: (2, 4, 5, 6, 7)}
_STRUCT, _ENTRY, _ENTRY_EXPRS = 8, 2, (3, 4)
_COMPREHENSION, _ACCU_VAR, _LOOP_STEP = 9, 3, 6


def left_to_right(serialized: bytes) -> bytes:
    """``serialized`` (an ``Any`` holding a ``CheckedExpr``) with ``&&`` and ``||``
    evaluated left to right; the same bytes when it has neither."""
    wrapper = list(_parts(serialized))
    checked = dict(_first_of_each(serialized)).get(2, b"")
    assert isinstance(checked, bytes)
    if b"_&&_" not in checked and b"_||_" not in checked:
        return serialized
    fields = list(_parts(checked))
    types: dict[int, bytes] = {}
    highest = 0
    for number, value, _raw in fields:
        if number == 3 and isinstance(value, bytes):
            entry = dict(_first_of_each(value))
            key, kind = entry.get(1, 0), entry.get(2, b"")
            if isinstance(key, int) and isinstance(kind, bytes):
                types[key] = kind
                highest = max(highest, key)
    rewrite = _Rewrite(types, highest)
    out = bytearray()
    for number, value, raw in fields:
        out += _field(4, rewrite.expr(value)) if number == 4 and isinstance(value, bytes) else raw
    for node_id in rewrite.added:  # every new node is a bool
        out += _field(3, _field(1, node_id) + _field(2, _BOOL_TYPE))
    for node_id, overload in rewrite.overloads:
        out += _field(2, _field(1, node_id) + _field(2, _field(3, overload)))
    return b"".join(_field(2, bytes(out)) if number == 2 else raw for number, _v, raw in wrapper)


class _Rewrite:
    def __init__(self, types: dict[int, bytes], highest: int) -> None:
        self.types = types
        self.next_id = highest + 1
        self.added: list[int] = []
        self.overloads: list[tuple[int, bytes]] = []

    def expr(self, data: bytes, keep_logical: bytes = b"") -> bytes:
        """``data`` (one Expr) rewritten; ``keep_logical``: the accumulator's name of the
        comprehension whose loop step this is (its own ``&&``/``||`` stays)."""
        out = bytearray()
        for number, value, raw in _parts(data):
            if isinstance(value, bytes) and number == 6:
                call = _call_parts(value)
                if call is not None and not (keep_logical and _ident(call[1]) == keep_logical):
                    return self._logical(*call)
            if isinstance(value, bytes) and number in _CHILDREN:
                out += _field(number, self._kind(number, value))
            elif isinstance(value, bytes) and number == _STRUCT:
                out += _field(number, self._struct(value))
            else:
                out += raw
        return bytes(out)

    def _kind(self, kind: int, body: bytes) -> bytes:
        accu = b""
        if kind == _COMPREHENSION:
            name = dict(_first_of_each(body)).get(_ACCU_VAR, b"")
            accu = name if isinstance(name, bytes) else b""
        out = bytearray()
        for number, value, raw in _parts(body):
            if isinstance(value, bytes) and number in _CHILDREN[kind]:
                out += _field(number, self.expr(value, accu if number == _LOOP_STEP else b""))
            else:
                out += raw
        return bytes(out)

    def _struct(self, body: bytes) -> bytes:
        out = bytearray()
        for number, value, raw in _parts(body):
            if number == _ENTRY and isinstance(value, bytes):
                out += _field(
                    number,
                    b"".join(
                        _field(n, self.expr(v)) if n in _ENTRY_EXPRS and isinstance(v, bytes) else r
                        for n, v, r in _parts(value)
                    ),
                )
            else:
                out += raw
        return bytes(out)

    def _logical(self, function: bytes, left: bytes, right: bytes) -> bytes:
        decided = self.expr(left)
        rest = self.expr(right)
        if self.types.get(_expr_id(right)) != _BOOL_TYPE:
            rest = self._conditional(rest, _const(self._id(), _TRUE), _const(self._id(), _FALSE))
        if function == b"_&&_":
            negated = self._new_call(b"!_", b"logical_not", decided)
            return self._conditional(negated, _const(self._id(), _FALSE), rest)
        return self._conditional(decided, _const(self._id(), _TRUE), rest)

    def _conditional(self, condition: bytes, if_true: bytes, if_false: bytes) -> bytes:
        return self._new_call(b"_?_:_", b"conditional", condition, if_true, if_false)

    def _new_call(self, function: bytes, overload: bytes, *args: bytes) -> bytes:
        node_id = self._id()
        self.overloads.append((node_id, overload))
        body = _field(2, function) + b"".join(_field(3, arg) for arg in args)
        return _field(2, node_id) + _field(6, body)

    def _id(self) -> int:
        node_id = self.next_id
        self.next_id += 1
        self.added.append(node_id)
        return node_id


def _call_parts(body: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``(function, left, right)`` of a global ``_&&_``/``_||_`` call, else ``None``."""
    function, args, target = b"", [], False
    for number, value, _raw in _parts(body):
        if number == 1:
            target = True
        elif number == 2 and isinstance(value, bytes):
            function = value
        elif number == 3 and isinstance(value, bytes):
            args.append(value)
    if target or function not in _LOGICAL or len(args) != 2:
        return None
    return function, args[0], args[1]


def _ident(expr: bytes) -> bytes:
    ident = dict(_first_of_each(expr)).get(4)
    if not isinstance(ident, bytes):
        return b""
    name = dict(_first_of_each(ident)).get(1, b"")
    return name if isinstance(name, bytes) else b""


def _expr_id(expr: bytes) -> int:
    value = dict(_first_of_each(expr)).get(2, 0)
    return value if isinstance(value, int) else 0


def _const(node_id: int, constant: bytes) -> bytes:
    return _field(2, node_id) + _field(3, constant)


def _parts(data: bytes) -> Iterator[tuple[int, int | bytes, bytes]]:
    """Each field of one message: its number, its value (a length-delimited one as
    bytes, else ``0``) and its exact encoding, re-emitted unchanged where not rewritten
    (a double keeps its fixed 64 bits)."""
    position = 0
    while position < len(data):
        start = position
        tag, position = _read_varint(data, position)
        number, wire = tag >> 3, tag & 7
        value: int | bytes = 0
        if wire == 0:
            value, position = _read_varint(data, position)
        elif wire == 2:
            size, position = _read_varint(data, position)
            value = data[position : position + size]
            position += size
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:  # groups (3, 4) are not used by cel.expr
            raise ValueError(f"unexpected wire type {wire}")
        yield number, value, data[start:position]


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return bytes(_varint(number << 3)) + bytes(_varint(value))
    return bytes(_varint(number << 3 | 2)) + bytes(_varint(len(value))) + value


def _varint(value: int) -> Iterator[int]:
    value &= (1 << 64) - 1  # negative int64s are ten bytes, two's complement
    while value >= 0x80:
        yield value & 0x7F | 0x80
        value >>= 7
    yield value
