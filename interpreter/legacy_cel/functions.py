"""Which functions the old evaluator has, read on the library's checked AST.

DEE's old checker refused a condition calling a function the Rust ``cel`` runtime does
not implement, so that a plan could not validate and then fail when a run reached it.
The checker is deleted (issue 23); a plan validated for the old evaluator (``--legacy-
cel``) is checked on Google's CEL, which knows far more functions, and this keeps the
refusal by name: a call (global or member) outside what the old runtime had. One gap
stays: an overload the runtime lacks of a function it has (``string(true)``) is not
told apart here; a run reaching it fails with a ``ConditionError``, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from interpreter.cel_tree import Node

# The operators as the library names them (macros arrive expanded into these).
_OPERATORS: Final = frozenset({
    "_+_", "_-_", "_*_", "_/_", "_%_", "-_", "!_", "_==_", "_!=_", "_<_", "_<=_", "_>_",
    "_>=_", "_&&_", "_||_", "_?_:_", "_[_]", "@in", "@not_strictly_false",
})  # fmt: skip
_GLOBAL: Final = frozenset({"int", "uint", "double", "string", "bytes", "size"})
_MEMBER: Final = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches",
    "hasOpen", "hasReply", "hasAnyReply", "hasClick", "hasBounce", "callOutcome",
    "hasEvent", "visits",
})  # fmt: skip


def unknown_function(root: Node) -> str | None:
    """The first function ``root`` calls that the old runtime does not have, or None."""
    for node in _walk(root):
        if node.kind != "call" or node.name in _OPERATORS:
            continue
        if node.name in (_MEMBER if node.member else _GLOBAL):
            continue
        # The old checker's words, which the failures of refused starts recorded.
        return f"unknown function '{node.name}' (the old evaluator, runs before Google's CEL)"
    return None


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)
