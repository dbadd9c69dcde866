"""The gate's compliance stage: the contact's ledger and location in, the rules' decision out.

Runs after ``hours`` and before ``contact_cap``, inside the gate's transaction: it takes
the contact's ledger lock (``ledger.lock_contact``) and holds it through the cap's
insert, so two sends to one contact cannot both count the same earlier attempts. The
attempts read are the contact's since ``at`` minus the longest window a rule counts,
at least ``LOOKBACK`` (every channel; a configured cap of 60 days reads 60 days back),
without the send's own row: a send re-evaluated
after it was counted is not held back by its own attempt.

Boundary: reads the ledger; the rules themselves are pure (``adapters.policy.rules``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.ledger import lock_contact, read_attempts
from adapters.policy.request import GateRequest
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.engine import RulesDecision, evaluate
from adapters.policy.rules.frequency import ChannelCap
from adapters.policy.rules.locate import locate
from adapters.policy.rules.model import Attempt, Rule, RuleInput
from adapters.storage.database import Dialect

LOOKBACK = timedelta(days=40)


async def check_compliance(
    conn: AsyncConnection,
    dialect: Dialect,
    request: GateRequest,
    rules: RulesConfig,
    *,
    default_timezone: str | None,
    consent: Mapping[str, Any] | None,
    opt_out_at: datetime | None,
    attempts: Sequence[Attempt] | None = None,
    presets: tuple[str, ...] | None = None,
) -> RulesDecision:
    """The rules' decision for ``request`` (see the module docstring).

    Args:
        consent: The consent record in force (``checks.latest_consent``).
        opt_out_at: When the contact opted out of the channel, if it did.
        attempts: Replaces the ledger (``dee policy explain --history``).
        presets: Replaces the configured and plan presets (``--preset``).
    """
    await lock_contact(conn, dialect, request.tenant, request.contact_id)
    rule_set = rules.rule_set(request.tenant, request.plan_id, request.presets, override=presets)
    if attempts is None:
        key = (request.run_id, request.step_id, request.visit)
        since = request.at - lookback(rule_set.rules)
        found = await read_attempts(conn, request.tenant, request.contact_id, since, exclude=key)
    else:
        found = tuple(sorted(attempts, key=lambda a: a.at))
    inp = RuleInput(
        tenant=request.tenant,
        plan_id=request.plan_id,
        channel=request.channel,
        at=request.at,
        contact=request.contact,
        location=locate(request.contact, default_timezone),
        attempts=found,
        debt_ref=request.debt_ref,
        subject=request.subject,
        consent=consent,
        opt_out_at=opt_out_at,
    )
    return evaluate(rule_set.rules, inp, rule_set.version, presets=rule_set.presets)


def lookback(rules: Sequence[Rule]) -> timedelta:
    """How far back the ledger is read: the longest window any of ``rules`` counts, at
    least ``LOOKBACK`` (an attempt older than a cap's window never counts, so none older
    is needed; one younger left unread would let a send through the cap)."""
    spans = [LOOKBACK]
    for rule in rules:
        span = timedelta(days=rule.cap.days) if isinstance(rule, ChannelCap) else None
        span = getattr(rule, "span", span)
        if isinstance(span, timedelta):
            spans.append(span)
    return max(spans)


def opt_out_instant(
    consent: Mapping[str, Any] | None, suppression: Mapping[str, Any] | None
) -> datetime | None:
    """When the contact opted out: a consent opt-out's or a suppression's time, the earlier."""
    found = []
    if consent is not None and consent.get("status") == "opted_out":
        found.append(datetime.fromisoformat(str(consent["recorded_at"])))
    if suppression is not None and suppression.get("created_at"):
        found.append(datetime.fromisoformat(str(suppression["created_at"])))
    return min(found, default=None)


def deciding_reason(decision: RulesDecision) -> str:
    """The gate's reason for a compliance deferral or denial: the deciding rule named."""
    return f"{decision.rule}: {decision.reason}"


__all__ = ["LOOKBACK", "check_compliance", "deciding_reason", "lookback", "opt_out_instant"]
