"""Hostile plan documents are refused with a line naming the file and the key or field.

Issue 18, item 8: duplicate keys, YAML 1.1 look-alikes, deep nesting, over-long and
unsafe integers and lone surrogates once gave a silently different plan or a
traceback (or an error only at canonicalisation, after the run had started).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dee.documents import load_plan, read_document
from dee.errors import DocumentError
from tests.interpreter.helpers import ROOT

NOTIFICATION = (ROOT / "plans" / "notification.yaml").read_text()
NOTIFICATION_JSON = json.dumps(read_document(ROOT / "plans" / "notification.yaml"), indent=1)


def refused(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        load_plan(path)
    assert all(line.startswith(f"{path}: ") for line in caught.value.lines)
    return "\n".join(line.removeprefix(f"{path}: ") for line in caught.value.lines)


def test_a_second_steps_key_in_yaml_is_refused_not_taken(tmp_path: Path) -> None:
    text = NOTIFICATION + "steps:\n  - {type: end, id: done, outcome: done}\n"
    line = text.count("\n", 0, text.rindex("steps:")) + 1
    first = text.count("\n", 0, text.index("steps:")) + 1
    assert refused(tmp_path, "p.yaml", text) == (
        f"line {line} column 1: duplicate key 'steps' (first at line {first})"
    )


def test_a_duplicate_key_in_a_nested_yaml_mapping_is_refused(tmp_path: Path) -> None:
    text = NOTIFICATION.replace("duration: {days: 1}", "duration: {days: 1, days: 9}")
    assert "duplicate key 'days'" in refused(tmp_path, "p.yaml", text)


def test_a_duplicate_key_in_json_is_refused_with_its_line(tmp_path: Path) -> None:
    text = '{\n "id": "a",\n "version": 1,\n "id": "b"\n}'
    assert refused(tmp_path, "p.json", text) == (
        "line 4 column 6: duplicate key 'id' (first at line 2)"
    )


def test_the_same_key_in_sibling_json_objects_is_not_a_duplicate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_text(NOTIFICATION_JSON)
        assert load_plan(path).id == "account-notification"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # YAML 1.1 read 1:30 as 90 (base 60); under 1.2 it is the string "1:30".
        ("days: 1}", "days: 1:30}", "step 'wait-for-open': duration.days: Input should be"),
        ("opens: true", "opens: yes", "step 'notice': tracking.opens: Input should be"),
        ("opens: true", "opens: on", "step 'notice': tracking.opens: Input should be"),
        ("opens: true", "opens: Off", "step 'notice': tracking.opens: Input should be"),
    ],
)
def test_yaml_1_1_forms_are_strings_not_numbers_or_booleans(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert expected in refused(tmp_path, "p.yaml", NOTIFICATION.replace(old, new))


def test_yaml_resolves_scalars_by_the_1_2_core_schema(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "a: [1:30, yes, no, on, off, y, 0b101, 1_000, 2026-03-10, 010, 0o10, 0x10, +3]\n"
        "b: [true, False, TRUE, null, ~, '', 1.5, 1e3, -.inf]\n"
        "<<: {x: 1}\n"
    )
    with pytest.raises(DocumentError, match=r"b\[8\]: -inf is not a finite number"):
        read_document(path)
    path.write_text(path.read_text().replace("-.inf", "2.5"))
    data = read_document(path)
    strings = ["1:30", "yes", "no", "on", "off", "y", "0b101", "1_000", "2026-03-10"]
    assert data["a"] == [*strings, 10, "0o10", "0x10", 3]  # hex and octal stay text
    assert data["b"] == [True, False, True, None, None, "", 1.5, 1000.0, 2.5]
    assert data["<<"] == {"x": 1}  # no merge keys in YAML 1.2


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("p.yaml", "steps: " + "[" * 10_000 + "]" * 10_000),
        ("p.yaml", "steps:\n" + "".join("  " * i + "- \n" for i in range(100))),
        ("p.json", '{"steps": ' + "[" * 10_000 + "]" * 10_000 + "}"),
        ("p.json", '{"steps": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001),
    ],
)
def test_deep_nesting_is_refused_not_a_recursion_error(
    tmp_path: Path, name: str, text: str
) -> None:
    assert refused(tmp_path, name, text).endswith(": nesting deeper than 64 levels")


def test_sixty_four_levels_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text("[" * 64 + "]" * 64)
    value = read_document(path)
    for _ in range(63):
        value = value[0]
    assert value == []
    path.write_text("[" * 65 + "]" * 65)
    with pytest.raises(DocumentError, match="line 1 column 65: nesting deeper than 64"):
        read_document(path)


def test_a_5000_digit_number_is_refused_naming_the_field(tmp_path: Path) -> None:
    digits = "9" * 5000
    text = NOTIFICATION.replace("days: 1}", f"days: {digits}}}")
    assert refused(tmp_path, "p.yaml", text) == (
        "line 19: steps[1].duration.days: integer of 5000 digits is out of range "
        "(at most 2^53-1 in magnitude)"
    )
    assert refused(tmp_path, "p.json", '{"id": "a", "version": -' + digits + "}") == (
        "version: integer of 5000 digits is out of range (at most 2^53-1 in magnitude)"
    )


@pytest.mark.parametrize("name", ["p.yaml", "p.json"])
@pytest.mark.parametrize("number", ["9007199254740992", "-9007199254740992"])
def test_integers_beyond_2_53_are_refused_naming_the_field(
    tmp_path: Path, name: str, number: str
) -> None:
    text = NOTIFICATION.replace("version: 1", f"version: {number}")
    if name == "p.json":
        text = json.dumps(read_document(ROOT / "plans" / "notification.yaml")).replace(
            '"version": 1', f'"version": {number}'
        )
    assert refused(tmp_path, name, text) == (
        f"version: integer {int(number, 0)} is out of range (at most 2^53-1 in magnitude)"
    )


def test_2_53_minus_1_is_the_largest_integer_taken(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"a": 9007199254740991, "b": -9007199254740991}')
    assert read_document(path) == {"a": 2**53 - 1, "b": -(2**53 - 1)}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("p.json", '{"id": "a", "name": "x\\ud800"}', "name: string contains a lone surrogate"),
        (
            "p.json",
            '{"id": "a", "\\udfff": 1}',
            "(document): key '\\udfff' contains a lone surrogate",
        ),
        ("p.yaml", 'id: a\nname: "x\\ud800"\n', "name: string contains a lone surrogate"),
        ("p.yaml", 'id: a\nsteps: [{id: "\\udc00"}]\n', "steps[0].id: string contains a lone"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    message = refused(tmp_path, name, text)
    assert message.startswith(expected)
    message.encode("ascii")  # printable on any terminal


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("p.json", '{"id": NaN}', "id: nan is not a finite number"),
        ("p.json", '{"id": 1e999}', "id: inf is not a finite number"),
        ("p.yaml", "id: !!binary aGk=\n", "the tag '!!binary' does not fit this value"),
        ("p.yaml", "id: a\n1: b\n", "(document): key 1 is not a string"),
        (
            "p.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefg", "bcdefgh", strict=True)
            ),
            "more than 100000 values",
        ),
    ],
)
def test_values_that_cannot_be_canonicalised_are_refused(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    assert expected in refused(tmp_path, name, text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("id: &a [*a]\n", "line 1 column 9"),
        ("id: &a {k: [1, {j: *a}]}\n", "line 1 column 20"),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused_where_it_stands(
    tmp_path: Path, text: str, where: str
) -> None:
    # Found by the fuzz harness (bench/fuzzing): PyYAML builds a list that contains
    # itself, and counting its values up to the cap took seconds for ten bytes.
    assert refused(tmp_path, "p.yaml", text) == f"{where}: alias *a refers to itself"


@pytest.mark.parametrize(
    "value",
    [
        "!!set {x, y}", "!!timestamp 2026-03-10", "!!binary aGk=", "!!omap [{a: 1}]",
        "!!pairs [{a: 1}]", "!!int abc", "!!int 0x10", "!!float abc", "!!bool maybe",
        "!!null x", "!!map x", "!!seq x", "!local x", "!!python/object:os.system 1",
    ],
)  # fmt: skip
def test_tags_beyond_the_core_schema_are_refused_with_their_line(
    tmp_path: Path, value: str
) -> None:
    # ``!!set`` once gave a Python set (then a ValueError), ``!!int abc`` a ValueError.
    problem = refused(tmp_path, "d.yaml", f"id: p\nname: {value}\n")
    assert problem.startswith("line 2 column 7: the tag ") and "YAML 1.2 core" in problem


def test_core_tags_on_values_of_their_type_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("a: !!int 12\nb: !!bool true\nc: !!str 12\nd: !!float 1.5\ne: !!seq [1]\n")
    assert read_document(path) == {"a": 12, "b": True, "c": "12", "d": 1.5, "e": [1]}


def test_an_alias_used_after_its_anchor_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a: &a [1, {b: 2}]\nc: [*a, *a]\n")
    assert read_document(path) == {"a": [1, {"b": 2}], "c": [[1, {"b": 2}], [1, {"b": 2}]]}


# Fragments that reach the refusals above (and the parsers' own errors) when spliced in.
_FRAGMENTS = [
    "[", "]", "{", "}", ":", ",", "\n", "- ", "  ", '"', "'", "\\", "#", "&a ", "*a",
    "!!binary ", "!!set ", "!!int ", "!!map ", "!!timestamp ", "<<: ", "1:30", "yes", "0x10",
    "0o7", "9" * 30, "1e999",
    "\\ud800", '"\\ud800"', "steps: ", '"steps": ', "[" * 70, "{a: " * 70, "\t", "\x00",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    json_text=st.booleans(),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(_FRAGMENTS)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_documents_give_a_plan_or_a_document_error(
    json_text: bool, edits: list[tuple[float, int, str]]
) -> None:
    text = NOTIFICATION_JSON if json_text else NOTIFICATION
    for where, cut, fragment in edits:
        at = int(where * len(text))
        text = text[:at] + fragment + text[at + cut :]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("p.json" if json_text else "p.yaml")
        path.write_text(text, encoding="utf-8")
        try:
            plan = load_plan(path)
        except DocumentError as exc:
            assert exc.lines and all(line.startswith(f"{path}: ") for line in exc.lines)
            "\n".join(exc.lines).encode("utf-8")  # no lone surrogate reaches the terminal
        else:
            assert plan.content_hash.startswith("sha256:")  # canonicalisation cannot fail later


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    # Found by the fuzz harness: a 6 MB plan of small values kept `dee plan validate`
    # parsing for minutes before the value count refused it.
    from dee.strict_decode import MAX_DOCUMENT_BYTES

    text = "description: '" + "x" * MAX_DOCUMENT_BYTES + "'\n"
    assert refused(tmp_path, "p.yaml", text) == f"larger than {MAX_DOCUMENT_BYTES} bytes"


def test_a_yaml_text_of_too_many_values_is_refused_where_the_parser_passes_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not after reading it whole: the parser takes seconds for 100,000 values.
    from dee import strict_decode

    monkeypatch.setattr(strict_decode, "MAX_VALUES", 1000)
    text = "a: [" + "1," * 5000 + "1]\n"
    assert refused(tmp_path, "p.yaml", text) == "line 1 column 1999: more than 1000 values"


def test_windows_line_ends_are_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(NOTIFICATION_JSON.replace("\n", "\r\n").encode())
    assert load_plan(path).id == "account-notification"
    path.write_bytes(b'{\r\n"id": 1,\r\n"id": 2}')
    with pytest.raises(DocumentError) as caught:
        load_plan(path)
    assert caught.value.lines == (f"{path}: line 3 column 5: duplicate key 'id' (first at line 2)",)


_PAD = "#" + "x" * 130_000 + "\n"  # past FAST_PARSE_CHARS: libyaml scans and parses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "line 3 column 1: duplicate key 'a' (first at line 2)"),
        ("a: &x [*x]\n", "line 2 column 8: alias *x refers to itself"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "line 2 column 67: nesting deeper than 64 levels"),
        ("id: !!float x\n", "line 2 column 5: the tag '!!float' does not fit this value"),
        ("a: 0x10\na: 1\n", "line 3 column 1: duplicate key 'a' (first at line 2)"),
    ],
)
def test_a_big_yaml_text_is_held_to_the_same_rules(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert refused(tmp_path, "p.yaml", _PAD + text).startswith(expected)


def test_a_big_yaml_text_reads_as_a_small_one_does(tmp_path: Path) -> None:
    small, big = tmp_path / "small.yaml", tmp_path / "big.yaml"
    small.write_text(NOTIFICATION)
    big.write_text(_PAD + NOTIFICATION)
    assert read_document(big) == read_document(small)
    assert read_document(small)["version"] == 1  # 1.2 core: still an integer
