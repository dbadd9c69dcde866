"""Which rules apply to a send: presets per deployment, tenant and plan, plus a tenant's
or plan's own email window and per-channel caps. (Stub: filled in by the rules work.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.policy.rules.model import Rule


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules for one send and their version (``<tables version>:<12 hex of the
    effective configuration's hash>``), recorded in every decision."""

    rules: tuple[Rule, ...]
    version: str
    presets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Compliance configuration (settings ``policies.presets`` and friends)."""

    presets: tuple[str, ...] = ()
    tenant_presets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    plan_presets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def rule_set(
        self,
        tenant: str,
        plan_id: str,
        plan_presets: tuple[str, ...] = (),
        *,
        override: tuple[str, ...] | None = None,
    ) -> RuleSet:
        """The rules for a send: the union of the deployment's, the tenant's, the
        plan's (settings) and the plan file's presets, or exactly ``override``
        (``dee policy explain --preset``), plus the general per-channel caps."""
        raise NotImplementedError


__all__ = ["RuleSet", "RulesConfig"]
