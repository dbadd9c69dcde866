"""A run's data the library cannot hold as it is fails the condition with a reason
naming the field, rather than deciding on other data (issue 23)."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter.cel_branch import evaluate_google
from interpreter.conditions import compile_test
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot


def _decide(when: str, contact: dict[str, Any]) -> int:
    branch = compile_test("check", when, google_cel=True)
    index, _ = evaluate_google(
        branch, snapshot=EventSnapshot(()), contact=contact, variables={}, visits={}
    )
    return index


@pytest.mark.parametrize(
    ("when", "contact", "field"),
    [
        ("size(contact.s) == 3", {"s": "a\0b"}, "contact.s"),
        ('contact.s == "a\\u0000b"', {"s": "a\0b"}, "contact.s"),
        ('contact.s != "a"', {"s": "a\0b"}, "contact.s"),
        ("size(contact.tags) == 2", {"tags": ["x", "y\0"]}, "contact.tags[1]"),
        ('"a\\u0000b" in contact', {"a\0b": 1}, "contact.a\\u0000b"),
    ],
)
def test_a_nul_in_the_data_fails_the_condition_naming_the_field(
    when: str, contact: dict[str, Any], field: str
) -> None:
    # Measured before the guard: the library cut each value at its NUL, so
    # size("a\0b") was 1 and "a\0b" != "a" was false: the wrong branch, no error.
    with pytest.raises(ConditionError) as caught:
        _decide(when, contact)
    assert f"{field}: " in caught.value.reason and "NUL character (U+0000)" in caught.value.reason


def test_a_nul_written_in_the_condition_is_kept() -> None:
    assert _decide('size("a\\u0000b") == 3', {}) == 0
    assert _decide('contact.s + "\\u0000" == "a\\u0000"', {"s": "a"}) == 0
