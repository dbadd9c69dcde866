"""A plan's ``compliance`` block: its validation, and what it names on one run.

The block says which compliance presets a plan's sends are under and what they are
about: the debt (``debtRef``, a path into the run's variables or contact, so each run
carries its own) and the subject. Whether a preset name exists is the policy gate's
business (``adapters.policy.rules``), which this layer cannot import: registration
checks the names (``dee``); here only their form is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from interpreter import limits as L
from interpreter.plan import Compliance, ExecutionPlan

Add = Callable[[str | None, str, str], None]

# ``vars.<name>`` or ``contact.<field>``, dotted into nested mappings.
DEBT_REF = re.compile(r"^(vars|contact)(\.[A-Za-z_][A-Za-z0-9_]*)+$")
PRESET_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
DEBT_REF_LENGTH = 200
# A resolved debt reference is an identifier of the debt, not a document.
DEBT_VALUE_LENGTH = 200


def check_compliance(plan: ExecutionPlan, add: Add) -> None:
    """Every problem with ``plan``'s ``compliance`` block (none when it has none)."""
    block = plan.compliance
    if block is None:
        return
    if block.presets is None and block.debt_ref is None and block.subject is None:
        add(None, "compliance", "a compliance block names presets, a debtRef or a subject")
    if block.presets is not None:
        _check_presets(block.presets, add)
    if block.debt_ref is not None:
        ref = block.debt_ref
        if len(ref) > DEBT_REF_LENGTH:
            message = f"the path is {len(ref)} characters long; the limit is {DEBT_REF_LENGTH}"
            add(None, "compliance.debtRef", message)
        elif not DEBT_REF.fullmatch(ref):
            add(
                None,
                "compliance.debtRef",
                f"'{L.shown(ref)}' is not a path into the run: write vars.<name> or "
                "contact.<field> (like vars.accountNumber)",
            )
    if block.subject is not None:
        problem = L.text_problem(block.subject, "the subject", L.SUBJECT)
        if not block.subject.strip():
            add(None, "compliance.subject", "the subject is empty")
        elif problem is not None:
            add(None, "compliance.subject", problem)


def _check_presets(presets: tuple[str, ...], add: Add) -> None:
    if not presets:
        add(None, "compliance.presets", "name at least one preset, or leave presets out")
        return
    seen: set[str] = set()
    for i, name in enumerate(presets):
        if not PRESET_NAME.fullmatch(name):
            add(
                None,
                f"compliance.presets[{i}]",
                f"'{L.shown(name)}' is not a preset name (lower-case letters, digits and -)",
            )
        elif name in seen:
            add(None, f"compliance.presets[{i}]", f"preset '{name}' is named twice")
        seen.add(name)


def unknown_presets(plan: ExecutionPlan, known: frozenset[str]) -> list[tuple[str, str]]:
    """``(field, message)`` for each of the plan's presets that is not in ``known``."""
    block = plan.compliance
    if block is None or block.presets is None:
        return []
    names = ", ".join(sorted(known))
    return [
        (f"compliance.presets[{i}]", f"unknown preset '{L.shown(name)}' (known: {names})")
        for i, name in enumerate(block.presets)
        if PRESET_NAME.fullmatch(name) and name not in known
    ]


@dataclass(frozen=True, slots=True)
class ComplianceInputs:
    """What a run's sends are about, resolved on the run.

    Attributes:
        presets: The plan's presets (``()`` when it names none).
        debt_ref: The debt, read from the path ``compliance.debtRef`` names; ``None``
            when the plan names none or the run has no usable value there.
        debt_ref_problem: Why a named debt reference resolved to ``None``.
        subject: The plan's ``compliance.subject``, if any.
    """

    presets: tuple[str, ...] = ()
    debt_ref: str | None = None
    debt_ref_problem: str | None = None
    subject: str | None = None


NONE = ComplianceInputs()


def compliance_inputs(
    block: Compliance | None, contact: Mapping[str, Any], variables: Mapping[str, Any]
) -> ComplianceInputs:
    """The presets, debt and subject ``block`` names, on a run with ``contact`` and
    ``variables``. Never raises: a missing or unusable debt value is ``None`` with the
    reason, and the gate's rules decide what a send without a debt may do."""
    if block is None:
        return NONE
    debt_ref, problem = None, None
    if block.debt_ref is not None:
        debt_ref, problem = _resolve(block.debt_ref, contact, variables)
    return ComplianceInputs(block.presets or (), debt_ref, problem, block.subject)


def _resolve(
    path: str, contact: Mapping[str, Any], variables: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    root, *keys = path.split(".")
    node: Any = variables if root == "vars" else contact
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return None, f"compliance.debtRef {path}: the run has no value there"
        node = node[key]
    # A bool is an int to Python, but no debt is numbered True.
    if isinstance(node, int) and not isinstance(node, bool):
        node = str(node)
    if not isinstance(node, str):
        kind = "null" if node is None else type(node).__name__
        return None, f"compliance.debtRef {path}: the value is {kind}, not a string or integer"
    if not node.strip():
        return None, f"compliance.debtRef {path}: the value is empty"
    if len(node) > DEBT_VALUE_LENGTH:
        return None, f"compliance.debtRef {path}: the value is longer than {DEBT_VALUE_LENGTH}"
    return node, None


__all__ = [
    "ComplianceInputs",
    "check_compliance",
    "compliance_inputs",
    "unknown_presets",
]
