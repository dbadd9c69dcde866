"""Constant-false conditions read on the library's checked AST (``constant_conditions``):
literals other than strings are read from the source at the library's offsets, so the
offsets must be code points and every literal form must read back as CEL means it."""

from __future__ import annotations

import pytest

from interpreter.constant_conditions import always_false


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ('"é—ü" == "b" && 1 > 2', True),  # multi-byte text before the literals
        ('"x" != "x" || 0x10 > 20', True),  # hex is 16
        ("0x10 > 15", False),
        ("1u > 2u", True),
        ("1u == 1", False),  # uint against int: mixed kinds are not folded
        ("1.5e1 < 2.0", True),
        ("-3 > -2", True),
        ("-3 < -2", False),
        ("null != null", True),
        ('b"a" == b"b"', False),  # bytes are never folded
        ("true ? 1 > 2 : contact.x", True),
        ("contact.x ? 1 > 2 : !true", True),
        ("!(contact.x && false)", False),  # false absorbs &&, so this is always true
        ("[1].all(x, false)", False),  # a comprehension reads a value: never constant
        ('events.hasOpen("a") && (2 < 1 || false)', True),
        ("(((false)))", True),
        ("   false   ", True),
        ("does not parse (", False),
        ("", False),
    ],
)
def test_what_is_false_whatever_the_run_has_seen(when: str, expected: bool) -> None:
    assert always_false(when) is expected
