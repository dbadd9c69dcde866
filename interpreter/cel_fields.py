"""The contact and variables fields a condition reads, and which of them is missing.

Boundary: given the library's checked tree (``cel_tree``), the paths it reads from
``contact`` and ``vars`` (``contact.address.city``, ``vars["a b"]``); given the key an
evaluator reported missing, the path that key belongs to in this run's data. No I/O.

Why: an evaluator reports a missing key by its name alone (``"tier"``), which does not
say whether the contact or the variables lack it, nor at which level. The run's failure
reason should: ``missing field contact.tier``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import Any

from interpreter.cel_tree import Node, Tree

__all__ = ["DATA_ROOTS", "data_paths", "missing_path"]

DATA_ROOTS = frozenset({"contact", "vars"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Path = tuple[str, ...]


def data_paths(tree: Tree) -> tuple[Path, ...]:
    """Every path into ``contact`` or ``vars`` that ``tree`` reads, in source order."""
    found: list[tuple[int, Path]] = []
    pending: list[tuple[Node, Set[str]]] = [(tree.root, frozenset())]
    while pending:
        node, shadowed = pending.pop()
        path = _path(node, shadowed)
        if path is not None:
            if len(path) > 1:
                found.append((tree.offset(node), path))
            continue
        if node.kind == "comprehension":
            inner = shadowed | {*node.names, node.accu}
            pending.append((node.children[0], shadowed))
            pending.append((node.children[1], shadowed))
            pending.extend((child, inner) for child in node.children[2:])
        else:
            pending.extend((child, shadowed) for child in node.children)
    return tuple(dict.fromkeys(path for _, path in sorted(found)))


def _path(node: Node, shadowed: Set[str]) -> Path | None:
    """``node`` as a path of fixed keys from a data root, or ``None``."""
    keys: list[str] = []
    while True:
        if node.kind == "select" and not node.test_only and node.children:
            keys.append(node.name)
            node = node.children[0]
        elif (
            node.kind == "call"
            and node.name == "_[_]"
            and len(node.children) == 2
            and isinstance(node.children[1].text, str)
            and node.children[1].kind == "const"
        ):
            keys.append(node.children[1].text)
            node = node.children[0]
        elif node.kind == "call" and node.name == "dyn" and len(node.children) == 1:
            node = node.children[0]  # dyn() changes the type the checker sees, not the value
        elif node.kind == "ident" and node.name in DATA_ROOTS and node.name not in shadowed:
            return (node.name, *reversed(keys))
        else:
            return None


def missing_path(
    paths: tuple[Path, ...], key: object, roots: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """The first of ``paths`` that stops at ``key`` in this run's data, written as a
    condition would name it (``contact.tier``), or ``None`` when none does."""
    for path in paths:
        value: Any = roots.get(path[0])
        for depth, name in enumerate(path[1:], start=1):
            if not isinstance(value, Mapping):
                break
            if name not in value:
                if name == key:
                    return _written(path[: depth + 1])
                break
            value = value[name]
    return None


def _written(path: Path) -> str:
    text = path[0]
    for name in path[1:]:
        text += f".{name}" if _NAME.fullmatch(name) else f"[{name!r}]"
    return text
