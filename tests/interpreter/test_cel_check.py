"""The CEL parser and static checker for branch conditions.

Checks observable behaviour only: which expressions are accepted, the exact problem
messages for the rejected ones, the AST the parser builds, and agreement with the
runtime ``cel`` package on what parses and what literals mean.
"""

from __future__ import annotations

from functools import cache

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter.cel_check import CelProblem, check_condition
from interpreter.cel_syntax import (
    MAX_NESTING,
    Binary,
    Call,
    CelSyntaxError,
    Conditional,
    Ident,
    Index,
    ListExpr,
    Literal,
    MapExpr,
    Select,
    Unary,
    parse,
)

STEPS = frozenset({"intro-email", "call", "nudge", "a", "b"})


def problems(source: str) -> list[str]:
    return [p.message for p in check_condition(source, step_ids=STEPS)]


def syntax_message(source: str) -> str:
    with pytest.raises(CelSyntaxError) as caught:
        parse(source)
    return caught.value.message


VALID = [
    'events.hasReply("intro-email")',
    'events.hasAnyReply("intro-email") && !events.hasReply("intro-email")',
    'events.callOutcome("call") == "voicemail"',
    'run.visits("nudge") >= 3 && !events.hasOpen("a")',
    'has(contact.tier) && contact.tier == "gold"',
    "vars.score > 5",
    '"vip" in contact.tags',
    "[1,2].map(x, x * 2).size() == 2",
    "[1, 2, 3].map(x, x > 1, x * 2) == [4, 6]",
    "[1, 2, 3].filter(x, x % 2 == 1).size() == 2",
    'events.hasClick("a") || events.hasBounce("b")',
    'events.hasEvent("email.opened", "intro-email")',
    'events.hasOpen("a") ? run.visits("b") > 1 : vars.flag',
    'true ? false : events.hasReply("a") ? true : false',
    "\"a\\tb\\u00e9\\x41\\101\" == 'a\\tbéAA'",
    'r"\\d+" == "\\\\d+"',
    "R'x' == '''x'''",
    "0x1F == 31 && 3u > 0x2u",
    'b"\\xff".size() == 1 && b"abc" < b"abd"',
    '{"a": 1}.a == 1',
    '"x" in {"x": 1} && 1 in [1, 2]',
    "vars.a.b.c",
    'vars.a["b"][0] == 1',
    '.contact.name == "x"',
    'size("abc") == 3 && "abc".size() == 3 && size([1]) == 1 && {"k": 1}.size() == 1',
    '"abc".matches("^a") && "abc".contains("b") && "abc".startsWith("a")',
    'contact.email.endsWith("@example.com")',
    'int("3") == 3 && uint(1) == 1u && double(1) == 1.0 && string(1) == "1"',
    'bytes("a") == b"a" && string(b"a") == "a" && int(1.5) == 1',
    "[1, 2].all(x, x > 0) && [1].exists_one(x, x == 1)",
    '["a"].all(k, k == "a") && has(contact.email)',
    "-1 < 0 && -(1.5) < 0.0 && 1 < 1.5 && 2u > 1",
    "null == vars.x",
    "[1] + [2] == [1, 2] && [] == [] && {} == {}",
    "vars.x + 1 > 2 && vars.y * 2.0 > 1.0",
    "[[1], []].size() == 2",
    "(true ? [1] : []).map(x, x + 1).size() == 1",
    "[1].all(events, events > 0)",
    "!!true && !(1 > 2)",
    "1 + 2 * 3 - 4 / 2 % 3 == 5",
    "-9223372036854775808 < 0 && 18446744073709551615u > 0u",
    "1e3 > .5 && 1.5e-3 < 2.0",
    'run.visits("a") > 2 // this comment is ignored\n  && vars.ok',
    "[1, 2,].size() == 2 && {1: 2,}.size() == 1",
]


@pytest.mark.parametrize("source", VALID)
def test_valid_conditions_have_no_problems(source: str) -> None:
    assert problems(source) == []


ERRORS = [
    ("foo", ["unknown identifier 'foo'"]),
    ("bar.baz == 1", ["unknown identifier 'bar'"]),
    ("foo(1)", ["unknown function 'foo'"]),
    ('vars.x.trim() == ""', ["unknown function 'trim'"]),
    ("timestamp(1) == 1", ["unknown function 'timestamp'"]),
    ("1", ["condition must be a boolean, got int"]),
    ('"yes"', ["condition must be a boolean, got string"]),
    ("[1, 2]", ["condition must be a boolean, got list(int)"]),
    ('{"a": true}', ["condition must be a boolean, got map(string, bool)"]),
    ("events", ["condition must be a boolean, got Events"]),
    ('events.callOutcome("call")', ["condition must be a boolean, got string"]),
    ("1 + 1.0 > 2", ["operator + cannot be applied to int and double"]),
    ("1u + 1 > 2u", ["operator + cannot be applied to uint and int"]),
    ("1 % 2.0 == 1", ["operator % cannot be applied to int and double"]),
    ('"a" - "b" == ""', ["operator - cannot be applied to string and string"]),
    ('[1] + ["a"] == [1]', ["operator + cannot be applied to list(int) and list(string)"]),
    ("vars.x - true == 1", ["operator - cannot be applied to dyn and bool"]),
    ("-1u == 1u", ["operator - cannot be applied to uint"]),
    ('-"a" == "a"', ["operator - cannot be applied to string"]),
    ("1 == 1.0", ["cannot compare int and double with =="]),
    ('1 != "1"', ["cannot compare int and string with !="]),
    ('[1] == ["a"]', ["cannot compare list(int) and list(string) with =="]),
    ('"a" < 1', ["operator < cannot be applied to string and int"]),
    ("[1] < [2]", ["operator < cannot be applied to list(int) and list(int)"]),
    ("!1", ["operator ! needs a boolean, got int"]),
    (
        '1 && "a"',
        [
            "operator && needs boolean operands, got int",
            "operator && needs boolean operands, got string",
        ],
    ),
    ('true || "a"', ["operator || needs boolean operands, got string"]),
    ("1 ? true : false", ["the condition of ?: must be a boolean, got int"]),
    ('true ? 1 : "a"', ["the branches of ?: have different types, int and string"]),
    ('1 in "abc"', ["operator in needs a list or map on the right, got string"]),
    ('"a" in [1]', ["operator in cannot look for string in list(int)"]),
    ('1 in {"a": 1}', ["operator in cannot look for int in map(string, int)"]),
    ('[1]["a"] == 1', ["list index must be an int, got string"]),
    ('{"a": 1}[1] == 1', ["map key must be string, got int"]),
    ('"abc"[0] == "a"', ["cannot index string"]),
    ('{"a": 1}[[1]] == 1', ["map keys must be int, uint, bool or string, got list(int)"]),
    ("1.5 in vars.m || 1.5 in {1: 2}", ["map keys must be int, uint, bool or string, got double"]),
    ("true ? null : [1.5]", ["condition must be a boolean, got list(double)"]),
    ("events.x", ["events has no field 'x'"]),
    ("run.count > 1", ["run has no field 'count'"]),
    ("1.x", ["cannot select field 'x' on int"]),
    ("{1.5: 2}.size() == 1", ["map keys must be int, uint, bool or string, got double"]),
    ('{"a": 1, "a": 2}.size() == 1', ["map literal repeats the key 'a'"]),
    (
        'events.hasOpen("a", "b")',
        ["events.hasOpen expects 1 argument (a step id string), got 2"],
    ),
    ("events.hasReply()", ["events.hasReply expects 1 argument (a step id string), got 0"]),
    (
        'events.hasEvent("a")',
        ["events.hasEvent expects 2 arguments (an event type string and a step id string), got 1"],
    ),
    ('run.visits("a", "b") > 1', ["run.visits expects 1 argument (a step id string), got 2"]),
    ('hasOpen("a")', ["hasOpen must be called on events"]),
    ('contact.hasReply("a")', ["hasReply must be called on events"]),
    ('run.hasClick("a")', ["hasClick must be called on events"]),
    ('visits("a") > 1', ["visits must be called on run"]),
    ('events.visits("a") > 1', ["visits must be called on run"]),
    ("events.hasReply(1)", ["events.hasReply expects a string step id, got int"]),
    ("run.visits(true) > 1", ["run.visits expects a string step id, got bool"]),
    ('events.hasEvent(1, "a")', ["events.hasEvent expects a string event type, got int"]),
    ('events.hasReply("intro-emial")', ["events.hasReply refers to unknown step 'intro-emial'"]),
    ('events.hasAnyReply("intro")', ["events.hasAnyReply refers to unknown step 'intro'"]),
    ('events.callOutcome("cal") == "x"', ["events.callOutcome refers to unknown step 'cal'"]),
    ('events.hasEvent("x", "zzz")', ["events.hasEvent refers to unknown step 'zzz'"]),
    ('run.visits("nope") > 1', ["run.visits refers to unknown step 'nope'"]),
    (
        "contact.filter(k, true).size() > 0",
        [
            "filter() over a map or an untyped value is order-dependent; "
            "range over a list literal, or test membership with `in`"
        ],
    ),
    (
        "vars.items.map(x, x).size() > 0",
        [
            "map() over a map or an untyped value is order-dependent; "
            "range over a list literal, or test membership with `in`"
        ],
    ),
    (
        '{"a": 1}.map(k, k).size() > 0',
        [
            "map() over a map or an untyped value is order-dependent; "
            "range over a list literal, or test membership with `in`"
        ],
    ),
    ("has(contact)", ["has() expects one field selection, e.g. has(contact.tier)"]),
    ("has(contact.a, contact.b)", ["has() expects one field selection, e.g. has(contact.tier)"]),
    ("contact.has(tier)", ["has() is not a method; write has(contact.field)"]),
    ("has(events.opened)", ["events has no field 'opened'"]),
    ("[1].all(y, y)", ["the predicate of all() must be a boolean, got int"]),
    ("[1].filter(x, x).size() == 0", ["the predicate of filter() must be a boolean, got int"]),
    ("[1].map(x, x, x).size() == 0", ["the filter of map() must be a boolean, got int"]),
    ("[1].all(1, true)", ["all() expects a variable name as its first argument"]),
    ("[1].exists(y)", ["exists() expects 2 arguments (a variable name and a predicate), got 1"]),
    (
        "[1].map(y).size() == 0",
        [
            "map() expects 2 or 3 arguments "
            "(a variable name, an optional filter and a transform), got 1"
        ],
    ),
    ("all([1], x, x > 0)", ["all() must be called on a list or map, e.g. xs.all(x, x > 0)"]),
    ('"abc".exists(c, true)', ["exists() needs a list or map to range over, got string"]),
    ("[1].all(x, x > 0) && x > 0", ["unknown identifier 'x'"]),
    ("size(1) == 1", ["size() expects a string, bytes, list or map, got int"]),
    ("size() == 1", ["size() expects 1 argument, got 0"]),
    ('"a".size(1) == 1', ["size() called on a value takes no arguments, got 1"]),
    ('"a".contains(1)', ["contains() expects a string argument, got int"]),
    ('"a".startsWith("a", "b")', ["startsWith() expects 1 argument, got 2"]),
    ('1.endsWith("a")', ["endsWith() must be called on a string, got int"]),
    ('contains("a", "b")', ['contains() must be called on a string, e.g. s.contains("x")']),
    ('int(b"a") == 1', ["int() cannot convert bytes"]),
    ('"1".int() == 1', ["int() is not a method; write int(x)"]),
    ("int(1, 2) == 1", ["int() expects 1 argument, got 2"]),
    ("f(a,)", ['does not parse: unexpected ")" at column 5']),
    (
        'events.hasReply("a"',
        ['does not parse: expected ")" but found end of expression at column 20'],
    ),
    ('vars.x == "unterminated', ["does not parse: unterminated string starting at column 11"]),
    ("M{f: 1}", ["does not parse: message construction is not supported at column 2"]),
]


@pytest.mark.parametrize(("source", "expected"), ERRORS)
def test_each_error_class_has_its_message(source: str, expected: list[str]) -> None:
    assert problems(source) == expected


def test_all_problems_are_reported_in_source_order() -> None:
    source = 'foo && events.hasReply("nope") && run.visits(1) > "x" && bar(1)'
    assert problems(source) == [
        "unknown identifier 'foo'",
        "events.hasReply refers to unknown step 'nope'",
        "run.visits expects a string step id, got int",
        "operator > cannot be applied to int and string",
        "unknown function 'bar'",
    ]


def test_a_repeated_mistake_is_reported_once() -> None:
    assert problems("foo && foo || foo") == ["unknown identifier 'foo'"]


def test_a_mistake_does_not_cascade_into_type_errors() -> None:
    # foo is unknown: it must not also make "+", "filter()" or the result type complain.
    assert problems("(foo + 1).filter(x, x) == foo") == ["unknown identifier 'foo'"]


def test_problems_are_celproblem_values() -> None:
    assert check_condition("nope", step_ids=frozenset()) == [
        CelProblem("unknown identifier 'nope'")
    ]
    assert check_condition('events.hasOpen("a")', step_ids=frozenset({"a"})) == []


def test_step_ids_come_from_the_caller() -> None:
    source = 'events.hasReply("intro-email")'
    assert check_condition(source, step_ids=frozenset({"intro-email"})) == []
    assert check_condition(source, step_ids=frozenset()) == [
        CelProblem("events.hasReply refers to unknown step 'intro-email'")
    ]


def test_computed_step_ids_are_not_second_guessed() -> None:
    assert problems('events.hasReply(vars.step) && run.visits("a" + "b") > 0') == []


def test_comprehension_variables_are_scoped_but_rooted_names_skip_them() -> None:
    assert problems("[1].all(contact, contact > 0)") == []
    # A leading dot resolves in the root scope: the environment's contact, a map.
    assert problems("[1].all(contact, .contact.x == 1)") == []
    assert problems("[1].all(contact, .contact > 0)") == [
        "operator > cannot be applied to map(string, dyn) and int"
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('bool("true")', 'bool() is not available at run time; compare instead, e.g. x == "true"'),
        ('matches("abc", "^a")', 'matches() must be called on a string, e.g. s.matches("x")'),
        ('string(true) == "true"', "string() cannot convert bool"),
    ],
)
def test_spec_functions_the_runtime_lacks_are_rejected(source: str, message: str) -> None:
    with pytest.raises(RuntimeError, match="Undefined variable or function"):
        cel.evaluate(source)
    assert problems(source) == [message]


CLOSED = [
    "[1,2].map(x, x * 2).size() == 2",
    "[1, 2, 3].map(x, x > 1, x * 2) == [4, 6]",
    "[1, 2, 3].filter(x, x % 2 == 1).size() == 2",
    "0x1F == 31 && 3u > 0x2u && 1 < 1.5 && 2u > 1",
    "\"a\\tb\\u00e9\\x41\\101\" == 'a\\tbéAA'",
    'r"\\d+" == "\\\\d+"',
    'has(contact.tier) && contact.tier == "gold" && "vip" in contact.tags',
    "vars.score > 5 && vars.a.b == 1 && !has(vars.missing)",
    '["a"].all(k, k == "a") && "x" in {"x": 1} && 1 in [1, 2]',
    'int("3") == 3 && double(1) == 1.0 && string(1) == "1" && bytes("a") == b"a"',
    "1 + 2 * 3 - 4 / 2 % 3 == 5 && -9223372036854775808 < 0",
    "(true ? [1] : []).map(x, x + 1) == [2] && (false ? null : true)",
]


@pytest.mark.parametrize("source", CLOSED)
def test_accepted_conditions_evaluate_to_true_at_runtime(source: str) -> None:
    context = {
        "contact": {"tier": "gold", "tags": ["new", "vip"]},
        "vars": {"score": 7, "a": {"b": 1}},
    }
    assert problems(source) == []
    assert cel.evaluate(source, context) is True


# --- the parser -------------------------------------------------------------------------


def test_precedence_and_associativity() -> None:
    assert parse("1 + 2 * 3") == Binary(
        "+",
        Literal("int", 1, 0),
        Binary("*", Literal("int", 2, 4), Literal("int", 3, 8), 6),
        2,
    )
    assert parse("a - b - c") == Binary(
        "-", Binary("-", Ident("a", 0), Ident("b", 4), 2), Ident("c", 8), 6
    )
    assert parse("a || b && c") == Binary(
        "||", Ident("a", 0), Binary("&&", Ident("b", 5), Ident("c", 10), 7), 2
    )
    assert parse("a ? b : c ? d : e") == Conditional(
        Ident("a", 0),
        Ident("b", 4),
        Conditional(Ident("c", 8), Ident("d", 12), Ident("e", 16), 10),
        2,
    )
    assert parse("a < b == c") == Binary(
        "==", Binary("<", Ident("a", 0), Ident("b", 4), 2), Ident("c", 9), 6
    )


def test_member_chains_calls_and_indexing() -> None:
    assert parse("a.b.f(1)[0]") == Index(
        Call(Select(Ident("a", 0), "b", 2), "f", (Literal("int", 1, 6),), 4),
        Literal("int", 0, 9),
        8,
    )
    assert parse("f(x, y)") == Call(None, "f", (Ident("x", 2), Ident("y", 5)), 0)
    assert parse(".a.b") == Select(Ident("a", 0, rooted=True), "b", 3)
    assert parse("[1, 'x']") == ListExpr((Literal("int", 1, 1), Literal("string", "x", 4)), 0)
    assert parse("{'k': true}") == MapExpr(
        ((Literal("string", "k", 1), Literal("bool", True, 6)),), 0
    )


def test_minus_before_a_number_is_part_of_the_literal() -> None:
    assert parse("-5") == Literal("int", -5, 0)
    assert parse("--5") == Unary("-", Unary("-", Literal("int", 5, 2), 1), 0)
    assert parse("-x") == Unary("-", Ident("x", 1), 0)
    assert parse("!-1") == Unary("!", Literal("int", -1, 1), 0)
    assert parse("!!a") == Unary("!", Unary("!", Ident("a", 2), 1), 0)
    assert parse("1 -1") == Binary("-", Literal("int", 1, 0), Literal("int", 1, 3), 2)


LITERALS = [
    ("0x1F", "int", 31),
    ("007", "int", 7),
    ("1u", "uint", 1),
    ("0xFFu", "uint", 255),
    ("1.5", "double", 1.5),
    ("1e3", "double", 1000.0),
    (".5", "double", 0.5),
    ("2.5E-1", "double", 0.25),
    ('"a\\tb"', "string", "a\tb"),
    ("'\\x41\\101\\u00e9\\U0001F600'", "string", "AAé😀"),
    ('"\\a\\b\\f\\n\\r\\t\\v\\\\\\?\\`\\"\\\'"', "string", "\a\b\f\n\r\t\v\\?`\"'"),
    ('"\\303\\277"', "string", "Ã¿"),
    ('r"\\d\\n"', "string", "\\d\\n"),
    ("'''x''x'''", "string", "x''x"),
    ('"""a\nb"""', "string", "a\nb"),
    ('b"\\xff\\377"', "bytes", b"\xff\xff"),
    ('b"ÿ"', "bytes", b"\xc3\xbf"),
    ("bR'\\x'", "bytes", b"\\x"),
    ("true", "bool", True),
    ("null", "null", None),
    ("-9223372036854775808", "int", -(2**63)),
    ("18446744073709551615u", "uint", 2**64 - 1),
]


@pytest.mark.parametrize(("source", "kind", "value"), LITERALS)
def test_literals_decode_like_the_runtime(source: str, kind: str, value: object) -> None:
    literal = parse(source)
    assert isinstance(literal, Literal)
    assert (literal.kind, literal.value) == (kind, value)
    assert cel.evaluate(source) == value


SYNTAX_ERRORS = [
    ("(a + b))", 'unexpected ")" at column 8'),
    ("events.hasReply(", "unexpected end of expression at column 17"),
    ("vars.x == 'abc", "unterminated string starting at column 11"),
    ('"""never closed', "unterminated string starting at column 1"),
    ('"line\nbreak"', "unterminated string starting at column 1"),
    ('"\\q"', 'invalid escape sequence "\\q" at column 2'),
    ('"\\x4"', 'invalid escape sequence "\\x4" at column 2'),
    ('b"\\u00ff"', '"\\u" escapes are not allowed in bytes literals at column 3'),
    ('"\\ud800"', 'invalid unicode code point "\\ud800" at column 2'),
    ("9223372036854775808", "int literal out of range at column 1"),
    ("18446744073709551616u", "uint literal out of range at column 1"),
    ("1e999", "double literal out of range at column 1"),
    ("if", 'reserved word "if" cannot be used as a name at column 1'),
    ("while(x)", 'reserved word "while" cannot be used as a name at column 1'),
    ("[1].all(var, true)", 'reserved word "var" cannot be used as a name at column 9'),
    ("a.in", 'expected a field name after "." but found "in" at column 3'),
    ("a.?b", 'expected a field name after "." but found "?" at column 3'),
    ("a ? b ? c : d : e", 'expected ":" but found "?" at column 7'),
    ("a = 1", 'unexpected character "=" (did you mean "=="?) at column 3'),
    ("a & b", 'unexpected character "&" (did you mean "&&"?) at column 3'),
    ("a # b", 'unexpected character "#" at column 3'),
    ("!-x", 'unexpected "-" at column 2'),
    ("(f)(x)", 'unexpected "(" at column 4'),
    ('"a" "b"', 'unexpected string "b" at column 5'),
    ("a[1, 2]", 'expected "]" but found "," at column 4'),
    ("", "unexpected end of expression at column 1"),
    ("pkg.Msg{}", "message construction is not supported at column 8"),
    ("a &&\n  b ||\n  )", 'unexpected ")" at line 3, column 3'),
]


@pytest.mark.parametrize(("source", "message"), SYNTAX_ERRORS)
def test_syntax_errors_name_the_problem_and_column(source: str, message: str) -> None:
    assert syntax_message(source) == message


def test_syntax_error_carries_the_offset() -> None:
    with pytest.raises(CelSyntaxError) as caught:
        parse("a + )")
    assert caught.value.offset == 4
    assert str(caught.value) == 'unexpected ")" at column 5'


def test_reserved_words_may_follow_a_dot() -> None:
    assert parse("vars.if") == Select(Ident("vars", 0), "if", 5)


def test_the_spec_minimum_of_32_levels_parses() -> None:
    assert problems("(" * 32 + "true" + ")" * 32) == []
    assert problems(" || ".join(["false"] * 32)) == []
    assert problems("[" * 31 + "1" + "]" * 31 + " != []") == []


@pytest.mark.parametrize(
    "source",
    [
        "(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1),
        "(" * 5000,
        "!" * 5000 + "true",
        "1" + " + 1" * 5000 + " > 0",
        "a" + ".b" * 5000,
    ],
)
def test_deep_nesting_is_a_syntax_error_not_a_crash(source: str) -> None:
    assert "nests deeper than" in syntax_message(source)


# --- agreement with the runtime ---------------------------------------------------------

RUNTIME_VALID = [
    *VALID,
    "[,]",  # the grammar's optional trailing comma, allowed alone as in cel-go
    "a.b.if == 1",
    "1 < 2 < 3",
    '"""a""b""" == \'\'',
    "- 9223372036854775808 < 0",
]

RUNTIME_INVALID = [
    "f(a,)",
    "(a",
    "a ?",
    "a ? b",
    '"unterminated',
    "'''never",
    "1 = 1",
    "a & b",
    "a.in",
    "a.true",
    "if",
    "for(1)",
    "!-x",
    "-!x",
    "0X1F",
    '"\\q"',
    '"\\400"',
    '"\\ud800"',
    'b"\\u00ff"',
    "9223372036854775808",
    "0x8000000000000000",
    "18446744073709551616u",
    "1e999",
    "1 +",
    "a[1, 2]",
    "rb'x'",
    "a.?b",
    "a[?0]",
    "(f)(x)",
    "1.",
    "1.5u",
    "$",
    "",
    "a ? b ? c : d : e",
]


@pytest.mark.parametrize("source", RUNTIME_VALID)
def test_runtime_also_accepts_valid_expressions(source: str) -> None:
    parse(source)
    assert cel.compile(source) is not None


@pytest.mark.parametrize("source", RUNTIME_INVALID)
def test_runtime_also_rejects_invalid_syntax(source: str) -> None:
    with pytest.raises(ValueError, match="Failed to parse"):
        cel.compile(source)
    found = problems(source)
    assert len(found) == 1
    assert found[0].startswith("does not parse: ")


# --- properties -------------------------------------------------------------------------

CEL_FRAGMENTS = [
    *"()[]{}.,:?!-+*/%<>=&|'\"\\ \nrbux0123456789e",
    "==", "&&", "||", "in", "true", "null", "a", "events", "has", "0x", "1u", ".5",
    '"""', "'''", "\\u", "\\x", "//",
]  # fmt: skip
CEL_ISH = st.lists(st.sampled_from(CEL_FRAGMENTS), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), CEL_ISH))
def test_parser_only_ever_raises_cel_syntax_error(source: str) -> None:
    try:
        parse(source)
    except CelSyntaxError as err:
        assert err.message
        assert 0 <= err.offset <= len(source)
    found = check_condition(source, step_ids=STEPS)
    assert all(isinstance(p, CelProblem) and p.message for p in found)


STEP_LITERALS = st.sampled_from(sorted(STEPS)).map(lambda s: f'"{s}"')
LEAVES: dict[str, st.SearchStrategy[str]] = {
    "int": st.one_of(
        st.integers(0, 10**6).map(str),
        st.integers(0, 255).map(hex),
        STEP_LITERALS.map(lambda s: f"run.visits({s})"),
    ),
    "double": st.sampled_from(["1.5", ".5", "1e3", "2.0", "0.25e-2"]),
    "string": st.one_of(
        st.sampled_from(['"abc"', "'x'", 'r"\\d"', '"""t"""', '"\\u00e9\\n"', "''"]),
        STEP_LITERALS.map(lambda s: f"events.callOutcome({s})"),
    ),
    "bool": st.one_of(
        st.sampled_from(["true", "false", "has(contact.tier)"]),
        st.tuples(
            st.sampled_from(["hasOpen", "hasReply", "hasClick", "hasBounce"]), STEP_LITERALS
        ).map(lambda t: f"events.{t[0]}({t[1]})"),
        STEP_LITERALS.map(lambda s: f'events.hasEvent("email.opened", {s})'),
    ),
    "list": st.sampled_from(["[1, 2, 3]", "[0]", "[]"]),
}


@cache
def typed(kind: str, depth: int) -> st.SearchStrategy[str]:
    """Well-typed expressions of ``kind``, nested at most ``depth`` deep."""
    if depth == 0:
        return LEAVES[kind]

    def sub(k: str) -> st.SearchStrategy[str]:
        return typed(k, depth - 1)

    def ternary(k: str) -> st.SearchStrategy[str]:
        return st.tuples(sub("bool"), sub(k), sub(k)).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})")

    def binary(k: str, ops: str) -> st.SearchStrategy[str]:
        return st.tuples(sub(k), st.sampled_from(ops.split()), sub(k)).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )

    composite: dict[str, list[st.SearchStrategy[str]]] = {
        "int": [
            binary("int", "+ - * / %"),
            sub("int").map(lambda e: f"-({e})"),
            sub("string").map(lambda e: f"size({e})"),
            sub("list").map(lambda e: f"{e}.size()"),
            sub("double").map(lambda e: f"int({e})"),
            ternary("int"),
        ],
        "double": [
            binary("double", "+ - * /"),
            sub("double").map(lambda e: f"-({e})"),
            sub("int").map(lambda e: f"double({e})"),
            ternary("double"),
        ],
        "string": [
            binary("string", "+"),
            sub("int").map(lambda e: f"string({e})"),
            ternary("string"),
        ],
        "bool": [
            binary("bool", "&& ||"),
            binary("int", "< <= > >= == !="),
            binary("string", "< == !="),
            binary("double", "> <="),
            st.tuples(sub("int"), sub("double")).map(lambda t: f"({t[0]} < {t[1]})"),
            sub("bool").map(lambda e: f"!({e})"),
            st.tuples(sub("int"), sub("list")).map(lambda t: f"({t[0]} in {t[1]})"),
            st.tuples(sub("list"), sub("int")).map(lambda t: f"{t[0]}.exists(x, x > {t[1]})"),
            sub("list").map(lambda e: f"{e}.all(x, x >= 0)"),
            st.tuples(
                sub("string"), st.sampled_from(["startsWith", "contains"]), sub("string")
            ).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
            ternary("bool"),
        ],
        "list": [
            binary("list", "+"),
            sub("list").map(lambda e: f"{e}.map(x, x * 2)"),
            sub("list").map(lambda e: f"{e}.filter(x, x % 2 == 0)"),
            st.tuples(sub("int"), sub("int")).map(lambda t: f"[{t[0]}, {t[1]}]"),
        ],
    }
    return st.one_of(LEAVES[kind], *composite[kind])


@settings(max_examples=300, deadline=None)
@given(typed("bool", 3))
def test_every_generated_boolean_expression_is_accepted(source: str) -> None:
    assert check_condition(source, step_ids=STEPS) == []
    assert cel.compile(source) is not None


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["int", "double", "string"]).flatmap(
        lambda k: typed(k, 2).map(lambda e: (k, e))
    )
)
def test_generated_non_boolean_expressions_are_rejected_with_their_type(
    kind_and_source: tuple[str, str],
) -> None:
    kind, source = kind_and_source
    assert problems(source) == [f"condition must be a boolean, got {kind}"]


@pytest.mark.parametrize(
    "source",
    [
        "contact.exists(k, contact[k] > 5)",
        'contact.tags.exists(t, t == "vip")',
        '{"a": 1}.all(k, k == "a")',
        "vars.items.exists_one(x, x == 1)",
    ],
)
def test_every_comprehension_over_a_map_or_untyped_value_is_rejected(source: str) -> None:
    """The runtime visits map entries in random order: even all()/exists() can then
    meet an erroring element first in one process and not in another."""
    name = source.rsplit(".", maxsplit=1)[-1].split("(", maxsplit=1)[0]
    assert problems(source) == [
        f"{name}() over a map or an untyped value is order-dependent; "
        "range over a list literal, or test membership with `in`"
    ]
