"""Standard CEL in a plan's conditions, as a plan author sees it (issue 23).

Each expression is a branch condition of a plan that is validated (what ``dee plan
validate`` reports) and then simulated on Google's CEL: the branch the run takes, or
the error that fails it, is the proof. The expressions are written for DEE, in the
spirit of cel-spec's conformance tests (``bench/cel_conformance.py`` measures against
those): each was refused or decided wrongly by the hand-written checker and the Rust
evaluator.
"""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import (
    ExecutionPlan,
    MachineConfig,
    PlanMetadata,
    Status,
    simulate,
    steps,
    validate,
)
from interpreter.trace import Trace

META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")
GOOGLE = MachineConfig(google_cel=True)


def _plan(when: str) -> ExecutionPlan:
    """A branch on ``when``: to ``yes`` when it holds, else to ``no``."""
    return ExecutionPlan(
        id="standard",
        version=1,
        name="Standard CEL",
        metadata=META,
        steps=(
            steps.branch(
                id="check",
                conditions=[{"when": when, "goto": "yes"}, {"when": "default", "goto": "no"}],
            ),
            steps.end(id="yes", outcome="yes"),
            steps.end(id="no", outcome="no"),
        ),
    )


def _run(when: str, contact: dict[str, Any] | None = None, **variables: Any) -> Trace:
    """Validate the plan branching on ``when`` (no problem may be reported), then run it."""
    plan = _plan(when)
    assert [str(p) for p in validate(plan)] == []
    return simulate(plan, {"id": "c1", **(contact or {})}, variables=variables, config=GOOGLE)


def _branch(when: str, contact: dict[str, Any] | None = None, **variables: Any) -> str | None:
    trace = _run(when, contact, **variables)
    assert trace.status == Status.COMPLETED, trace.entries[-1]
    return trace.outcome


def _failure(when: str, contact: dict[str, Any] | None = None, **variables: Any) -> str:
    """The error the run failed with, as its evaluate entry records it."""
    trace = _run(when, contact, **variables)
    assert trace.status == Status.FAILED
    [entry] = [e for e in trace.entries if e.action == "evaluate"]
    assert entry.outcome == "error"
    return str(entry.detail["error"])


# --- strings count code points -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "outcome"), [("Zoë", "yes"), ("Zoe", "yes"), ("Zoëy", "no"), ("李小龍", "yes")]
)
def test_size_of_a_name_counts_characters_not_utf8_bytes(name: str, outcome: str) -> None:
    assert _branch("size(contact.name) == 3", {"name": name}) == outcome


def test_size_of_a_literal_with_an_accent() -> None:
    assert _branch('size("Zoë") == 3') == "yes"


# --- mixed numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        '{1: "one", 2u: "two", 3: "three"}[2] == "two"',
        '{1: "one", 2u: "two", 3: "three"}[1u] == "one"',
    ],
)
def test_a_map_with_mixed_numeric_keys_is_read_by_value(when: str) -> None:
    assert _branch(when) == "yes"


# --- errors are errors, and comprehensions decide as the specification says -------


def test_negating_the_smallest_int_overflows_and_fails_the_run() -> None:
    assert "overflow" in _failure("-(-9223372036854775808) > 0")


def test_int_arithmetic_past_64_bits_fails_the_run() -> None:
    assert "overflow" in _failure("vars.n * 2 > 0", n=2**62)


def test_all_is_false_when_an_element_is_false_even_if_another_errs() -> None:
    # 6/(2-2) errs, but e == 3 is false: all() is false, as CEL specifies.
    assert _branch("[1, 2, 3].all(e, 6 / (2 - e) == 6)") == "no"
    assert _branch("[1, 2, 3].exists(e, 6 / (2 - e) == 6)") == "yes"
