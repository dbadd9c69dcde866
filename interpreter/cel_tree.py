"""The library's checked AST as a small tree of nodes, for DEE's passes over it.

Boundary: one serialized ``CheckedExpr`` (``Expression.serialize()``, wrapped in an
``Any``) in, a :class:`Node` tree out, with each node's source offset; the cost bound
(``cel_tree_cost``) and the missing-field names (``cel_fields``) walk it. Macros arrive
expanded, as the library evaluates them: ``all``, ``exists``, ``exists_one``, ``map`` and
``filter`` are comprehensions; ``has(a.b)`` is a test-only select. Field numbers are those
of cel-spec's ``syntax.proto`` and ``checked.proto``. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from interpreter.cel_ast import _fields, _first_of_each

__all__ = ["Node", "Tree", "read_tree", "where"]


@dataclass(frozen=True, slots=True)
class Node:
    """One expression node.

    Attributes:
        id: The library's node id.
        kind: ``const``, ``ident``, ``select``, ``call``, ``list``, ``map`` or
            ``comprehension``.
        name: An ident's name, a select's field, a call's function, a comprehension's
            iteration variable.
        text: A string or bytes constant's value (``None`` for other constants).
        children: A select's operand; a call's target (when ``member``) then its
            arguments; a list's elements; a map's keys and values alternating; a
            comprehension's range, accumulator's start, loop condition, loop step and
            result.
        member: A call on a target (``children[0]``).
        test_only: A select that only tests presence (``has(a.b)``).
        accu: A comprehension's accumulator variable.
        names: A comprehension's variables (one, or two for two-variable forms).
    """

    id: int
    kind: str
    name: str = ""
    text: str | bytes | None = None
    children: tuple[Node, ...] = ()
    member: bool = False
    test_only: bool = False
    accu: str = ""
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tree:
    """A checked expression: its root and each node's code-point offset in the source."""

    root: Node
    positions: dict[int, int] = field(default_factory=dict)

    def offset(self, node: Node) -> int:
        return self.positions.get(node.id, 0)


def read_tree(serialized: bytes) -> Tree:
    """The tree of one serialized ``CheckedExpr`` (wrapped in an ``Any``)."""
    checked = dict(_first_of_each(serialized)).get(2, b"")
    assert isinstance(checked, bytes)
    root = Node(0, "const")
    positions: dict[int, int] = {}
    for number, value in _fields(checked):
        if number == 4 and isinstance(value, bytes):
            root = _node(value)
        elif number == 5 and isinstance(value, bytes):
            for info, entry in _fields(value):
                if info == 4 and isinstance(entry, bytes):
                    pair = dict(_first_of_each(entry))
                    key, offset = pair.get(1, 0), pair.get(2, 0)
                    if isinstance(key, int) and isinstance(offset, int):
                        positions[key] = offset
    return Tree(root, positions)


def where(source: str, offset: int) -> str:
    """``line:column`` (1-based, in code points) of ``offset`` in ``source``."""
    before = source[:offset]
    return f"{before.count(chr(10)) + 1}:{offset - (before.rfind(chr(10)) + 1) + 1}"


def _node(expr: bytes) -> Node:
    node_id = 0
    for number, value in _fields(expr):
        if number == 2 and isinstance(value, int):
            node_id = value
        elif isinstance(value, bytes) and number in _KINDS:
            return _KINDS[number](node_id, value)
    return Node(node_id, "const")


def _const(node_id: int, body: bytes) -> Node:
    for number, value in _fields(body):
        if number == 6 and isinstance(value, bytes):
            return Node(node_id, "const", text=value.decode("utf-8", "replace"))
        if number == 7 and isinstance(value, bytes):
            return Node(node_id, "const", text=value)
    return Node(node_id, "const")


def _ident(node_id: int, body: bytes) -> Node:
    return Node(node_id, "ident", _string(body, 1))


def _select(node_id: int, body: bytes) -> Node:
    fields = dict(_first_of_each(body))
    operand = fields.get(1)
    children = (_node(operand),) if isinstance(operand, bytes) else ()
    return Node(
        node_id, "select", _string(body, 2), children=children, test_only=bool(fields.get(3))
    )


def _call(node_id: int, body: bytes) -> Node:
    target: list[Node] = []
    args: list[Node] = []
    for number, value in _fields(body):
        if number == 1 and isinstance(value, bytes):
            target.append(_node(value))
        elif number == 3 and isinstance(value, bytes):
            args.append(_node(value))
    return Node(node_id, "call", _string(body, 2), children=(*target, *args), member=bool(target))


def _list(node_id: int, body: bytes) -> Node:
    elements = tuple(_node(v) for n, v in _fields(body) if n == 1 and isinstance(v, bytes))
    return Node(node_id, "list", children=elements)


def _map(node_id: int, body: bytes) -> Node:
    children: list[Node] = []
    for number, entry in _fields(body):
        if number != 2 or not isinstance(entry, bytes):
            continue
        fields = dict(_first_of_each(entry))
        key, value, name = fields.get(3), fields.get(4), fields.get(2)
        if isinstance(key, bytes):
            children.append(_node(key))
        else:  # a message field's name: DEE declares no messages, but it reads as a key
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else ""
            children.append(Node(0, "const", text=text))
        children.append(_node(value) if isinstance(value, bytes) else Node(0, "const"))
    return Node(node_id, "map", children=tuple(children))


def _comprehension(node_id: int, body: bytes) -> Node:
    fields = dict(_first_of_each(body))
    parts = []
    for number in (2, 4, 5, 6, 7):
        value = fields.get(number)
        parts.append(_node(value) if isinstance(value, bytes) else Node(0, "const"))
    names = tuple(name for name in (_string(body, 1), _string(body, 8)) if name)
    return Node(
        node_id,
        "comprehension",
        names[0] if names else "",
        children=tuple(parts),
        accu=_string(body, 3),
        names=names,
    )


def _string(body: bytes, number: int) -> str:
    value = dict(_first_of_each(body)).get(number, b"")
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


_KINDS = {
    3: _const,
    4: _ident,
    5: _select,
    6: _call,
    7: _list,
    8: _map,
    9: _comprehension,
}
