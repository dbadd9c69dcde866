"""Compose-file variable interpolation, as the Compose Specification defines it.

``$$`` is a literal ``$``; ``$VAR`` and ``${VAR}`` substitute; ``${VAR:-default}`` /
``${VAR-default}`` fall back when unset or empty / unset; ``${VAR:?message}`` /
``${VAR?message}`` refuse to go on; ``${VAR:+alt}`` / ``${VAR+alt}`` substitute ``alt``
when set (and non-empty). Defaults and messages may themselves interpolate. Anything
else after a ``$`` is refused, which is stricter than Compose (it keeps a lone ``$``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A value Compose would refuse: a required variable unset, or bad syntax."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing(text, i + 2)
            out.append(_braced(text[i + 2 : end], env))
            i = end + 1
        else:
            name = _NAME.match(text, i + 1)
            if name is None:
                raise InterpolationError(f"invalid interpolation at {text[i : i + 10]!r}")
            out.append(env.get(name.group(), ""))
            i = name.end()
    return "".join(out)


def _closing(text: str, start: int) -> int:
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{" and text[j - 1] == "$":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise InterpolationError(f"unclosed ${{ in {text!r}")


def _braced(body: str, env: Mapping[str, str]) -> str:
    name = _NAME.match(body)
    if name is None:
        raise InterpolationError(f"invalid variable name in ${{{body}}}")
    var, rest = name.group(), body[name.end() :]
    value = env.get(var)
    if not rest:
        return value or ""
    op = rest[:2] if rest[:1] == ":" else rest[:1]
    arg = rest[len(op) :]
    unset_or_empty = not value if op.startswith(":") else value is None
    if op in (":-", "-"):
        return interpolate(arg, env) if unset_or_empty else str(value)
    if op in (":?", "?"):
        if unset_or_empty:
            raise InterpolationError(f"required variable {var} is missing a value: {arg}")
        return str(value)
    if op in (":+", "+"):
        return "" if unset_or_empty else interpolate(arg, env)
    raise InterpolationError(f"invalid interpolation ${{{body}}}")


def interpolate_document(doc: Any, env: Mapping[str, str]) -> Any:
    """Every string value of a loaded compose file interpolated (keys are not)."""
    if isinstance(doc, dict):
        return {key: interpolate_document(value, env) for key, value in doc.items()}
    if isinstance(doc, list):
        return [interpolate_document(value, env) for value in doc]
    if isinstance(doc, str):
        return interpolate(doc, env)
    return doc
