"""Reading plan, contact, variables, events and results files (YAML or JSON).

Every failure becomes a ``DocumentError`` whose lines name the file (and, once
the interpreter has looked inside, the step and field) — never a traceback.
Decoding is strict (duplicate keys, deep nesting, YAML 1.1 look-alikes and values
that cannot be canonicalised are refused): the rules are in ``dee.strict_decode``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dee.errors import DocumentError
from dee.strict_decode import (
    MAX_DOCUMENT_BYTES,
    Refused,
    check_values,
    decode_json,
    decode_yaml,
)
from interpreter import ExecutionPlan, PlanError, parse_plan


def read_document(path: Path) -> Any:
    """Decode a ``.json``, ``.yaml`` or ``.yml`` file (strictly: see ``dee.strict_decode``).

    A file over ``MAX_DOCUMENT_BYTES`` is refused unread: decoding it would take seconds.
    """
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise DocumentError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise DocumentError([f"{path}: is a directory, expected a file"]) from None
    except OSError as exc:
        raise DocumentError([f"{path}: cannot be read: {exc}"]) from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentError([f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes"])
    try:  # line ends as a text-mode read sees them (universal newlines)
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise DocumentError([f"{path}: cannot be read: {exc}"]) from None
    try:
        if path.suffix.lower() == ".json":
            data = _decode_json(path, text)
        else:
            data = _decode_yaml(path, text)
    except Refused as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise DocumentError([f"{path}: {where}{exc.problem}"]) from None
    problems = check_values(data)
    if problems:
        raise DocumentError([f"{path}: {p}" for p in problems])
    return data


def _decode_json(path: Path, text: str) -> Any:
    try:
        return decode_json(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            [f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]
        ) from None


def _decode_yaml(path: Path, text: str) -> Any:
    try:
        return decode_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError([f"{path}: {where}invalid YAML: {problem}"]) from None


def load_plan(path: Path) -> ExecutionPlan:
    """Read and shape-check a plan file (validation is a separate step)."""
    data = read_document(path)
    try:
        return parse_plan(data, source=str(path))
    except PlanError as exc:
        raise DocumentError([f"{path}: {p}" for p in exc.problems]) from None
