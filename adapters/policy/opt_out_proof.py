"""The opt-out clocks' proof on a denial by suppression or consent.

An opt-out (a one-click unsubscribe, a STOP reply, an operator's suppression) stops
sends at the suppression or consent stage, before the compliance rules run, so the
rules that state the law's deadline for honouring it (``can-spam.opt_out``,
``gmail-bulk.opt_out``, ``tcpa.revocation``) would never appear in the run's audit
chain. Where the send's presets include them, their verdicts are added to the denial's
detail (``optOutClocks``): the chain then proves, per rule, when the contact opted out,
the deadline the law allowed, and that DEE honoured it at once.

Boundary: pure (the rules are), over what the gate already read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.policy.compliance_stage import opt_out_instant
from adapters.policy.errors import PolicyConfigError
from adapters.policy.request import GateRequest
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.email import OptOutClock, Revocation
from adapters.policy.rules.model import Location, RuleInput


def opt_out_clocks(
    request: GateRequest,
    rules: RulesConfig,
    *,
    consent: Mapping[str, Any] | None,
    suppression: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The opt-out rules' verdicts for a send stopped by ``consent`` or ``suppression``
    (``None``: no opt-out on record, or no such rule among the send's presets)."""
    opted_out = opt_out_instant(consent, suppression)
    if opted_out is None:
        return None
    try:
        rule_set = rules.rule_set(request.tenant, request.plan_id, request.presets)
    except PolicyConfigError:
        return None  # the denial stands; the compliance stage reports a bad preset
    clocks = [
        rule
        for rule in rule_set.rules
        if isinstance(rule, OptOutClock | Revocation) and request.channel in rule.channels
    ]
    if not clocks:
        return None
    inp = RuleInput(
        tenant=request.tenant,
        plan_id=request.plan_id,
        channel=request.channel,
        at=request.at,
        contact=request.contact,
        location=Location(()),
        consent=consent,
        opt_out_at=opted_out,
    )
    return {
        "rulesVersion": rule_set.version,
        "optedOutAt": opted_out.isoformat(),
        "rules": [rule.check(inp).as_json() for rule in clocks],
    }


__all__ = ["opt_out_clocks"]
