"""Strict decoding of YAML and JSON documents: hostile input is refused, never reinterpreted.

A plan is reviewed as text and then run as data, so the data must be what a
reader of the text sees. The rules (each refusal names the line, or the field):

* Duplicate keys are refused, in YAML and JSON alike (both libraries keep the
  last value silently: a second ``steps:`` would replace the reviewed ones).
* YAML plain scalars resolve by the YAML 1.2 core schema, not PyYAML's YAML 1.1:
  booleans are only ``true``/``false`` (also ``True``/``TRUE``/``False``/``FALSE``);
  null is ``null``/``Null``/``NULL``/``~``/empty; integers are decimal only
  (``[-+]?[0-9]+``: stricter than 1.2 core, which also reads ``0o``/``0x``, because a
  reviewer reading ``0x10`` should not get 16 silently); floats are decimal with an
  optional exponent, ``.inf`` and ``.nan``. Everything else is a string:
  ``yes``/``no``/``on``/``off``, sexagesimal ``1:30``, ``0b101``, ``0o10``, ``0x10``,
  ``1_000`` and timestamps stay text (and a schema that wants a number then says so).
  ``010`` is ten, as in YAML 1.2. There are no merge keys (``<<`` is an ordinary key).
* Nesting deeper than ``MAX_DEPTH`` levels is refused while the document is
  built (deeper input would exhaust Python's recursion limit).
* Every value must survive RFC 8785 canonicalisation later: integers beyond
  ±(2^53 - 1) (including ones too long for Python's digit limit), non-finite
  floats, strings or keys with lone surrogates, non-string keys and YAML-only
  types (``!!binary``, ``!!set``, ...) are refused, naming the field.
* A document of more than ``MAX_VALUES`` values (counting YAML aliases as often
  as they are used) is refused: aliases can expand a small text exponentially. A
  YAML text is refused as soon as its parser has met that many nodes: the pure-Python
  parser takes tens of microseconds a node, so a big document would otherwise be
  read whole, for seconds, before being refused. (``dee.documents`` also refuses a
  file over ``MAX_DOCUMENT_BYTES`` before decoding it.)
  An alias inside the node its anchor names (``a: &x [*x]``) is refused where it
  stands: it makes a value that contains itself, which no JSON can hold.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

MAX_DEPTH = 64
MAX_VALUES = 100_000
# A plan at every ceiling of ``interpreter.limits`` is a few hundred KB; contacts,
# variables and events files are smaller still.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_SAFE_INT = 2**53 - 1
# Python refuses int() of more than 4300 digits; anything past 20 is unsafe anyway.
_MAX_INT_CHARS = 24


class Refused(Exception):
    """A document is refused; ``where`` is ``line L column C`` (or empty), ``problem`` why."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


class _TooLong:
    """An integer literal too long to convert: reported with its field by ``check_values``."""

    def __init__(self, text: str, line: int | None = None) -> None:
        self.text = text
        self.line = line


def _shown(key: object) -> str:
    """A key as printable ASCII: messages go to terminals that cannot print lone surrogates."""
    return ascii(key)


# ---------------------------------------------------------------- YAML


def _line_col(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1} column {mark.column + 1}"


class StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core resolvers, a depth limit and no duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # The composer recurses once per level: count before descending.
        self._depth += 1
        self._nodes += 1
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        anchor: str | None = event.anchor
        mark: yaml.Mark = event.start_mark
        try:
            if self._depth > MAX_DEPTH:
                raise Refused(_line_col(mark), f"nesting deeper than {MAX_DEPTH} levels")
            if self._nodes > MAX_VALUES:
                raise Refused(_line_col(mark), f"more than {MAX_VALUES} values")
            if anchor is not None and isinstance(event, yaml.AliasEvent):
                if anchor in self._open_anchors:
                    # PyYAML would build a value that contains itself; counting its
                    # values (check_values) then took seconds for a ten-byte text.
                    raise Refused(_line_col(mark), f"alias *{anchor} refers to itself")
                node = super().compose_node(parent, index)
            elif anchor is not None:
                self._open_anchors.add(anchor)
                try:
                    node = super().compose_node(parent, index)
                finally:
                    self._open_anchors.discard(anchor)
            else:
                node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            _check_tag(self, node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
            if first is not key_node:
                raise Refused(
                    _line_col(key_node.start_mark),
                    f"duplicate key {_shown(key)} (first at line {first.start_mark.line + 1})",
                )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        text = str(self.construct_scalar(node))
        if len(text) > _MAX_INT_CHARS:
            return _TooLong(text, node.start_mark.line + 1)
        return int(text)

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return str(self.construct_scalar(node)).lower() == "true"


StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", StrictYamlLoader.construct_yaml_int)
StrictYamlLoader.add_constructor("tag:yaml.org,2002:bool", StrictYamlLoader.construct_yaml_bool)
# Replace (not extend) PyYAML's YAML 1.1 implicit resolvers with the 1.2 core schema's.
StrictYamlLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    StrictYamlLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


class FastStrictYamlLoader(StrictYamlLoader, CParser):
    """``StrictYamlLoader`` on libyaml's scanner and parser (``CParser``), for big texts.

    The pure-Python scanner takes tens of microseconds a value, seconds for a big
    document; libyaml is six times faster. Nodes are still composed and constructed by
    the Python classes above, where the rules are checked. Only big texts take it: its
    messages are vaguer (a ``\\ud800`` escape is "invalid Unicode character escape
    code" where the Python parser lets ``check_values`` name the field).
    """

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._nodes = 0
        self._open_anchors = set()

    # The event stream is libyaml's; everything above the events stays Python's.
    check_event = CParser.check_event
    peek_event = CParser.peek_event
    get_event = CParser.get_event
    dispose = CParser.dispose


# Texts up to this size take the Python parser (its messages are the more precise); a
# plan, a contact or an events file of a person's making is far smaller.
FAST_PARSE_CHARS = 128 * 1024


def decode_yaml(text: str) -> Any:
    """Decode one YAML document; raise ``Refused`` or ``yaml.YAMLError``."""
    loader_class = FastStrictYamlLoader if len(text) > FAST_PARSE_CHARS else StrictYamlLoader
    loader = loader_class(text)  # what yaml.load does, typed
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


_Y = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_Y + t for t in ("str", "int", "float", "bool", "null"))


def _check_tag(loader: StrictYamlLoader, node: yaml.Node) -> None:
    """Refuse what YAML 1.2's core schema does not have: tags beyond its seven types
    (``!!set``, ``!!timestamp``, ``!!binary``, ``!!omap``, local tags), a tag on the
    wrong kind of node (``!!map x``), and a typed scalar that is not of its type
    (``!!int abc``, ``!!int 0x10``): PyYAML would build sets and dates, or crash."""
    tag = node.tag
    if isinstance(node, yaml.MappingNode):
        fits = tag == _Y + "map"
    elif isinstance(node, yaml.SequenceNode):
        fits = tag == _Y + "seq"
    else:
        fits = tag in _SCALAR_TAGS
        if fits and tag != _Y + "str":
            plain = loader.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
            fits = plain == tag
    if not fits:
        raise Refused(
            _line_col(node.start_mark),
            f"the tag {_shown(tag.replace(_Y, '!!'))} does not fit this value"
            " (YAML 1.2 core types only)",
        )


# ---------------------------------------------------------------- JSON


def _position(s: str, pos: int) -> str:
    line = s.count("\n", 0, pos) + 1
    return f"line {line} column {pos - (s.rfind(chr(10), 0, pos) + 1) + 1}"


# The stdlib's pure-Python parsing pieces (public in the module, absent from typeshed).
_py_make_scanner: Callable[[Any], Any] = json.scanner.py_make_scanner  # type: ignore[attr-defined]
_json_array: Callable[..., Any] = json.decoder.JSONArray  # type: ignore[attr-defined]
_json_object: Callable[..., Any] = json.decoder.JSONObject  # type: ignore[attr-defined]


class _StrictJsonDecoder(json.JSONDecoder):
    """The pure-Python scanner with depth counting and duplicate-key detection.

    The C scanner offers no hook where a value's position is known; plans are small.
    """

    def __init__(self) -> None:
        super().__init__(parse_int=self._int)
        self._depth = 0
        self.parse_object = self._object
        self.parse_array = self._array
        self.scan_once = _py_make_scanner(self)

    @staticmethod
    def _int(text: str) -> Any:
        return _TooLong(text) if len(text) > _MAX_INT_CHARS else int(text)

    def _enter(self, s: str, pos: int) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise Refused(_position(s, pos), f"nesting deeper than {MAX_DEPTH} levels")

    def _array(self, s_and_end: tuple[str, int], scan_once: Any) -> Any:
        self._enter(s_and_end[0], s_and_end[1] - 1)
        try:
            return _json_array(s_and_end, scan_once)
        finally:
            self._depth -= 1

    def _object(
        self,
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: Callable[[str, int], Any],
        object_hook: Any,
        object_pairs_hook: Any,
        memo: Any = None,
    ) -> Any:
        s, start = s_and_end
        self._enter(s, start - 1)
        value_starts: list[int] = []

        def scan_value(string: str, idx: int) -> Any:
            # The stdlib reads each member's value through this: note where each one starts.
            value_starts.append(idx)
            return scan_once(string, idx)

        def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            seen: dict[str, int] = {}
            for i, (key, _) in enumerate(pairs):
                if key in seen:
                    # The ':' just before the value sits on the key's line.
                    colon = s.rfind(":", 0, value_starts[i])
                    first = s.count("\n", 0, s.rfind(":", 0, value_starts[seen[key]])) + 1
                    raise Refused(
                        _position(s, colon), f"duplicate key {_shown(key)} (first at line {first})"
                    )
                seen[key] = i
            return dict(pairs)

        try:
            return _json_object((s, start), strict, scan_value, None, pairs_hook, memo)
        finally:
            self._depth -= 1


def decode_json(text: str) -> Any:
    """Decode one JSON document; raise ``Refused`` or ``json.JSONDecodeError``."""
    return _StrictJsonDecoder().decode(text)


# ---------------------------------------------------------------- values


def _field(path: str, key: object) -> str:
    if isinstance(key, str) and key.isidentifier() and key.isascii():
        return f"{path}.{key}" if path else key
    return f"{path}[{_shown(key)}]"


def _surrogate(text: str) -> str | None:
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            return f"U+{ord(ch):04X}"
    return None


def check_values(data: Any) -> list[str]:
    """Every value that could not be canonicalised, as ``field: problem`` lines."""
    problems: list[str] = []
    count = 0
    # Explicit stack: depth is bounded by the decoders, the count by MAX_VALUES.
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return [f"more than {MAX_VALUES} values (YAML aliases count each time they are used)"]
        where = path or "(document)"
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, _TooLong):
            line = f"line {value.line}: " if value.line is not None else ""
            problems.append(
                f"{line}{where}: integer of {len(value.text.lstrip('+-'))} digits is out of range "
                f"(at most 2^53-1 in magnitude)"
            )
        elif isinstance(value, int):
            if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
                problems.append(
                    f"{where}: integer {value} is out of range (at most 2^53-1 in magnitude)"
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(f"{where}: {value} is not a finite number")
        elif isinstance(value, str):
            bad = _surrogate(value)
            if bad is not None:
                problems.append(f"{where}: string contains a lone surrogate ({bad})")
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            items = []
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(f"{where}: key {_shown(key)} is not a string")
                    continue
                bad = _surrogate(key)
                if bad is not None:
                    problems.append(f"{where}: key {_shown(key)} contains a lone surrogate ({bad})")
                    continue
                items.append((_field(path, key), item))
            stack.extend(reversed(items))
        else:
            problems.append(f"{where}: unsupported value of type {type(value).__name__}")
    return problems
