"""Mutating a valid document: structural edits on the decoded value, then on its text.

``mutated(doc)`` draws one to a few edits at random places of a JSON-like value:
drop a field, duplicate an element (a second step with the same id), add an unknown
field or a near-miss spelling of a known one, retype a value, put a hostile value
in, point a reference at another id (cycles, dangling gotos), blow a value up (long
text, thousands of elements) or nest it deep. ``rendered(value, suffix)`` writes it
as YAML or JSON text and ``corrupted(data)`` edits that text: duplicate a line (a
duplicate key), splice in YAML-only syntax (``0x10``, ``1:30``, anchors, tags,
recursive aliases), bytes that are not UTF-8, a byte-order mark, a cut.

Values too large or deep for the serialisers travel as ``Raw`` text, spliced into
the output verbatim (a 5,000-digit number, 10,000 levels of brackets).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

from bench.fuzzing import hostile

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Raw:
    """Text to appear verbatim where this value sits in the rendered document."""

    text: str


# Raw values the serialisers cannot produce: YAML 1.1 look-alikes, long numbers, depth.
RAW_VALUES: tuple[Raw, ...] = (
    Raw("0x10"),
    Raw("0o17"),
    Raw("1:30"),
    Raw("1_000"),
    Raw("+1"),
    Raw("010"),
    Raw(".inf"),
    Raw("-.nan"),
    Raw("yes"),
    Raw("~"),
    Raw("9" * 5000),
    Raw("9" * 25),
    Raw(str(2**53 + 1)),
    Raw("1e999"),
    Raw("[" * 10_000 + "]" * 10_000),
    Raw("[" * 65 + "1" + "]" * 65),
    Raw("{" + ", ".join(f'"k{i}": {i}' for i in range(2000)) + "}"),
)


def _paths(value: Any, prefix: Path = ()) -> list[Path]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def _nodes_past(value: Any, limit: int) -> bool:
    """Whether ``value`` has more than ``limit`` nodes (counting stops there)."""
    stack, count = [value], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


# What one input may weigh: past the documents' 1 MiB limit, short of gigabytes (30,000
# copies of a 70,000-character text were 2 GB, which only took time to write).
MAX_GROWN_CHARS = 4_000_000


def _copies(item: Any, wanted: int) -> int:
    """How many copies of ``item`` keep the document under ``MAX_GROWN_CHARS``."""
    if _nodes_past(item, 1000):
        return min(wanted, 10)
    size = len(json.dumps(item, default=repr))
    return max(1, min(wanted, MAX_GROWN_CHARS // max(1, size)))


def _get(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def _set(root: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _strings(value: Any) -> list[str]:
    """Every string in ``value`` (ids and references to point other references at)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _retyped(value: Any) -> list[Any]:
    """Same content, another JSON type."""
    if isinstance(value, str):
        return [[value], {"value": value}, 1, True, None, value.encode("unicode_escape").decode()]
    if isinstance(value, bool):
        return ["true", 1, [value]]
    if isinstance(value, int):
        return [str(value), [value], float(value)]
    if isinstance(value, float):
        return [str(value), [value], int(value) if math.isfinite(value) else 0]
    if isinstance(value, list):
        return [{"items": value}, json.dumps(value, default=repr), value[:1] if value else None]
    if isinstance(value, dict):
        return [list(value.values()), list(value.items()), json.dumps(value, default=repr)]
    return ["null", 0, []]


def _renamed(value: Any, old: str, new: str) -> Any:
    if value == old:
        return new
    if isinstance(value, dict):
        return {_renamed(k, old, new): _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value


@st.composite
def _edit(draw: st.DrawFn, root: Any, refs: Sequence[str]) -> Any:
    path = draw(st.sampled_from(_paths(root)))
    node = _get(root, path)
    parent = _get(root, path[:-1]) if path else None
    ops = ["hostile", "raw", "retype", "nest", "grow"]
    if path:
        ops += ["drop", "duplicate"]
    if isinstance(node, dict):
        ops += ["unknown", "respell"]
    if isinstance(node, str):
        ops += ["rename", "construct"]
        if refs:
            ops += ["reference"] * 3
    op = draw(st.sampled_from(ops))
    if op == "rename":  # every occurrence, so references still agree: a hostile id
        return _renamed(root, node, draw(hostile.texts()))
    if op == "construct":  # a template or a condition where either may be read
        return _set(root, path, draw(st.sampled_from(hostile.TEMPLATES + hostile.CEL)))
    if op == "hostile":
        return _set(root, path, draw(hostile.scalars()))
    if op == "raw":
        return _set(root, path, draw(st.sampled_from(RAW_VALUES)))
    if op == "retype":
        return _set(root, path, draw(st.sampled_from(_retyped(node))))
    if op == "nest":
        depth = draw(st.sampled_from(hostile.DEPTHS))
        if depth > 200:  # past what the serialisers recurse through: as text
            return _set(root, path, Raw("[" * depth + json.dumps(str(node)) + "]" * depth))
        return _set(root, path, hostile.nested(node, depth, draw(st.booleans())))
    if op == "grow":
        times = draw(st.sampled_from([2, 2, 10, 100, 1000, 30_000]))
        if isinstance(node, str):
            return _set(root, path, node * min(times, 70_000 // max(1, len(node))))
        if isinstance(node, list) and node:
            item = draw(st.sampled_from(node))
            times = _copies(item, times)
            return _set(root, path, node + [copy.deepcopy(item) for _ in range(times)])
        if isinstance(node, dict):
            extra = {f"k{i}": i for i in range(times)}
            return _set(root, path, {**node, **extra})
        return _set(root, path, [node] * _copies(node, min(times, 1000)))
    if op == "drop":
        del parent[path[-1]]
        return root
    if op == "duplicate":
        if isinstance(parent, list):
            parent.insert(int(path[-1]), copy.deepcopy(node))
        else:  # the same key again, spelt otherwise (JSON/YAML keep one of equal keys)
            parent[f"{path[-1]} "] = copy.deepcopy(node)
        return root
    if op == "unknown":
        node[draw(st.sampled_from(["extra", "exitOn", "__proto__", "$ref", "x" * 300]))] = 1
        return root
    if op == "respell":
        key = draw(st.sampled_from(sorted(node, key=str))) if node else "id"
        spelling = draw(st.sampled_from([_snake(str(key)), str(key).upper(), f"{key}\u200b"]))
        node[spelling] = node.pop(key, None)
        return root
    # reference: another string of the document (an id where a goto was: a cycle)
    return _set(root, path, draw(st.sampled_from(list(refs))))


@st.composite
def mutated(draw: st.DrawFn, doc: Any, *, max_edits: int = 4) -> Any:
    """``doc`` after one to ``max_edits`` random edits (``doc`` itself is not changed)."""
    value = copy.deepcopy(doc)
    refs = sorted(set(_strings(doc)))
    for _ in range(draw(st.integers(1, max_edits))):
        value = draw(_edit(value, refs))
        if _nodes_past(value, 5000):  # grown: further edits would only cost time
            break
    return value


# ------------------------------------------------------------------ text


def _placeholders(value: Any, raws: list[str]) -> Any:
    """``value`` with each ``Raw`` (and each non-string key) replaced by a marker string."""
    if isinstance(value, Raw):
        raws.append(value.text)
        return f"@@RAW{len(raws) - 1}@@"
    if isinstance(value, dict):
        return {str(k): _placeholders(v, raws) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_placeholders(v, raws) for v in value]
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _yaml_text(plain: Any, small: bool) -> str:
    options = {"allow_unicode": True, "sort_keys": False, "width": 120}
    try:  # libyaml is fast, but cannot write a lone surrogate (the Python emitter escapes it)
        return yaml.dump(plain, Dumper=yaml.CSafeDumper, default_flow_style=not small, **options)
    except (yaml.YAMLError, UnicodeEncodeError, AttributeError):
        pass
    try:
        return yaml.dump(plain, Dumper=yaml.SafeDumper, default_flow_style=not small, **options)
    except yaml.YAMLError:
        return json.dumps(plain, ensure_ascii=True)  # JSON is YAML too


def rendered(value: Any, suffix: str) -> bytes:
    """``value`` as the text of a ``.json`` or ``.yaml`` file (UTF-8; lone surrogates as
    ``surrogatepass`` bytes, i.e. not UTF-8: a file can hold that too)."""
    raws: list[str] = []
    plain = _placeholders(value, raws)
    small = not _nodes_past(plain, 2000)  # indented like a person writes it, unless big
    if suffix == ".json":
        text = json.dumps(plain, indent=2 if small else None, ensure_ascii=False)
        if not _utf8(text):  # a lone surrogate: as JSON writes it, an escape
            text = json.dumps(plain, indent=2 if small else None)
        quote = '"'
    else:
        text = _yaml_text(plain, small)
        quote = ""
    for i, raw in enumerate(raws):
        pattern = f'"@@RAW{i}@@"' if quote else f"['\"]?@@RAW{i}@@['\"]?"
        text = re.sub(pattern, lambda _match, raw=raw: raw, text)
    return text.encode("utf-8", "surrogatepass")


# Splices that only mean something in YAML, and bytes that break any text.
YAML_SPLICES: tuple[bytes, ...] = (
    b"&a [*a]",
    b"&a {k: *a}",
    b"!!binary aGVsbG8=",
    b"!!python/object/apply:os.system ['true']",
    b"!!set {a, b}",
    b"!!timestamp 2026-01-01",
    b"{<<: {a: 1}}",
    b"? [a, b]\n: c",
    b"*undefined",
    b"---\nsecond: doc",
    b"0x10",
    b"1:30",
    b"|\n  block\n",
    b"\t",
)
BYTES: tuple[bytes, ...] = (
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # a lone surrogate, CESU-8
    b"\xef\xbb\xbf",
    b"\r",
    b"\r\n",
    b'"',
    b"'",
    b"{",
    b"[",
    b"}",
    b":",
    b"#",
    b"\\",
)


@st.composite
def corrupted(draw: st.DrawFn, data: bytes, suffix: str) -> bytes:
    """``data`` (a rendered document) after one text edit."""
    lines = data.split(b"\n")
    op = draw(st.sampled_from(["dup-line", "splice", "byte", "bom", "crlf", "cut", "indent"]))
    if op == "dup-line" and lines:  # a duplicate key when the line holds one
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return b"\n".join(lines)
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    at = draw(st.integers(0, len(data)))
    if op == "cut":
        return data[:at]
    if op == "indent" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(st.sampled_from([b" ", b"\t", b"    "])) + lines[i]
        return b"\n".join(lines)
    pool = YAML_SPLICES + BYTES if suffix != ".json" and op == "splice" else BYTES
    return data[:at] + draw(st.sampled_from(pool)) + data[at:]


@st.composite
def document_bytes(draw: st.DrawFn, doc: Any, suffix: str) -> bytes:
    """A mutated ``doc`` rendered as ``suffix``, its text corrupted some of the time."""
    value = draw(mutated(doc))
    data = rendered(value, suffix)
    if draw(st.integers(0, 3)) == 0:
        data = draw(corrupted(data, suffix))
    return data
