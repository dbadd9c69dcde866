"""Activity answers as the step machine's inputs: a policy response becomes
``PolicyDecided``, a send response ``SendCompleted``. Pure: the workflow gives the
tick and what it knows of the run."""

from __future__ import annotations

from typing import Any, Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import PolicyDecided, SendCompleted


def policy_decided(
    resp: c.PolicyResponse, step_id: str, tick: int, until: int | None
) -> PolicyDecided:
    """``until``: the deferral's end as a tick, when the response names one."""
    decision: Literal["allow", "defer", "deny"] = "deny"  # anything unknown fails closed
    if resp.decision == "allow":
        decision = "allow"
    elif resp.decision == "defer":
        decision = "defer"
        if until is None or until <= tick:
            until = tick + 1  # a deferral always moves time forward, recorded
    return PolicyDecided(tick, step_id, decision, resp.policy, resp.reason, until, resp.detail)


def send_completed(
    resp: c.SendResponse, step_id: str, tick: int, *, durable: bool
) -> SendCompleted:
    """The send's result; ``unknown`` only under ``DURABLE`` (the ledger's answer)."""
    detail: dict[str, Any] = {}
    for key, value in (
        ("provider", resp.provider),
        ("providerMessageId", resp.provider_message_id),
        ("cost", resp.cost),
    ):
        if value is not None:
            detail[key] = value
    if resp.reconciled:  # the provider confirmed a send whose outcome was unknown
        detail["reconciled"] = True
    if resp.status == "delivered":
        return SendCompleted(tick, step_id, "delivered", resp.reason, detail)
    if resp.status == "unknown" and durable:
        return SendCompleted(tick, step_id, "unknown", resp.reason, detail)
    return SendCompleted(tick, step_id, "failed", resp.reason or "failed", detail)


__all__ = ["policy_decided", "send_completed"]
