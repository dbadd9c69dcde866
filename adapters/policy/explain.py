"""``dee policy explain``'s answer: the gate's decision for one send, with every policy
and compliance rule it evaluated, computed without writing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.policy.request import Decision


@dataclass(frozen=True, slots=True)
class RuleLine:
    """One evaluated policy or rule: ``suppression``, ``consent``, ``hours``, each
    compliance rule by name (``regf.calling_window``), ``contact_cap``, ``daily_limit``,
    ``budget``."""

    rule: str
    verdict: Decision
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "verdict": self.verdict, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decision a send would get now, and why.

    Attributes:
        decision: ``allow``, ``defer`` or ``deny`` (the first policy that does not allow).
        until: On ``defer``: the next permitted instant (aware UTC).
        policy: The deciding policy (``None`` on allow).
        reason: The deciding policy's reason (``None`` on allow).
        rules: Every policy and rule evaluated, in the gate's order.
        rules_version: The compliance rules' version (``RuleSet.version``).
        detail: The full proof (as the audit entry would record it).
    """

    decision: Decision
    until: datetime | None
    policy: str | None
    reason: str | None
    rules: tuple[RuleLine, ...]
    rules_version: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Exactly ``dee policy explain --json``'s document."""
        until = None if self.until is None else self.until.astimezone(UTC).isoformat()
        return {
            "decision": self.decision,
            "until": until,
            "policy": self.policy,
            "reason": self.reason,
            "rules": [line.as_json() for line in self.rules],
            "rulesVersion": self.rules_version,
        }


__all__ = ["Explanation", "RuleLine"]
