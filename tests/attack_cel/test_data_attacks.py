"""A run's data the library cannot hold as it is fails the condition with a reason
naming the field, rather than deciding on other data (issue 23)."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter.cel_branch import evaluate_google
from interpreter.cel_validate import check_condition_google
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


def test_a_nul_in_a_condition_outside_a_string_is_named_at_its_place() -> None:
    # The library quotes the character in its message and the message is cut there:
    # "token recognition error at: '" with no caret.
    [problem] = check_condition_google("true\0 && false", step_ids=frozenset())
    assert problem.message == (
        "does not compile: 1:5: a NUL character (U+0000) may not appear here "
        '(inside a string, write "\\u0000")\n'
        " | true\u2400 && false\n"
        " | ....^"
    )
