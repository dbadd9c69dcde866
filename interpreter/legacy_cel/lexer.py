"""Tokens of CEL (Common Expression Language) source text, for :mod:`interpreter.legacy_cel.syntax`.

Boundary: this module only cuts text into tokens and decodes literals (numbers,
escapes in strings and bytes); the grammar lives in :mod:`interpreter.legacy_cel.syntax`.
Standard library only; no I/O. Where the spec leaves room it follows the ANTLR lexer
shared by cel-go and the ``cel`` runtime, so both sides cut text the same way: raw
strings process no escapes (a backslash cannot hide the closing quote), hexadecimal
needs a lowercase ``0x``, and ``1.`` is not a number (``1.e3`` is ``1`` then ``.e3``).
"""

from __future__ import annotations

import itertools
from typing import Final, NamedTuple, TypeAlias

__all__ = ["CelSyntaxError", "LiteralValue", "Token", "syntax_error", "tokenize", "where"]

LiteralValue: TypeAlias = bool | int | float | str | bytes | None


class CelSyntaxError(ValueError):
    """The source text is not a CEL expression.

    Attributes:
        message: One sentence naming the problem and where it is, e.g.
            ``unexpected ")" at column 17``.
        offset: Zero-based index into the source where the problem was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_KEYWORDS: Final = frozenset({"true", "false", "null", "in"})
_PUNCTUATION: Final = ("==", "!=", "<=", ">=", "&&", "||", *"()[]{}.,:?!-+*/%<>")
_STRAY_HINTS: Final = {"=": '"=="', "&": '"&&"', "|": '"||"'}
_SIMPLE_ESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "?": "?", '"': '"', "'": "'", "`": "`",
}  # fmt: skip
_DIGITS: Final = frozenset("0123456789")
_HEX: Final = _DIGITS | frozenset("abcdefABCDEF")
_IDENT_START: Final = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_IDENT_CHARS: Final = _IDENT_START | frozenset("0123456789")


def where(source: str, offset: int) -> str:
    """``column 7``, or ``line 2, column 3`` in a multi-line source, for ``offset``."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return f"column {column}" if line == 1 else f"line {line}, column {column}"


def syntax_error(source: str, what: str, offset: int) -> CelSyntaxError:
    """A :class:`CelSyntaxError` for ``what`` found at ``offset`` of ``source``."""
    return CelSyntaxError(f"{what} at {where(source, offset)}", offset)


class Token(NamedTuple):
    """One lexical token; ``value`` holds the decoded value of a literal."""

    kind: str  # punctuation or keyword text, or INT UINT DOUBLE STRING BYTES IDENT EOF
    text: str
    offset: int
    value: LiteralValue = None


def tokenize(src: str) -> list[Token]:
    """Cut ``src`` into tokens, ending with an ``EOF`` token.

    Raises:
        CelSyntaxError: A character, number, string or escape sequence is malformed.
    """
    tokens: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch in " \t\n\r\f":
            i += 1
        elif src.startswith("//", i):
            newline = src.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif ch in _DIGITS or (ch == "." and src[i + 1 : i + 2] in _DIGITS):
            token = _lex_number(src, i)
            tokens.append(token)
            i += len(token.text)
        elif ch in _IDENT_START:
            end = i
            while end < n and src[end] in _IDENT_CHARS:
                end += 1
            word = src[i:end]
            prefix = word.lower()
            if end < n and src[end] in "'\"" and prefix in ("r", "b", "br"):
                token = _lex_string(src, i, end, raw="r" in prefix, is_bytes="b" in prefix)
            else:
                token = Token(word if word in _KEYWORDS else "IDENT", word, i)
            tokens.append(token)
            i += len(token.text)
        elif ch in "'\"":
            token = _lex_string(src, i, i, raw=False, is_bytes=False)
            tokens.append(token)
            i += len(token.text)
        else:
            punct = next((p for p in _PUNCTUATION if src.startswith(p, i)), None)
            if punct is None:
                shown = f'"{ch}"' if ch.isprintable() else f"U+{ord(ch):04X}"
                hint = _STRAY_HINTS.get(ch)
                suffix = f" (did you mean {hint}?)" if hint else ""
                raise syntax_error(src, f"unexpected character {shown}{suffix}", i)
            tokens.append(Token(punct, punct, i))
            i += len(punct)
    tokens.append(Token("EOF", "", n))
    return tokens


def _lex_number(src: str, start: int) -> Token:
    i, n = start, len(src)

    def digits(pos: int, allowed: str = "0123456789") -> int:
        while pos < n and src[pos] in allowed:
            pos += 1
        return pos

    if src.startswith("0x", i) and i + 2 < n and src[i + 2] in _HEX:
        i = digits(i + 2, "0123456789abcdefABCDEF")
        value = int(src[start + 2 : i], 16)
    else:
        i = digits(i)
        is_double = False
        if src[i : i + 1] == "." and src[i + 1 : i + 2] in _DIGITS:
            i, is_double = digits(i + 1), True
        exponent = i + 1 + (src[i + 1 : i + 2] in ("+", "-"))
        if src[i : i + 1] in ("e", "E") and src[exponent : exponent + 1] in _DIGITS:
            i, is_double = digits(exponent), True
        if is_double:
            return Token("DOUBLE", src[start:i], start, float(src[start:i]))
        value = int(src[start:i])
    if src[i : i + 1] in ("u", "U"):
        if value >= 2**64:
            raise syntax_error(src, "uint literal out of range", start)
        return Token("UINT", src[start : i + 1], start, value)
    return Token("INT", src[start:i], start, value)


def _lex_string(src: str, start: int, quote_at: int, *, raw: bool, is_bytes: bool) -> Token:
    quote = src[quote_at]
    delimiter = quote * 3 if src.startswith(quote * 3, quote_at) else quote
    i, n = quote_at + len(delimiter), len(src)
    parts: list[bytes] = []
    while True:
        if i >= n or (len(delimiter) == 1 and src[i] in "\r\n"):
            raise syntax_error(src, "unterminated string starting", start)
        if src.startswith(delimiter, i):
            break
        if src[i] == "\\" and not raw and i + 1 < n:
            piece, i = _decode_escape(src, i, is_bytes=is_bytes)
            parts.append(piece)
        else:
            parts.append(src[i].encode("utf-8", "surrogatepass"))
            i += 1
    end = i + len(delimiter)
    data = b"".join(parts)
    if is_bytes:
        return Token("BYTES", src[start:end], start, data)
    return Token("STRING", src[start:end], start, data.decode("utf-8", "surrogatepass"))


def _decode_escape(src: str, at: int, *, is_bytes: bool) -> tuple[bytes, int]:
    code = src[at + 1 : at + 2]
    if code in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[code].encode(), at + 2
    width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(code, 0)
    if width:
        digits = src[at + 2 : at + 2 + width]
        if len(digits) != width or not set(digits) <= _HEX:
            shown = "".join(itertools.takewhile(_HEX.__contains__, digits))
            raise syntax_error(src, f'invalid escape sequence "\\{code}{shown}"', at)
        if code in "uU" and is_bytes:
            raise syntax_error(src, f'"\\{code}" escapes are not allowed in bytes literals', at)
        point = int(digits, 16)
        if code in "uU" and (0xD800 <= point <= 0xDFFF or point > 0x10FFFF):
            raise syntax_error(src, f'invalid unicode code point "\\{code}{digits}"', at)
        piece = bytes([point]) if is_bytes else chr(point).encode()
        return piece, at + 2 + width
    octal = src[at + 1 : at + 4]
    if len(octal) == 3 and octal[0] in "0123" and set(octal[1:]) <= set("01234567"):
        point = int(octal, 8)
        return (bytes([point]) if is_bytes else chr(point).encode()), at + 4
    if code in ("\r", "\n"):
        raise syntax_error(src, "invalid escape sequence (a backslash before a line break)", at)
    raise syntax_error(src, f'invalid escape sequence "\\{code}"', at)
