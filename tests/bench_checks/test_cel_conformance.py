"""The conformance measurement of issue 23 reads the suite's format and selects and
judges as docs/performance.md says (on a small file written here, not cel-spec's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cel_conformance import canonical, load, main
from bench.textproto import TextFormatError, parse

SUITE = r"""
# a comment
name: "mini"
section {
  name: "s"
  test { name: "plain" expr: "1 + 2" value: { int64_value: 3 } }
  test { name: "uint" expr: "3u" value: { uint64_value: 3 } }
  test: { name: "default_true" expr: "size('Zo\303\253') == 3" }
  test {
    name: "typed" expr: "[1, 2]"
    typed_result { result { list_value { values { int64_value: 1 } values { int64_value: 2 } } } }
  }
  test {
    name: "map" expr: "{'b': 2, 'a': 1}"
    value { map_value {
      entries { key { string_value: "a" } value { int64_value: 1 } }
      entries { key { string_value: "b" } value { int64_value: 2 } }
    } }
  }
  test { name: "wrong" expr: "1 + 1" value: { int64_value: 3 } }
  test { name: "rejected" expr: "1 + 'a'" value: { int64_value: 3 } }
  test { name: "error" expr: "1 / 0" eval_error { errors { message: "divide by zero" } } }
  test { name: "bound" expr: "x" bindings { key: "x" value { value { int64_value: 1 } } } }
  test { name: "unchecked" expr: "1 == 1.0" disable_check: true }
  test { name: "proto" expr: "TestAllTypes{}.single_int64 == 0" }
  test {
    name: "proto_value" expr: "1"
    value { object_value { [type.googleapis.com/google.protobuf.Int64Value] { value: 1 } } }
  }
  test { name: "text_not_proto" expr: "'TestAllTypes{}' != ''" }
  test { name: "in_map" expr: "1 in {1: 2}" }
}
"""


def test_the_reader_takes_the_text_format_with_its_escapes() -> None:
    message = parse(
        r"""a: "x\101\x42\u00e9\n" 'y' b < c: [1, -2.5e3] > [x.y/z.W] { d: NULL_VALUE }"""
    )
    assert message.one("a") == "xAB\u00e9\ny".encode()
    [b] = message.messages("b")
    assert b.all("c") == ["1", "-2.5e3"]
    assert message.messages("[x.y/z.W]")[0].one("d") == "NULL_VALUE"


def test_a_malformed_file_is_named_with_its_line() -> None:
    with pytest.raises(TextFormatError, match="line 2"):
        parse('a: 1\nb { c: "unterminated }')


def test_selection_follows_the_documented_rule(tmp_path: Path) -> None:
    (tmp_path / "mini.textproto").write_text(SUITE, encoding="utf-8")
    excluded = {case.name: case.excluded for case in load(tmp_path, "*.textproto")}
    assert excluded == {
        "plain": "", "uint": "", "default_true": "", "typed": "", "map": "", "wrong": "",
        "rejected": "", "error": "expects eval_error", "bound": "bindings",
        "unchecked": "disable_check", "proto": "proto message", "proto_value": "proto message",
        "text_not_proto": "", "in_map": "",
    }  # fmt: skip


def test_values_are_compared_with_their_cel_kinds() -> None:
    assert canonical(1) != canonical(1.0) != canonical(True)
    assert canonical(float("nan")) == canonical(float("nan"))
    assert canonical({"a": 1, "b": 2}) == canonical({"b": 2, "a": 1})
    assert canonical([1, 2]) != canonical([2, 1])


def test_the_command_judges_each_selected_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mini.textproto").write_text(SUITE, encoding="utf-8")
    out = tmp_path / "figures.json"
    assert main(["--testdata", str(tmp_path), "--impl", "cel-expr-python", "--json", str(out)]) == 0
    [google] = json.loads(out.read_text())["implementations"]
    misses = {name: verdict for _file, name, _expr, verdict, _detail in google["misses"]}
    assert misses == {"wrong": "wrong value", "rejected": "rejected"}
    assert google["groups"]["standard CEL"] == {
        "selected": 9, "accepted": 8, "correct": 7, "rejected": 1, "wrong value": 1,
        "eval error": 0,
    }  # fmt: skip
    assert "accepted and correct 7 (77.8 %)" in capsys.readouterr().out


def test_a_directory_without_the_suite_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--testdata", str(tmp_path)]) == 2
    assert "no test" in capsys.readouterr().err
    assert main(["--testdata", str(tmp_path / "absent")]) == 2
    assert "not a directory" in capsys.readouterr().err
