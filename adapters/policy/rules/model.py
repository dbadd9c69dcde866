"""The data every compliance rule reads and returns.

A rule is a pure function of a ``RuleInput`` (the send, the contact's location, the
contact's earlier attempts, its consent in force) to a ``RuleResult``. The engine
(``engine.evaluate``) combines results: any ``deny`` denies, else any ``defer`` defers
to the latest ``until`` (re-checked there until every rule allows), else ``allow``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Verdict = Literal["allow", "defer", "deny"]
# Where a candidate zone came from; recorded in each decision's proof.
ZoneSource = Literal["timezone", "address.postalCode", "address.state", "phone", "default"]
# What a call attempt ended as; ``answered`` is a conversation (Reg F 1006.14(b)(2)(ii)).
CONVERSATION = "answered"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One earlier attempt to reach the contact, counted whether answered or not.

    Attributes:
        channel: ``voice`` or ``email``.
        at: When it was attempted (aware).
        outcome: ``answered`` (a conversation), another outcome, or ``None`` (not known yet).
        debt_ref: The debt it was about (Reg F counts per debt), if any.
        subject: The subject it was about (Florida, Oklahoma count per subject), if any.
        caller_id: The number it was placed from, if known (counts do not depend on it).
        source: ``run`` (placed by DEE) or ``import`` (a prior dialer's, from a CSV seed).
    """

    channel: str
    at: datetime
    outcome: str | None = None
    debt_ref: str | None = None
    subject: str | None = None
    caller_id: str | None = None
    source: str = "run"

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "debtRef": self.debt_ref,
            "subject": self.subject,
            "callerId": self.caller_id,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ZoneCandidate:
    """A zone the contact may be in, and every source that gave it."""

    zone: str
    sources: tuple[ZoneSource, ...]


@dataclass(frozen=True, slots=True)
class Location:
    """Where the contact may be: every candidate zone, with the sources that gave it.

    ``candidates`` is empty when nothing resolved (a rule that needs a zone then denies:
    the zone is never guessed). ``ambiguous`` is true when more than one zone is possible
    (the sources disagree, or one source gives several zones).
    """

    candidates: tuple[ZoneCandidate, ...]
    # Per source, the zones it gave (``[]``: the source was present but resolved nothing).
    by_source: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    # Per source, the US states (USPS codes) it places the contact in, for the rules
    # scoped to a state (``address.state``, ``address.postalCode``, ``phone``).
    states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(c.zone for c in self.candidates)

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    def proof(self) -> dict[str, Any]:
        return {
            "zones": list(self.zones),
            "ambiguous": self.ambiguous,
            "sources": {k: list(v) for k, v in sorted(self.by_source.items())},
            "problems": list(self.problems),
            "states": {k: list(v) for k, v in sorted(self.states.items())},
        }


@dataclass(frozen=True, slots=True)
class RuleInput:
    """Everything a rule may read about one intended send.

    Attributes:
        tenant, plan_id: Whose send.
        channel: ``voice`` or ``email``.
        at: The instant of the send (aware UTC); rules never read a clock.
        contact: The canonical contact (``adapters.addresses.canonical_contact``).
        location: The candidate zones (``locate.locate``).
        attempts: The contact's earlier attempts (all channels), oldest first; this send
            is not among them.
        debt_ref: The debt this send is about, if the plan names one.
        subject: The subject this send is about (the plan's, or its id).
        consent: The consent record in force for the channel (``checks.latest_consent``).
        opt_out_at: When the contact opted out of (or unsubscribed from) the channel, if
            it did: a consent opt-out or a suppression, whichever is earlier.
    """

    tenant: str
    plan_id: str
    channel: str
    at: datetime
    contact: Mapping[str, Any]
    location: Location
    attempts: tuple[Attempt, ...] = ()
    debt_ref: str | None = None
    subject: str | None = None
    consent: Mapping[str, Any] | None = None
    opt_out_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's verdict on one send.

    ``until`` is set on ``defer``: the first instant (aware UTC, after the input's
    ``at``) at which this rule allows. ``detail`` is JSON-ready proof.
    """

    rule: str
    verdict: Verdict
    reason: str
    until: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict,
            "reason": self.reason,
            "until": None if self.until is None else self.until.isoformat(),
            "detail": dict(self.detail),
        }


class Rule(Protocol):
    """A compliance rule: a name (``<preset>.<rule>``, e.g. ``regf.calling_window``),
    the channels it applies to, and a pure check."""

    @property
    def name(self) -> str: ...

    @property
    def channels(self) -> frozenset[str]: ...

    def check(self, inp: RuleInput) -> RuleResult: ...


__all__ = [
    "CONVERSATION",
    "Attempt",
    "Location",
    "Rule",
    "RuleInput",
    "RuleResult",
    "Verdict",
    "ZoneCandidate",
    "ZoneSource",
]
