"""The old evaluator's CEL parser (``legacy_cel.syntax``), which replays runs recorded
before Google's CEL (issue 23): the AST it builds, its syntax errors, and agreement
with the runtime ``cel`` package on what parses and what literals mean. DEE's checker
rules are tested on the library (``test_cel_validate_google``).
"""

from __future__ import annotations

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter.legacy_cel.syntax import (
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


@pytest.mark.parametrize("source", RUNTIME_VALID)
def test_runtime_also_accepts_valid_expressions(source: str) -> None:
    parse(source)
    assert cel.compile(source) is not None


# --- properties -------------------------------------------------------------------------


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


@pytest.mark.parametrize("source", RUNTIME_INVALID)
def test_runtime_and_parser_both_reject_invalid_syntax(source: str) -> None:
    with pytest.raises(ValueError, match="Failed to parse"):
        cel.compile(source)
    with pytest.raises(CelSyntaxError):
        parse(source)


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
