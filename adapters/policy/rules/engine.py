"""Combines rule results into one decision. (Stub: filled in by the rules work.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.policy.rules.model import Rule, RuleInput, RuleResult, Verdict


@dataclass(frozen=True, slots=True)
class RulesDecision:
    """The rules' answer for one send.

    Attributes:
        decision: ``allow``, ``defer`` or ``deny``.
        until: On ``defer``: the next permitted instant, at which *every* rule allows.
        rule: The deciding rule's name (``None`` on allow).
        reason: The deciding rule's reason (``None`` on allow).
        results: Every applicable rule's result at the send's instant, in rule order.
        rules_version: The version of the rules evaluated (``config.RuleSet.version``).
        location: The location proof (``Location.proof()``).
    """

    decision: Verdict
    until: datetime | None
    rule: str | None
    reason: str | None
    results: tuple[RuleResult, ...]
    rules_version: str
    location: dict[str, Any]

    def proof(self) -> dict[str, Any]:
        """JSON-ready detail for the audit entry."""
        raise NotImplementedError


def evaluate(rules: Sequence[Rule], inp: RuleInput, version: str) -> RulesDecision:
    """Every rule applicable to ``inp.channel``, evaluated at ``inp.at``; on a deferral,
    the first later instant at which every rule allows (bounded search)."""
    raise NotImplementedError


__all__ = ["RulesDecision", "evaluate"]
