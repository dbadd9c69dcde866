"""A reader of the protobuf text format without the schema, for ``bench.cel_conformance``.

cel-spec writes its conformance tests as ``SimpleTestFile`` messages in the text format
(``tests/simple/testdata/*.textproto``). The ``protobuf`` package parses that format only
into a message class compiled from the ``.proto`` files, which DEE does not ship; this
reader needs no schema and gives each message as a list of ``(field, value)`` pairs in
the order written, a value being a nested ``Message``, the raw bytes of a string
literal (the format's strings are bytes: a ``string`` field decodes them as UTF-8), or
the text of any other scalar (``12``, ``-1.5e3``, ``inf``, ``true``, ``NULL_VALUE``).

What it reads: ``#`` comments; ``name: value``, ``name { ... }``, ``name: { ... }`` and
``< ... >``; ``[type.googleapis.com/x.Y]`` (an ``Any``'s expansion) and ``[ext.name]`` as
field names; repeated values as ``name: [a, b]``; adjacent string literals joined; the
C escapes (``\\n``, ``\\x41``, ``\\101``, ``\\u00e9``, ``\\U0001F600``); ``,`` or ``;``
between fields. A malformed file raises ``TextFormatError`` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field


class TextFormatError(ValueError):
    """The text is not a protobuf text-format message."""


@dataclass(slots=True)
class Message:
    """One message: its fields in the order written (a repeated field appears once per
    value)."""

    fields: list[tuple[str, Message | bytes | str]] = field(default_factory=list)

    def all(self, name: str) -> list[Message | bytes | str]:
        """Every value of field ``name``, in order."""
        return [value for key, value in self.fields if key == name]

    def one(self, name: str) -> Message | bytes | str | None:
        """The last value of field ``name`` (the format's rule for a singular field)."""
        values = self.all(name)
        return values[-1] if values else None

    def messages(self, name: str) -> list[Message]:
        """Every value of message field ``name``."""
        return [value for value in self.all(name) if isinstance(value, Message)]

    def text(self, name: str, default: str = "") -> str:
        """String field ``name`` decoded as UTF-8 (``default`` when absent)."""
        value = self.one(name)
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return default if value is None else str(value)

    def flag(self, name: str) -> bool:
        """Bool field ``name`` (absent: false)."""
        return self.one(name) in ("true", "True", "t", "1")

    def names(self) -> set[str]:
        """The names of the fields present."""
        return {key for key, _ in self.fields}


_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<bracket>\[[A-Za-z_][\w.]*(?:/[\w.]+)?\])
  | (?P<scalar>[-+]?(?:\d[\d.]*[eE][-+]?\d+|[\w.]+))
  | (?P<punct>[:{}<>\[\],;])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    line: int


def _tokens(text: str) -> Iterator[_Token]:
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise TextFormatError(f"line {line}: unexpected {text[position]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            yield _Token(kind, match.group(), line)
        line += match.group().count("\n")
        position = match.end()


_SIMPLE_ESCAPES = {
    "n": b"\n", "t": b"\t", "r": b"\r", "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v",
    "\\": b"\\", "'": b"'", '"': b'"', "?": b"?",
}  # fmt: skip
_ESCAPE = re.compile(
    r"\\(?:(?P<octal>[0-7]{1,3})|x(?P<hex>[0-9A-Fa-f]{1,2})|u(?P<u4>[0-9A-Fa-f]{4})"
    r"|U(?P<u8>[0-9A-Fa-f]{8})|(?P<simple>.))",
    re.S,
)


def unescape(literal: str, line: int = 0) -> bytes:
    """The bytes a quoted text-format string literal (quotes included) stands for."""
    body = literal[1:-1]
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(body):
        out += body[position : match.start()].encode("utf-8")
        position = match.end()
        if match["octal"]:
            out.append(int(match["octal"], 8) & 0xFF)
        elif match["hex"]:
            out.append(int(match["hex"], 16))
        elif match["u4"] or match["u8"]:
            out += chr(int(match["u4"] or match["u8"], 16)).encode("utf-8", "surrogatepass")
        elif match["simple"] in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[match["simple"]]
        else:
            raise TextFormatError(f"line {line}: unknown escape \\{match['simple']}")
    out += body[position:].encode("utf-8")
    return bytes(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = list(_tokens(text))
        self._at = 0

    def _peek(self) -> _Token | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            last = self._tokens[-1].line if self._tokens else 1
            raise TextFormatError(f"line {last}: unexpected end of text")
        self._at += 1
        return token

    def _expect(self, text: str) -> None:
        token = self._next()
        if token.text != text:
            raise TextFormatError(f"line {token.line}: expected {text!r}, got {token.text!r}")

    def message(self, closing: str | None) -> Message:
        message = Message()
        while True:
            token = self._peek()
            if token is None or token.text == closing:
                if token is None and closing is not None:
                    self._expect(closing)
                if token is not None:
                    self._at += 1
                return message
            if token.text in (",", ";"):
                self._at += 1
                continue
            name = self._next()
            if name.kind not in ("scalar", "bracket"):
                raise TextFormatError(f"line {name.line}: expected a field name, got {name.text!r}")
            for value in self._field_values():
                message.fields.append((name.text, value))

    def _field_values(self) -> list[Message | bytes | str]:
        token = self._peek()
        if token is not None and token.text == ":":
            self._at += 1
            token = self._peek()
            if token is not None and token.text == "[":
                self._at += 1
                return self._list()
        return [self._value()]

    def _list(self) -> list[Message | bytes | str]:
        values: list[Message | bytes | str] = []
        while True:
            token = self._peek()
            if token is not None and token.text == "]":
                self._at += 1
                return values
            values.append(self._value())
            token = self._peek()
            if token is not None and token.text == ",":
                self._at += 1

    def _value(self) -> Message | bytes | str:
        token = self._next()
        if token.text in ("{", "<"):
            return self.message("}" if token.text == "{" else ">")
        if token.kind == "string":
            joined = unescape(token.text, token.line)
            while (following := self._peek()) is not None and following.kind == "string":
                self._at += 1
                joined += unescape(following.text, following.line)
            return joined
        if token.kind == "scalar":
            return token.text
        raise TextFormatError(f"line {token.line}: expected a value, got {token.text!r}")


def parse(text: str) -> Message:
    """The message ``text`` holds.

    Raises:
        TextFormatError: ``text`` is not in the text format, naming the line.
    """
    return _Parser(text).message(None)
