"""DEE's rule on the time zone argument of CEL's timestamp accessors.

Boundary: a pure walk over the library's checked tree (``cel_tree``) for calls such as
``t.getHours("Europe/Paris")``. The library resolves a zone name by reading the time
zone files of the machine evaluating it (measured on cel-expr-python 0.1.3: with
``TZDIR`` pointing nowhere every name is an "Invalid timezone"): I/O inside the
workflow, and a branch that depends on which worker's tzdata, if any, decided it,
so a replay on another machine could take another branch. A fixed offset
(``"+02:00"``), ``"UTC"`` or no argument needs no file and is allowed; DEE's own
local times (``localTime``, send windows) follow the pinned tzdata instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from interpreter.cel_tree import Node, Tree

ACCESSORS = frozenset({
    "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek",
    "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})  # fmt: skip
# What the library reads without a file: "UTC", "" and a fixed offset.
_NO_FILE = re.compile(r"(UTC|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?")


def time_zone_problems(tree: Tree) -> Iterator[tuple[int, str]]:
    """The offset and message of every accessor given a zone the library would look up
    in the machine's time zone files (or a zone only known at run time)."""
    for node in _nodes(tree.root):
        if node.kind != "call" or node.name not in ACCESSORS or len(node.children) != 2:
            continue
        zone = node.children[1]
        if zone.kind == "const" and isinstance(zone.text, str) and _NO_FILE.fullmatch(zone.text):
            continue
        named = f"the time zone {zone.text!r}" if isinstance(zone.text, str) else "a time zone"
        yield (
            tree.offset(node),
            f"{node.name}() with {named} would read the time zone files of the machine "
            'evaluating it, which differ between workers: give a fixed offset ("+02:00") '
            'or "UTC"',
        )


def _nodes(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
