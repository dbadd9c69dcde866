"""Hostile conditions and data, evaluated in a child process (``python -m
tests.attack_cel.hostile``) so that a crash of the C++ library is seen as the child's
death by a signal, not as the test process dying: every case prints one line, what
validation said or what evaluation gave (a value or DEE's error text)."""

from __future__ import annotations

import json
from typing import Any

from interpreter.cel_branch import evaluate_google
from interpreter.cel_validate import check_condition_google
from interpreter.conditions import compile_test
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot


def _nested(levels: int, open_: str = "(", close: str = ")") -> str:
    return open_ * levels + "true" + close * levels


CONDITIONS = [
    _nested(32), _nested(33), _nested(300), "[" * 31 + "1" + "]" * 31 + " != []",
    "!" * 31 + "true", "-" * 200 + "1 == 1", "contact" + ".a" * 40 + " == 1",
    "size('" + "é" * 1000 + "') == 1000", "'\\ud800' == 'x'", "'\\u0000' == 'x'",
    "'\\U00110000' == 'x'", "b'\\xff\\xfe' == b'\\xff'", "string(b'\\xc3') == 'x'",
    "size(b'\\u00ff') == 2", "9223372036854775807 + 1 == 0", "-(-9223372036854775808) == 0",
    "99999999999999999999999 == 1", "18446744073709551615u + 1u == 0u",
    "double('nan') == double('nan')", "int(double('nan')) == 1", "uint(-1) == 1u",
    "timestamp('10000-01-01T00:00:00Z') > timestamp(0)",
    "timestamp(-9223372036854775808) > timestamp(0)",
    "timestamp('9999-12-31T23:59:59Z') + duration('1s') > timestamp(0)",
    "duration('9223372036854775807s') > duration('1s')",
    "duration('315576000000s') + duration('315576000000s') > duration('1s')",
    "timestamp(0).getFullYear('Nowhere/Zone') == 1", "timestamp(0).getFullYear('+99:99') == 1",
    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('(a+)+$')", "'a'.matches('(')",
    "'a'.matches('a{1001}')", "contact.s.matches(contact.p)",
    "optional.none().value() == 1", "contact.?a.?b.orValue(1) == 1",
    "{1: 1, 1u: 2, 1.0: 3}[1] == 1", "{'a': 1, 'a': 2}.a == 1", "{true: 1, 1: 2}[true] == 1",
    "{'a': 1, 'b': 2, 'c': 3}['d'] == 1", "type(dyn(1)) == type(1u)", "dyn([]) == dyn({})",
    "'%s'.format([{'b': 1, 'a': 2, 'c': [1, {'z': 1, 'y': 2}]}]) == ''",
    "'%s'.format([contact]) == ''", "'%d %d'.format([1]) == '1'",
    "'%.99999999f'.format([1.0]) == ''", "'abc'.substring(9223372036854775807) == ''",
    "'abc'.indexOf('', 9223372036854775807) == 1", "[1,2,3].all(e, 6/(2-e)==6) == false",
    "has(contact.a.b.c)", "contact.missing == 1", "contact.a[contact.s] == 1",
    "contact.n * contact.n == 1", "int(contact.d) == 1", "contact.i + 1 > 1",
    "strings.quote(contact.s) == ''", "contact.t.lowerAscii() == 'x'",
    "timestamp(contact.t) < timestamp('2026-01-01T00:00:00Z')", "1 ? 2 : 3",
    "dyn({1: optional.of(2)})", "dyn([optional.none()])",
    "dyn({'x': [optional.of([1])], 'y': {true: optional.none()}})", "dyn(contact.a)",
]  # fmt: skip

CONTACT: dict[str, Any] = {
    "id": "c-1",
    "a": {"b": 1},
    "n": 9223372036854775807,
    "i": 2**64 - 1,
    "d": 1.5e308,
    "s": "x" * 300,
    "p": "(a|aa)*c",
    "t": "2026-01-01T00:00:00Z",
    "k": {f"k{i}": i for i in range(40)},
}


def outcome(when: str) -> str:
    problems = check_condition_google(when, step_ids=frozenset())
    if problems:
        return "refused: " + " / ".join(p.message for p in problems)
    branch = compile_test("check", when, google_cel=True)
    try:
        index, _ = evaluate_google(
            branch, snapshot=EventSnapshot(()), contact=CONTACT, variables={}, visits={}
        )
    except ConditionError as exc:
        return f"failed: {exc.reason}"
    return f"held: {index == 0}"


if __name__ == "__main__":
    for when in CONDITIONS:
        print(json.dumps([when, outcome(when)]), flush=True)
