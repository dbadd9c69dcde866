"""DEE's left-to-right ``&&``/``||`` rule and missing-field names on Google's CEL, read
from the library's own checked AST: conditions in syntax only the library reads
(optionals, raw and triple-quoted strings, ``dyn()``) get them too."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from interpreter import steps
from interpreter.cel_branch import evaluate_google
from interpreter.conditions import compile_branch
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot

_MISSING_TIER = "missing field contact.tier"


def _holds(when: str, contact: dict[str, Any] | None = None, **variables: Any) -> bool:
    step = steps.branch(
        id="check",
        conditions=[{"when": when, "goto": "yes"}, {"when": "default", "goto": "no"}],
    )
    index, _ = evaluate_google(
        compile_branch(step, google_cel=True),
        snapshot=EventSnapshot(()),
        contact=contact or {},
        variables=variables,
        visits={},
    )
    return index == 0


def _reason(when: str, contact: dict[str, Any] | None = None, **variables: Any) -> str:
    with pytest.raises(ConditionError) as failed:
        _holds(when, contact, **variables)
    return failed.value.reason


@pytest.mark.parametrize(
    "when",
    [
        'contact.tier == "gold" && false',
        'contact.tier == "gold" || true',
        'contact.?nick.orValue("") == "" && contact.tier == "gold"',
        'contact.?nick.hasValue() || contact.tier == "gold"',
        'r"a\\d" == "a\\\\d" && contact.tier == "gold"',
        "'''x''' == \"x\" && contact.tier == \"gold\"",
        'dyn(contact.n) > 1 && contact.tier == "gold"',
        '[1, 2].exists(e, contact.tier == "gold" && e == 3)',
        '[1, 2].all(e, e > 1 || contact.tier == "gold") || true',
        '[[1], [2]].map(l, l.exists(e, contact.tier == "gold" && false)).size() == 2',
        '{"k": contact.tier == "gold" && false}["k"] || true',
        '[contact.tier == "gold" || true][0]',
        'contact.?tier.orValue(contact.tier == "gold" && false) || true',
    ],
)
def test_an_error_on_the_left_fails_the_run_whatever_the_right_says(when: str) -> None:
    assert _reason(when, {"n": 5}) == _MISSING_TIER


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ('false && contact.tier == "gold"', False),
        ('true || contact.tier == "gold"', True),
        ('contact.?nick.hasValue() && contact.tier == "gold"', False),
        ('[1, 2].exists(e, e == 1 || contact.tier == "gold")', True),
        ('[1, 2].all(e, e > 5 && contact.tier == "gold")', False),
        # A macro's own accumulator keeps CEL's rule: a later false decides all().
        ("[1, 2, 3].all(e, 6 / (2 - e) == 6)", False),
        ('b"\\x01" == b"\\x01" && 1.5 < 2.5 && contact.n == 5', True),
    ],
)
def test_the_right_side_is_not_evaluated_when_the_left_decides(when: str, expected: bool) -> None:
    assert _holds(when, {"n": 5}) is expected


def test_an_operand_that_is_not_a_boolean_is_an_error_on_either_side() -> None:
    assert "No matching overloads" in _reason("vars.flag && true", flag=1)
    assert "No matching overloads" in _reason("true && vars.flag", flag=1)
    assert "No matching overloads" in _reason("false || vars.flag", flag="yes")
    assert _holds("true && vars.flag", flag=True)


def test_long_chains_and_deep_parentheses_the_library_accepts_still_evaluate() -> None:
    chain = " && ".join(f"vars.n != {i}" for i in range(60))
    assert _holds(chain, n=-1) and not _holds(chain, n=30)
    nested = "".join("(vars.n != 1 || " for _ in range(25)) + "false" + ")" * 25
    assert _holds(nested, n=2)
    # The deepest the library's parser accepts of these shapes (measured) still runs.
    deepest = "".join("(vars.a || " for _ in range(30)) + "vars.a" + ")" * 30
    assert not _holds(deepest, a=False)
    negated = "".join("!(vars.a && " for _ in range(15)) + "vars.a" + ")" * 15
    assert not _holds(negated, a=True)
    macros = "".join(f"[true].exists(x{i}, vars.a && " for i in range(15)) + "vars.a" + ")" * 15
    assert _holds(macros, a=True)


@pytest.mark.parametrize(
    ("when", "contact", "reason"),
    [
        ('contact.address.city == "x"', {"address": {}}, "missing field contact.address.city"),
        ('vars["a b"] == 1 || true', {}, "missing field vars['a b']"),
        ('contact.?nick.orValue("") == "" && contact.tier == "gold"', {}, _MISSING_TIER),
        ('dyn(contact).tier == "gold"', {}, _MISSING_TIER),
    ],
)
def test_a_missing_field_is_named_with_its_root_and_path(
    when: str, contact: dict[str, Any], reason: str
) -> None:
    assert _reason(when, contact) == reason


def test_a_comprehension_variable_named_like_a_root_is_not_taken_for_it() -> None:
    # ``contact`` inside the body is the element: the library's message stays.
    reason = _reason("[{'a': 1}].exists(contact, contact.tier == 1)", {"tier": 1})
    assert reason.startswith("Key not found") and "tier" in reason


# The old parser's package (replay-only): the Google path (and what it imports) uses
# none of it; the import-linter contract says the same for ``lint-imports``.
_OLD = "legacy_cel"
_GOOGLE = ("cel_env", "cel_order", "cel_tree", "cel_tree_cost", "cel_fields", "cel_validate")
_GOOGLE += ("constant_conditions",)
_PACKAGE = Path(__file__).resolve().parents[2] / "interpreter"


def _imports(module: str) -> set[str]:
    tree = ast.parse((_PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            name = node.module
            if name == "interpreter":
                found |= {alias.name for alias in node.names}
            elif name.startswith("interpreter."):
                found.add(name.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("interpreter.")}
    return found


def test_the_google_path_imports_no_module_of_the_old_parser() -> None:
    reached, named, pending = set(), set(), list(_GOOGLE)
    while pending:
        module = pending.pop()
        named.add(module)
        if module in reached or not (_PACKAGE / f"{module}.py").exists():
            continue
        reached.add(module)
        pending.extend(_imports(module))
    assert "cel_env" in reached and "cel_sizes" in reached  # the walk does follow imports
    assert (_PACKAGE / _OLD / "__init__.py").exists()  # and looks for the right name
    assert _OLD not in named
