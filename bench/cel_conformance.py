"""How much of Google's CEL conformance suite DEE's conditions accept and get right (issue 23).

Reads cel-spec's simple conformance tests (``tests/simple/testdata/*.textproto`` of
github.com/google/cel-spec; not shipped with DEE: docs/cel.md says how to get them) and
keeps the tests that fit a plan condition — *expressions that produce a value and need
no bindings, containers or proto messages*. A test is selected when all of these hold:

1. it expects a value: its matcher is ``value``, ``typed_result`` (its ``result``), or
   absent (the suite's default: ``true``); tests expecting an error, an unknown, or
   only a type (``check_only``) are left out;
2. it has no ``bindings``, no ``type_env`` (declared variables or functions), no
   ``container`` and no ``locale``;
3. it runs the standard pipeline: neither ``disable_check`` (the suite's mark of an
   expression a type checker is expected to refuse) nor ``disable_macros``;
4. it needs no proto message: its expected value holds no ``object_value`` or
   ``enum_value``, and outside string literals its expression builds no message
   (``Name{...}``) and names no protobuf type (``google.protobuf.*``, ``cel.expr.*``,
   ``TestAllTypes``, ``NestedMessage``, ``NestedEnum``, ``GlobalEnum``).

Each selected expression is put to each implementation (``bench.cel_implementations``):
*accepted* when DEE's static check lets it through (``dee plan validate``, less the rule
that a whole condition be boolean), *correct* when it also evaluates, on empty data, to
the expected value: CEL equality with types kept apart (``1``, ``1u``, ``1.0`` and
``true`` differ; ``int`` and ``uint`` are told apart by the checker's static type, as
both bindings return a Python ``int``), lists in order, maps in any order, NaN equal
to NaN. The headline is *correct / selected*.

    python -m bench.cel_conformance --testdata DIR [--impl NAME ...] [--files GLOB]
        [--failures N] [--json PATH]

Exits 2 with a message when DIR holds no ``.textproto`` file or one does not parse.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cel_implementations import FACTORIES, EvalError, Implementation, recorded
from bench.textproto import Message, TextFormatError, parse

# --- the tests ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One conformance test: where it is, its expression, and what it should give.

    ``excluded`` names the selection rule that leaves it out, ``""`` when selected;
    ``expected`` is the canonical form of the expected value (``canonical``) and
    ``kind`` its CEL type name (``int``, ``uint``, ``list`` ...).
    """

    file: str
    section: str
    name: str
    expr: str
    excluded: str
    expected: Any = None
    kind: str = ""


class Unsupported(Exception):
    """An expected value the measurement does not compare (a proto message, an enum)."""


_RESULTS_OUT_OF_SCOPE = ("eval_error", "any_eval_errors", "unknown", "any_unknowns")
_PROTO_NAMES = re.compile(
    r"\b(?:google\.protobuf|cel\.expr)\b|\b(?:TestAllTypes|NestedMessage|NestedEnum|GlobalEnum)\b"
    r"|\b(?!in\b)[A-Za-z_][\w.]*\s*\{"
)
# String literals of CEL (raw or not, triple-quoted or not), blanked before looking for
# message names, so that ``'TestAllTypes{}'`` as text does not count.
_CEL_STRING = re.compile(
    r"""[rRbB]{0,2}(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")""",
    re.S,
)


def exclusion(test: Message) -> str:
    """The first selection rule ``test`` breaks (the module docstring), or ``""``."""
    present = test.names()
    for matcher in _RESULTS_OUT_OF_SCOPE:
        if matcher in present:
            return f"expects {matcher}"
    if test.flag("check_only"):
        return "check_only"
    for needed in ("bindings", "type_env", "container", "locale"):
        if needed in present and test.one(needed) not in (b"", ""):
            return needed
    for flag in ("disable_check", "disable_macros"):
        if test.flag(flag):
            return flag
    if _PROTO_NAMES.search(_CEL_STRING.sub('""', test.text("expr"))):
        return "proto message"
    return ""


def _expected_value(test: Message) -> Message | None:
    value = test.one("value")
    if isinstance(value, Message):
        return value
    typed = test.one("typed_result")
    if isinstance(typed, Message):
        result = typed.one("result")
        return result if isinstance(result, Message) else None
    return None  # no matcher: the suite expects true


def expected(value: Message | None) -> tuple[Any, str]:
    """The canonical form and CEL type name of a ``cel.expr.Value`` (``None``: ``true``).

    Raises:
        Unsupported: it holds a proto message or an enum.
    """
    if value is None:
        return ("bool", True), "bool"
    for name, raw in value.fields:
        text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        match name:
            case "null_value":
                return ("null",), "null_type"
            case "bool_value":
                return ("bool", text == "true"), "bool"
            case "int64_value" | "uint64_value":
                return ("int", int(str(text))), "int" if name == "int64_value" else "uint"
            case "double_value":
                return canonical(float(str(text))), "double"
            case "string_value":
                return ("string", text), "string"
            case "bytes_value":
                return ("bytes", raw if isinstance(raw, bytes) else b""), "bytes"
            case "type_value":
                return ("type", str(text)), "type"
            case "list_value" if isinstance(raw, Message):
                items = tuple(expected(v)[0] for v in raw.messages("values"))
                return ("list", items), "list"
            case "map_value" if isinstance(raw, Message):
                return ("map", frozenset(_entry(e) for e in raw.messages("entries"))), "map"
            case _:
                raise Unsupported(name)
    return ("bool", False), "bool"  # an empty Value: proto3's zero value


def _entry(entry: Message) -> tuple[Any, Any]:
    key, value = entry.one("key"), entry.one("value")
    if not isinstance(key, Message) or not isinstance(value, Message):
        raise Unsupported("map entry")
    return expected(key)[0], expected(value)[0]


def canonical(value: Any) -> Any:
    """A Python value an implementation returned, as a hashable form compared to the
    expected one: tagged by CEL kind, so ``True``, ``1`` and ``1.0`` stay apart."""
    match value:
        case None:
            return ("null",)
        case bool():
            return ("bool", value)
        case int():
            return ("int", value)
        case float():
            return ("double", "nan") if math.isnan(value) else ("double", value)
        case str():
            return ("string", value)
        case bytes() | bytearray():
            return ("bytes", bytes(value))
        case list() | tuple():
            return ("list", tuple(canonical(v) for v in value))
        case dict():
            return ("map", frozenset((canonical(k), canonical(v)) for k, v in value.items()))
    if type(value).__name__ == "Type" and hasattr(value, "name"):  # cel_expr_python's
        name = value.name().split("<")[0]  # ``LIST<DYN>``: the type ``list``
        return ("type", _TYPE_NAMES.get(name, name))
    return ("other", type(value).__name__, repr(value))


# cel_expr_python names a type value in capitals (``INT``, ``MAP<DYN, DYN>``); the
# suite by its CEL name. Message types keep their full names.
_TYPE_NAMES = {
    "BOOL": "bool", "BYTES": "bytes", "DOUBLE": "double", "INT": "int", "UINT": "uint",
    "STRING": "string", "NULL": "null_type", "TYPE": "type", "LIST": "list", "MAP": "map",
    "TIMESTAMP": "google.protobuf.Timestamp", "DURATION": "google.protobuf.Duration",
}  # fmt: skip


def load(directory: Path, pattern: str) -> list[Case]:
    """Every test of the ``.textproto`` files of ``directory`` matching ``pattern``.

    Raises:
        TextFormatError: a file does not parse (the message names it and the line).
    """
    cases = []
    for path in sorted(directory.glob(pattern)):
        try:
            document = parse(path.read_text(encoding="utf-8"))
        except (TextFormatError, UnicodeDecodeError) as err:
            raise TextFormatError(f"{path.name}: {err}") from None
        for section in document.messages("section"):
            for test in section.messages("test"):
                cases.append(_case(path.stem, section.text("name"), test))
    return cases


def _case(file: str, section: str, test: Message) -> Case:
    name, expr = test.text("name"), test.text("expr")
    excluded = exclusion(test)
    if excluded:
        return Case(file, section, name, expr, excluded)
    try:
        value, kind = expected(_expected_value(test))
    except Unsupported:
        return Case(file, section, name, expr, "proto message")
    return Case(file, section, name, expr, "", value, kind)


# --- the measurement ---------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What one implementation did with one case."""

    case: Case
    verdict: str  # "correct", "rejected", "wrong value", "eval error"
    detail: str = ""


@dataclass(slots=True)
class Tally:
    """Outcomes of one implementation, by file and overall; ``alone``: its evaluator's
    on every selected case with no static check (``Implementation.evaluate_alone``)."""

    implementation: Implementation
    outcomes: list[Outcome] = field(default_factory=list)
    alone: list[Outcome] = field(default_factory=list)

    def count(self, file: str | None = None) -> Counter[str]:
        return Counter(o.verdict for o in self.outcomes if file in (None, o.case.file))


def judge(implementation: Implementation, case: Case) -> Outcome:
    """Put ``case`` to ``implementation``: rejected, or evaluated right or wrong."""
    reason = implementation.accept(case.expr)
    if reason is not None:
        return Outcome(case, "rejected", reason.splitlines()[0])
    return _evaluated(implementation, implementation.evaluate, case)


def _evaluated(
    implementation: Implementation, evaluate: Callable[[str], Any], case: Case
) -> Outcome:
    try:
        got = canonical(evaluate(case.expr))
    except EvalError as err:
        return Outcome(case, "eval error", str(err).splitlines()[0] if str(err) else "")
    if got == case.expected and _same_numeric_kind(implementation, case):
        return Outcome(case, "correct")
    return Outcome(case, "wrong value", f"got {_show(got)}, expected {_show(case.expected)}")


def _same_numeric_kind(implementation: Implementation, case: Case) -> bool:
    if case.kind not in ("int", "uint"):
        return True
    static = implementation.static_type(case.expr)
    return static not in ("int", "uint") or static == case.kind


def _show(form: Any) -> str:
    text = repr(form)
    return text if len(text) <= 80 else text[:77] + "..."


def measure(implementation: Implementation, cases: Iterable[Case]) -> Tally:
    tally = Tally(implementation)
    selected = [case for case in cases if not case.excluded]
    tally.outcomes = [judge(implementation, case) for case in selected]
    alone = implementation.evaluate_alone
    if alone is not None:
        tally.alone = [_evaluated(implementation, alone, case) for case in selected]
    return tally


# --- the report --------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


# The files that test a CEL extension, by the extension's name: the standard language's
# figure leaves them out; those whose extension DEE declares (``ENABLED``: the strings and
# optional extensions of ``interpreter/cel_env.py``) count in the second figure.
EXTENSION_FILES = {
    "bindings_ext": "bindings", "block_ext": "block", "encoders_ext": "encoders",
    "math_ext": "math", "network_ext": "network", "proto2_ext": "proto",
    "optionals": "optional", "macros2": "two-variable comprehensions",
    "string_ext": "strings",
}  # fmt: skip
ENABLED = frozenset({"strings", "optional"})
STANDARD = "standard CEL"
WITH_ENABLED = "standard CEL and the strings and optional extensions"
EVERYTHING = "everything selected, every extension"


def groups(cases: Iterable[Case]) -> dict[str, list[Case]]:
    """The selected cases: the standard language's (the headline), with the extensions
    DEE declares, and all of them."""
    selected = [c for c in cases if not c.excluded]
    return {
        STANDARD: [c for c in selected if c.file not in EXTENSION_FILES],
        WITH_ENABLED: [c for c in selected if EXTENSION_FILES.get(c.file, "strings") in ENABLED],
        EVERYTHING: selected,
    }


def figures(tally: Tally, group: list[Case]) -> dict[str, int]:
    """Selected, accepted and correct counts of ``tally`` over ``group``."""
    names = {(c.file, c.section, c.name) for c in group}
    verdicts = Counter(
        o.verdict for o in tally.outcomes if (o.case.file, o.case.section, o.case.name) in names
    )
    return {
        "selected": len(group),
        "accepted": len(group) - verdicts["rejected"],
        "correct": verdicts["correct"],
        "rejected": verdicts["rejected"],
        "wrong value": verdicts["wrong value"],
        "eval error": verdicts["eval error"],
    }


def report(cases: list[Case], tallies: list[Tally], failures: int) -> str:
    """The figures as text: what was selected, then per implementation and file."""
    selected = [c for c in cases if not c.excluded]
    reasons = Counter(c.excluded for c in cases if c.excluded)
    lines = [
        f"{len(cases)} tests read, {len(selected)} selected; left out: "
        + ", ".join(f"{reason} {n}" for reason, n in reasons.most_common()),
    ]
    files = sorted({c.file for c in selected})
    for tally in tallies:
        lines += ["", f"{tally.implementation.name} ({tally.implementation.version})"]
        for label, group in groups(cases).items():
            n = figures(tally, group)
            lines.append(
                f"  {label}: {n['selected']} selected, accepted {n['accepted']} "
                f"({_percent(n['accepted'], n['selected'])}), accepted and correct "
                f"{n['correct']} ({_percent(n['correct'], n['selected'])}); rejected "
                f"{n['rejected']}, wrong value {n['wrong value']}, eval error {n['eval error']}"
            )
        if tally.alone:
            alone = Counter(o.verdict for o in tally.alone if o.case.file not in EXTENSION_FILES)
            lines.append(
                f"  its evaluator alone on the {STANDARD} (no static check): "
                f"correct {alone['correct']}, wrong value {alone['wrong value']}, "
                f"eval error {alone['eval error']}"
            )
        lines.append(
            f"  {'file':<18}{'selected':>9}{'accepted':>9}{'correct':>9}{'wrong':>7}{'error':>7}"
        )
        for file in files:
            count = tally.count(file)
            n = sum(count.values())
            lines.append(
                f"  {file:<18}{n:>9}{n - count['rejected']:>9}{count['correct']:>9}"
                f"{count['wrong value']:>7}{count['eval error']:>7}"
            )
        shown = [o for o in tally.outcomes if o.verdict != "correct"][:failures]
        for outcome in shown:
            case = outcome.case
            lines.append(
                f"  {outcome.verdict}: {case.file}/{case.section}/{case.name}: "
                f"{case.expr!r}: {outcome.detail}"
            )
    return "\n".join(lines)


def summary(cases: list[Case], tallies: list[Tally]) -> dict[str, Any]:
    """The figures as JSON: per implementation, totals, per file, and each miss."""
    selected = [c for c in cases if not c.excluded]
    return {
        "tests": len(cases),
        "selected": len(selected),
        "excluded": dict(Counter(c.excluded for c in cases if c.excluded)),
        "implementations": [
            {
                "name": t.implementation.name,
                "version": t.implementation.version,
                "groups": {label: figures(t, group) for label, group in groups(cases).items()},
                "evaluator_alone": dict(Counter(o.verdict for o in t.alone)),
                "files": {f: dict(t.count(f)) for f in sorted({c.file for c in selected})},
                "misses": [
                    [o.case.file, o.case.name, o.case.expr, o.verdict, o.detail]
                    for o in t.outcomes
                    if o.verdict != "correct"
                ],
            }
            for t in tallies
        ],
    }


def recorded_report(name: str) -> str:
    """The recorded figures of an implementation no longer in the tree, as ``report``
    prints live ones (the old checker's, for before and after side by side)."""
    entry = recorded(name)
    if entry is None:
        return f"  no recorded figures for {name}"
    lines = [f"{name} ({entry['version']}), recorded:"]
    for label, counts in entry["groups"].items():
        shown = ", ".join(f"{key} {value}" for key, value in counts.items())
        lines.append(f"  {label}: {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cel_conformance", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--testdata",
        type=Path,
        required=True,
        help="cel-spec's tests/simple/testdata directory (docs/cel.md says how to get it)",
    )
    parser.add_argument(
        "--impl",
        action="append",
        choices=sorted(FACTORIES),
        help="an implementation to measure (repeatable; default: every one available)",
    )
    parser.add_argument("--files", default="*.textproto", help="which files (a glob)")
    parser.add_argument("--failures", type=int, default=0, help="list this many misses each")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    if not args.testdata.is_dir():
        print(f"cel_conformance: {args.testdata}: not a directory", file=sys.stderr)
        return 2
    try:
        cases = load(args.testdata, args.files)
    except TextFormatError as err:
        print(f"cel_conformance: {args.testdata}: {err}", file=sys.stderr)
        return 2
    if not cases:
        print(
            f"cel_conformance: {args.testdata}: no test in a {args.files} file "
            "(expected cel-spec's tests/simple/testdata)",
            file=sys.stderr,
        )
        return 2
    tallies = []
    for name in args.impl or sorted(FACTORIES):
        try:
            implementation = FACTORIES[name]()
        except ImportError as err:
            print(f"{name}: not available in this tree ({err})")
            print(recorded_report(name))
            continue
        tallies.append(measure(implementation, cases))
    print(report(cases, tallies, args.failures))
    if args.json is not None:
        args.json.write_text(json.dumps(summary(cases, tallies), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
