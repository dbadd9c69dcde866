"""What the gate is asked and what it answers.

``GateRequest`` is one intended send; ``(run_id, step_id, visit)`` identifies it, so a
retried activity asks the same question under the same key. ``PolicyDecision`` is the
answer, with ``detail`` carrying the proof the audit entry records (JSON-ready: strings,
integers, booleans, ``None``; money as decimal strings, instants as ISO 8601).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from adapters.addresses import ContactAddressError, canonical_contact
from adapters.policy.config import CHANNELS, Channel
from adapters.policy.errors import PolicyInputError

Decision = Literal["allow", "defer", "deny"]
PolicyName = Literal[
    "erased", "suppression", "consent", "hours", "compliance", "contact_cap", "daily_limit",
    "budget",
]  # fmt: skip
# The gate's evaluation order; a decision names the first policy that did not allow.
ORDER: tuple[PolicyName, ...] = (
    "suppression", "consent", "hours", "compliance", "contact_cap", "daily_limit", "budget",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GateRequest:
    """One intended send.

    Attributes:
        tenant: The tenant whose limits, budget, consent and suppressions apply.
        run_id: The run.
        plan_id: The plan (plan-scoped suppressions match it).
        step_id: The send step.
        visit: How many times the run entered the step before (part of the key).
        channel: ``email`` or ``voice``.
        contact: The contact: ``id`` (required), optionally ``email``, ``phone``,
            ``country`` (reads a national phone number), ``timezone`` (an IANA name).
            Made canonical here (``adapters.addresses``): a run started straight
            through Temporal never passed ``Engine``'s check, and an e-mail that is not
            exactly one mailbox (or a phone that is no possible number) is refused.
        at: The workflow's deterministic "now" (aware); hours, suppression expiry and
            the counter's UTC day are read at this instant, never at the wall clock.
        max_duration_seconds: Voice only: the call's cap, which sizes the cost estimate.
        debt_ref: The debt the send is about (the plan's ``compliance.debtRef``
            resolved on the run), for Reg F's per-debt counts; ``None``: none named.
        subject: The subject the send is about (the plan's ``compliance.subject``), for
            Florida's and Oklahoma's per-subject counts; ``None``: every call counts.
        presets: The plan file's compliance presets (``compliance.presets``), added to
            the configured ones.
        caller_id: The number a call is placed from, if the step names one (recorded in
            the ledger; no count depends on it).
    """

    tenant: str
    run_id: str
    plan_id: str
    step_id: str
    visit: int
    channel: Channel
    contact: Mapping[str, Any]
    at: datetime
    max_duration_seconds: int = 0
    debt_ref: str | None = None
    subject: str | None = None
    presets: tuple[str, ...] = ()
    caller_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("tenant", "run_id", "plan_id", "step_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise PolicyInputError(name, "must be a non-empty string")
        if isinstance(self.visit, bool) or not isinstance(self.visit, int) or self.visit < 0:
            raise PolicyInputError("visit", f"must be an integer >= 0, got {self.visit!r}")
        if self.channel not in CHANNELS:
            raise PolicyInputError(
                "channel", f"{self.channel!r} is not one of {', '.join(CHANNELS)}"
            )
        contact_id = self.contact.get("id")
        if not isinstance(contact_id, str) or not contact_id:
            raise PolicyInputError("contact.id", "a contact needs a non-empty string id")
        try:
            object.__setattr__(self, "contact", canonical_contact(self.contact))
        except ContactAddressError as exc:
            raise PolicyInputError(f"contact.{exc.field}", exc.reason) from None
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise PolicyInputError("at", "must be an aware datetime (UTC)")
        if self.channel == "voice" and self.max_duration_seconds <= 0:
            # Without a cap the cost of a call cannot be estimated, so no budget holds.
            raise PolicyInputError(
                "max_duration_seconds", "a voice send needs a positive maximum duration"
            )

    @property
    def contact_id(self) -> str:
        return str(self.contact["id"])


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The gate's answer.

    Attributes:
        decision: ``allow``, ``defer`` (retry at ``until``) or ``deny``.
        policy: The policy that deferred or denied; ``None`` on allow.
        reason: One line for a person; ``None`` on allow.
        until: For ``defer``: the aware UTC instant to retry at.
        detail: The proof, per policy evaluated (see the module docstring).
    """

    decision: Decision
    policy: PolicyName | None = None
    reason: str | None = None
    until: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


__all__ = ["ORDER", "Decision", "GateRequest", "PolicyDecision", "PolicyName"]
