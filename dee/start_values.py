"""The values a start may carry: refused at ``Engine.execute``/``execute_many``, by field.

A contact or variables value the run cannot carry is refused before anything is
registered, started or stored: text that is not valid Unicode (a lone surrogate,
which JSON's ``\\ud800`` escape produces) cannot be encoded as UTF-8, printed or
hashed into the audit; a NaN or an infinity has no JSON form, and RFC 8785 (the
audit's canonical JSON) keeps integers exact only within ±(2^53 - 1); a set or bytes
is no JSON value at all; and the CEL binding that reads conditions crashes on very
deep nesting. Without this check such a run starts and then fails, or (before
``interpreter.conditions`` turned every CEL error into a ``ConditionError``) retried
its workflow task forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dee.errors import EngineError
from interpreter.cel_runtime import ValueLimits, value_problem
from interpreter.limits import start_problems

MAX_SAFE_INT = 2**53 - 1  # RFC 8785 / I-JSON: the integers an IEEE double holds exactly
# Depth 32 is far beyond any real contact and far below where the CEL binding crashes.
LIMITS = ValueLimits(-MAX_SAFE_INT, MAX_SAFE_INT, "canonical JSON (RFC 8785) keeps exact", 32)


def problem(value: Mapping[str, Any], field: str) -> str | None:
    """The first reason ``value`` (the contact or the variables) cannot start a run."""
    return value_problem(value, field, LIMITS)


def check(value: Mapping[str, Any], field: str) -> None:
    """Raise ``EngineError`` naming the first field of ``value`` a run cannot carry."""
    found = problem(value, field)
    if found is not None:
        raise EngineError([found])


def limit_problems(
    *,
    tenant: str | None = None,
    contact: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every value past ``interpreter.limits``: the tenant, the contact id, the names of
    contact fields and variables. A contact id with a NUL, or of 300 characters, would
    start a workflow whose run row can never be written (no run, an orphan workflow)."""
    return start_problems(tenant=tenant, contact=contact, variables=variables)


def check_limits(
    *,
    tenant: str | None = None,
    contact: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> None:
    """Raise ``EngineError`` listing every ``limit_problems``."""
    found = limit_problems(tenant=tenant, contact=contact, variables=variables)
    if found:
        raise EngineError(found)
