"""Calling windows by jurisdiction, read in every candidate zone. (Stub: filled in.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from adapters.policy.rules.model import RuleInput, RuleResult


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Sends on ``channels`` only between ``start`` and ``end`` (local wall time, end
    exclusive) on ``days`` (ISO weekdays), in *every* candidate zone of the contact;
    ``states`` (USPS codes) limits the rule to contacts located in one of them (empty:
    everyone). Defers to the first instant open in every candidate zone; with no zone
    at all, denies (never guessed)."""

    name: str
    start: time
    end: time
    channels: frozenset[str] = frozenset({"voice"})
    days: frozenset[int] = frozenset(range(1, 8))
    states: frozenset[str] = frozenset()
    citation: str = ""

    def check(self, inp: RuleInput) -> RuleResult:
        raise NotImplementedError


__all__ = ["CallingWindow"]
