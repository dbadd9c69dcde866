"""Reading plan, contact, variables, events and results files (YAML or JSON).

Every failure becomes a ``DocumentError`` whose lines name the file (and, once
the interpreter has looked inside, the step and field) — never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dee.errors import DocumentError
from interpreter import ExecutionPlan, PlanError, parse_plan


class _PlanYamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings (``createdAt`` is an ISO string)."""


_PlanYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_document(path: Path) -> Any:
    """Decode a ``.json``, ``.yaml`` or ``.yml`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise DocumentError([f"{path}: is a directory, expected a file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError([f"{path}: cannot be read: {exc}"]) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(
                [f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]
            ) from None
    try:
        return yaml.load(text, Loader=_PlanYamlLoader)  # noqa: S506 - a SafeLoader subclass
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
