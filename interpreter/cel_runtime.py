"""The ``cel`` package's compiled evaluator, loaded without the package's shell.

``import cel`` runs the package's ``__init__``, which imports its interactive shell
(``cel.cli``: prompt_toolkit, pygments, rich): 80 ms of every ``dee`` command's and
worker's start-up (``python -X importtime``), for a shell DEE never opens. The
evaluator is the extension module ``cel.cel`` (under 1 ms); it is loaded here on its
own, under the name the package gives it, so an ``import cel`` elsewhere later finds
it loaded and shares it. A package laid out otherwise gets the plain import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

_NAME = "cel.cel"


def load() -> ModuleType:
    """The module with ``compile``, ``Context`` and ``evaluate``."""
    loaded = sys.modules.get(_NAME)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")  # finds the package without running it
    locations = package.submodule_search_locations if package is not None else None
    spec = importlib.machinery.PathFinder.find_spec(_NAME, list(locations or ()))
    if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return importlib.import_module(_NAME)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module


# --- the values a run's inputs may hold ---------------------------------------


@dataclass(frozen=True, slots=True)
class ValueLimits:
    """What a contact or variables value may hold: integers within ``low..high`` (which
    ``integers`` names in a message), containers at most ``max_depth`` levels deep."""

    low: int
    high: int
    integers: str
    max_depth: int


# The CEL binding converts a nested value recursively in Rust and crashes the whole
# process (a segmentation fault, not an exception) somewhere past a few thousand
# levels; past 64 bits it silently turns an integer into a float, so
# ``contact.n == 2**70`` would compare rounded values.
CEL_LIMITS = ValueLimits(-(2**63), 2**64 - 1, "CEL holds exactly (64 bits)", 100)
_KINDS = "null, boolean, number, string, list or object"


def value_problem(value: object, path: str, limits: ValueLimits) -> str | None:
    """The first reason ``value`` is not a JSON value within ``limits``, or ``None``.

    Strings (and object keys) must be valid Unicode and numbers finite. The message
    names the value by ``path`` (``contact.first_name``) and never quotes the bad
    text itself: a lone surrogate cannot be printed, stored or hashed.
    """
    if type(value) is dict and _flat_and_plain(value, limits):
        return None
    return _problem(value, path, limits, limits.max_depth)


def _flat_and_plain(value: dict[Any, Any], limits: ValueLimits) -> bool:
    """Whether ``value`` is an object of ASCII text, small integers, booleans, nulls and
    lists of those: the common contact, checked here in plain loops (conditions check
    the contact on every branch evaluation; the general walk cost a third of one)."""
    if limits.max_depth < 2:
        return False
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            return False
        if type(item) is list:
            if not all(_plain_scalar(element, limits) for element in item):
                return False
        elif not _plain_scalar(item, limits):
            return False
    return True


def _plain_scalar(item: object, limits: ValueLimits) -> bool:
    if type(item) is str:
        return item.isascii()
    if type(item) is int:
        return limits.low <= item <= limits.high
    return type(item) is bool or item is None


def _problem(value: object, path: str, limits: ValueLimits, depth: int) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _text_problem(value, path)
    if isinstance(value, int):
        if limits.low <= value <= limits.high:
            return None
        # Never the digits: str() of a huge integer is slow, and refused past 4300 digits.
        return (
            f"{path}: an integer of {value.bit_length()} bits, outside "
            f"{limits.low}..{limits.high}, the integers {limits.integers}"
        )
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path}: {value} is not a finite number"
    if isinstance(value, (Mapping, list, tuple)):
        if depth <= 0:
            return f"{path}: nested more than {limits.max_depth} levels deep"
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    return f"{path}: a key of type {type(key).__name__}, not a string"
                inner = f"{path}.{_printable(key)}"
                problem = _text_problem(key, inner) or _problem(item, inner, limits, depth - 1)
                if problem is not None:
                    return problem
            return None
        for index, item in enumerate(value):
            problem = _problem(item, f"{path}[{index}]", limits, depth - 1)
            if problem is not None:
                return problem
        return None
    return f"{path}: a value of type {type(value).__name__} is not JSON ({_KINDS})"


def _text_problem(text: str, path: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{path}: contains a lone surrogate (U+{ord(text[exc.start]):04X}), not valid text"
    return None


def _printable(key: str) -> str:
    """``key`` with any lone surrogate written as ``\\udXXX``, so a path can be printed."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")
