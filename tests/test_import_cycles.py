"""No import cycle between DEE's product modules.

An import cycle hides which module owns what (issue 20 found ``dee.engine`` and
``dee.enrolment`` importing each other, one side at call time). Checked on grimp's
graph of the five packages (the one import-linter builds), which counts imports made
inside functions as well as at module level, with and without the imports under
``TYPE_CHECKING``. (pyproject's import-linter contracts check the same between
sibling packages, at every level.)
"""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("interpreter", "workflows", "activities", "adapters", "dee")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The graph's strongly connected components of more than one module, sorted."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return sorted(found)


@pytest.mark.parametrize("type_checking", [False, True])
def test_no_product_module_imports_itself_through_others(type_checking: bool) -> None:
    # No cache: a stale one (files changed within its timestamp resolution) once
    # reported a cycle the tree no longer had.
    graph = grimp.build_graph(
        *PACKAGES, exclude_type_checking_imports=not type_checking, cache_dir=None
    )
    assert cycles(graph) == []


def test_a_cycle_is_found() -> None:
    # The check itself: a two-module cycle and a self-contained chain.
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="b", imported="c")

    assert cycles(graph) == [["a", "b"]]
