"""State holiday bans as dated tables. (Stub: filled in by the rules work.)"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.policy.rules.model import RuleInput, RuleResult


@dataclass(frozen=True, slots=True)
class HolidayBan:
    """No sends on ``channels`` on the listed local dates (and, with ``sundays``, on
    Sundays) for contacts located in ``states``; defers to the next permitted day."""

    name: str
    states: frozenset[str]
    channels: frozenset[str] = frozenset({"voice"})
    sundays: bool = False
    citation: str = ""

    def check(self, inp: RuleInput) -> RuleResult:
        raise NotImplementedError


__all__ = ["HolidayBan"]
