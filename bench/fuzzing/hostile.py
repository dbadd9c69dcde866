"""Pools of hostile values: what a mutation puts where a well-behaved value was.

Fixed pools rather than free ``st.text()``: each entry is a known way in (a control
character, a lone surrogate, a bidi override, a size just past a limit, a template
or CEL construct that costs a lot), and a fixed pool keeps generation cheap, so a
run tries more inputs. Free text is still drawn beside them (``text_values``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text: controls, invisible and direction characters, surrogates, sizes near limits.
TEXTS: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e",
    "a\u202eb",
    "\u2066x\u2069",
    "\u200b",
    "\ufeff",
    "\ud800",
    "x\udfff",
    "\r\n",
    "a\nb",
    "\t",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "é",
    "ﬁ",
    "\U0010ffff",
    "🙂" * 3,
    "a" * 64,
    "a" * 65,
    "a" * 129,
    "s" * 300,
    "o" * 2000,
    "x" * 70_000,
    "../../etc/passwd",
    "%00",
    "%s%n",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "default",
    "linear",
    "true",
    "null",
    "0x10",
    "1:30",
    "yes",
    "1e999",
    "NaN",
    "-0",
    "Victim <victim@example.com>",
    "victim@example.com, other@example.com",
    "a@b\r\nBcc: victim@example.com",
)
# Numbers at and past every boundary a JSON value meets on its way to the audit log.
NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    10**30,
    1.5,
    -0.0,
    1e308,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
)
# Jinja constructs that are expensive, escape the sandbox or pull other templates in.
TEMPLATES: tuple[str, ...] = (
    "{{ product }}",
    "{{ contact.first_name }}",
    "{{ missing }}",
    "{{ 7 * 7 }}",
    "{{ 'x' * 10**8 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ 10 ** 100000 }}",
    "{{ range(10**9) | list }}",
    "{{ 'x' | center(10**8) }}",
    "{{ '%s' | format(contact) * 1000 }}",
    "{% for x in range(20000) %}{% for y in range(20000) %}x{% endfor %}{% endfor %}",
    "{% for x in range(100000) %}{{ x }}{% endfor %}",
    "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
    "{% set a = [1] %}{% for x in range(30) %}{% set a = a + a %}{% endfor %}{{ a | length }}",
    "{% extends 'voice/script_follow_up.txt.j2' %}",
    "{% include 'email/tmpl_intro.txt.j2' %}",
    "{% import 'email/tmpl_intro.txt.j2' as t %}",
    "{% extends 'email/../../etc/passwd' %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self }}",
    "{{ contact.update({'id': 'x'}) }}",
    "{% raw %}",
    "{{",
    "{% for %}",
    "{{ 1 / 0 }}",
    "{{ contact | tojson }}",
    "{{ product | e }}\n",
    "line one\nline two",
)
# CEL that is expensive, malformed, or reads what is not there.
_L100 = "[" + ",".join(str(i) for i in range(100)) + "]"


def nested_all() -> str:
    """Issue 18's CEL: ``L.all`` four deep over a list of 100, 100^4 evaluations."""
    return f"{_L100}.all(a, {_L100}.all(b, {_L100}.all(c, {_L100}.all(d, true))))"


CEL: tuple[str, ...] = (
    "true",
    "false",
    "default",
    "",
    " ",
    "1",
    "1 / 0",
    "'a' + 1",
    'contact.tier == "gold"',
    'contact.tier == "gold" && events.hasOpen("e")',
    'events.hasOpen("nope")',
    'events.hasReply("e") || run.visits("e") >= 2',
    'events.callOutcome("e") == "voicemail"',
    "vars.x > 3",
    "has(contact.tier)",
    'contact["tier"] == "gold"',
    "contact.missing.deeper",
    "size(contact.id) > 1",
    nested_all(),
    f"{_L100}.map(a, {_L100}.map(b, {_L100}.map(c, a + b + c))).size() > 0",
    f"{_L100}.exists(a, {_L100}.exists(b, {_L100}.exists(c, a + b + c < 0)))",
    "[" + ",".join(["1"] * 50_000) + "].size() > 0",
    "(" * 5000 + "true" + ")" * 5000,
    "!" * 10_000 + "true",
    "1" + " + 1" * 20_000 + " > 0",
    '"x".matches("(a+)+$")',
    '"' + "a" * 100_000 + '" == "a"',
    "9223372036854775807 + 1 > 0",
    "-9223372036854775808 - 1 < 0",
    "18446744073709551615u + 1u > 0u",
    "1.0 / 0.0 > 0.0",
    'int("9" * 30) > 0',
    'timestamp("2026-01-01T00:00:00Z") > timestamp("2025-01-01T00:00:00Z")',
    'duration("100000000h") > duration("1h")',
    '"\\u0000" == ""',
    "'",
    "events.hasOpen(",
    'dyn(1) == "1"',
    "type(1) == int",
    'events.hasOpen("e"' + ", " * 1000 + ")",
)


def texts() -> st.SearchStrategy[str]:
    """A hostile text from the pool, or a short free one (any code point, surrogates too)."""
    return st.one_of(st.sampled_from(TEXTS), st.text(max_size=12))


def scalars() -> st.SearchStrategy[Any]:
    """Any hostile scalar: text, number, flag or null."""
    return st.one_of(texts(), st.sampled_from(NUMBERS), st.integers(), st.floats())


def nested(leaf: Any, depth: int, as_list: bool) -> Any:
    """``leaf`` wrapped ``depth`` times in one-element lists (or ``{"a": ...}``)."""
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


DEPTHS = (1, 31, 32, 33, 63, 64, 65, 200, 10_000)
