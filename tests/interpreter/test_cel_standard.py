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
    Limits,
    MachineConfig,
    Status,
    simulate,
    validate,
)
from interpreter.trace import Trace
from tests.interpreter.helpers import branch_plan

GOOGLE = MachineConfig(google_cel=True)
# Validation on the library, the switch ``dee plan validate`` will pass once flipped.
ON_GOOGLE = Limits(google_cel=True)


def _run(when: str, contact: dict[str, Any] | None = None, **variables: Any) -> Trace:
    """Validate the plan branching on ``when`` (no problem may be reported), then run it."""
    plan = branch_plan(when, plan_id="standard", name="Standard CEL")
    assert [str(p) for p in validate(plan, limits=ON_GOOGLE)] == []
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


# --- strings count code points, and the strings extension is there ----------------


@pytest.mark.parametrize(
    ("name", "outcome"), [("Zoë", "yes"), ("Zoe", "yes"), ("Zoëy", "no"), ("李小龍", "yes")]
)
def test_size_of_a_name_counts_characters_not_utf8_bytes(name: str, outcome: str) -> None:
    assert _branch("size(contact.name) == 3", {"name": name}) == outcome


def test_size_of_a_literal_with_an_accent() -> None:
    assert _branch('size("Zoë") == 3') == "yes"


@pytest.mark.parametrize(
    ("email", "outcome"),
    [("Ana@EXAMPLE.com", "yes"), ("ana@example.com", "yes"), ("ana@example.org", "no")],
)
def test_lower_ascii_and_ends_with_in_a_condition(email: str, outcome: str) -> None:
    when = 'contact.email.lowerAscii().endsWith("@example.com")'
    assert _branch(when, {"email": email}) == outcome


def test_more_of_the_strings_extension() -> None:
    when = 'contact.name.trim().split(" ").size() == 2 && contact.name.trim().indexOf("ë") == 2'
    assert _branch(when, {"name": " Zoë Smith "}) == "yes"
    assert _branch(when, {"name": "Zoë"}) == "no"


# --- dyn() and mixed numbers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "outcome"), [(150, "yes"), (150.5, "yes"), (100, "no"), (99.99, "no")]
)
def test_dyn_compares_a_field_whatever_its_number_type(balance: float, outcome: str) -> None:
    assert _branch("dyn(contact.balance) > 100", {"balance": balance}) == outcome


def test_numbers_of_different_types_are_equal_when_their_values_are() -> None:
    assert _branch("dyn(1) == 1.0 && dyn(2u) == 2 && dyn(3.0) == 3u") == "yes"
    assert _branch("dyn(1) == 1.5") == "no"


@pytest.mark.parametrize(
    "when",
    [
        '{1: "one", 2u: "two", 3: "three"}[2] == "two"',
        '{1: "one", 2u: "two", 3: "three"}[1u] == "one"',
        '{1: "one", 2u: "two"}[2.0] == "two"',
        'dyn(2u) in {1: "one", 2: "two"}',
    ],
)
def test_a_map_with_mixed_numeric_keys_is_read_by_value(when: str) -> None:
    assert _branch(when) == "yes"


# --- timestamps and durations --------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "outcome"), [("2026-03-01T00:00:00Z", "yes"), ("2025-12-01T00:00:00Z", "no")]
)
def test_timestamps_compare(due: str, outcome: str) -> None:
    when = 'timestamp("2026-01-01T00:00:00Z") < timestamp(vars.due)'
    assert _branch(when, due=due) == outcome


def test_a_difference_of_timestamps_is_a_duration() -> None:
    when = 'timestamp(vars.due) - timestamp(vars.sent) >= duration("720h")'
    assert _branch(when, sent="2026-01-01T00:00:00Z", due="2026-02-01T00:00:00Z") == "yes"
    assert _branch(when, sent="2026-01-01T00:00:00Z", due="2026-01-15T00:00:00Z") == "no"


def test_durations_and_timestamp_arithmetic() -> None:
    assert _branch('duration("1h30m") == duration("90m")') == "yes"
    assert (
        _branch(
            'timestamp("2026-01-31T12:00:00Z") + duration("12h") == timestamp(vars.t)',
            t="2026-02-01T00:00:00Z",
        )
        == "yes"
    )
    assert _branch("timestamp(vars.t).getFullYear() == 2026", t="2026-02-01T00:00:00Z") == "yes"


def test_a_bad_timestamp_fails_the_run_with_the_reason() -> None:
    assert "timestamp" in _failure("timestamp(vars.due) > timestamp(0)", due="next Tuesday").lower()


# --- errors are errors, and comprehensions decide as the specification says -------


def test_negating_the_smallest_int_overflows_and_fails_the_run() -> None:
    assert "overflow" in _failure("-(-9223372036854775808) > 0")


def test_int_arithmetic_past_64_bits_fails_the_run() -> None:
    assert "overflow" in _failure("vars.n * 2 > 0", n=2**62)


def test_all_is_false_when_an_element_is_false_even_if_another_errs() -> None:
    # 6/(2-2) errs, but e == 3 is false: all() is false, as CEL specifies.
    assert _branch("[1, 2, 3].all(e, 6 / (2 - e) == 6)") == "no"
    assert _branch("[1, 2, 3].exists(e, 6 / (2 - e) == 6)") == "yes"


# --- types are values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "contact"),
    [
        ("type(contact.balance) == int", {"balance": 5}),
        ("type(contact.balance) == double", {"balance": 5.5}),
        ("type(contact.name) == string", {"name": "Zoë"}),
        ("type(contact.tags) == list", {"tags": ["vip"]}),
        ("type(contact.address) == map", {"address": {"city": "Lyon"}}),
        ("type(1u) == uint && type(b'x') == bytes && type(null) == null_type", {}),
        ("type(type(1)) == type && type(true) == bool", {}),
        ('type(timestamp("2026-01-01T00:00:00Z")) == google.protobuf.Timestamp', {}),
    ],
)
def test_type_and_type_names(when: str, contact: dict[str, Any]) -> None:
    assert _branch(when, contact) == "yes"


def test_a_type_test_that_does_not_hold() -> None:
    assert _branch("type(contact.balance) == string", {"balance": 5}) == "no"


# --- optional values ------------------------------------------------------------------


@pytest.mark.parametrize(("contact", "outcome"), [({}, "yes"), ({"nickname": "Zo"}, "no")])
def test_an_optional_field_with_a_fallback(contact: dict[str, Any], outcome: str) -> None:
    assert _branch('contact.?nickname.orValue("friend") == "friend"', contact) == outcome


def test_optional_values() -> None:
    assert _branch('vars[?"tier"].orValue("basic") == "gold"', tier="gold") == "yes"
    assert _branch("optional.of(1).hasValue() && !optional.none().hasValue()") == "yes"
