"""Combines rule results into one decision: any deny denies, else any deferral defers to
the first instant at which *every* rule allows, else the send is allowed.

Boundary: pure and deterministic (no clock): the same rules, input and version give the
same decision, so a recorded decision can be recomputed from its proof.

The next permitted instant is searched, not guessed: each deferring rule names the
first instant it would allow; the search jumps to the latest of them and evaluates
every rule again there (the attempts are unchanged: nothing is sent meanwhile), until
all allow. Each rule's ``until`` is its earliest allowed instant, so nothing before the
instant found allows every rule. The search is bounded (``MAX_ROUNDS`` jumps within
``MAX_SPAN``); past the bound, or when a rule denies at a later instant, the send is
denied: a deferral never points at an instant that has not been checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from adapters.policy.rules.model import Rule, RuleInput, RuleResult, Verdict

MAX_ROUNDS = 64
MAX_SPAN = timedelta(days=40)


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
        presets: The presets the rules came from (``config.RuleSet.presets``).
        search: On a deferral (or a deferral that found no permitted instant), each
            instant tried after the send's: ``{"at", "rule", "until"}`` of the rule
            that pushed the search further.
    """

    decision: Verdict
    until: datetime | None
    rule: str | None
    reason: str | None
    results: tuple[RuleResult, ...]
    rules_version: str
    location: dict[str, Any]
    presets: tuple[str, ...] = ()
    search: tuple[dict[str, Any], ...] = ()

    def proof(self) -> dict[str, Any]:
        """JSON-ready detail for the audit entry."""
        proof: dict[str, Any] = {
            "rulesVersion": self.rules_version,
            "presets": list(self.presets),
            "decision": self.decision,
            "until": None if self.until is None else self.until.isoformat(),
            "rule": self.rule,
            "reason": self.reason,
            "location": self.location,
            "rules": [result.as_json() for result in self.results],
        }
        if self.search:
            proof["search"] = [dict(step) for step in self.search]
        return proof


def evaluate(
    rules: Sequence[Rule], inp: RuleInput, version: str, *, presets: tuple[str, ...] = ()
) -> RulesDecision:
    """Every rule applicable to ``inp.channel``, evaluated at ``inp.at``; on a deferral,
    the first later instant at which every rule allows (bounded search)."""
    applicable = [rule for rule in rules if inp.channel in rule.channels]
    results = tuple(_check(rule, inp) for rule in applicable)

    def decide(
        verdict: Verdict,
        until: datetime | None = None,
        by: RuleResult | None = None,
        reason: str | None = None,
        search: tuple[dict[str, Any], ...] = (),
    ) -> RulesDecision:
        return RulesDecision(
            verdict,
            until,
            None if by is None else by.rule,
            reason if reason is not None or by is None else by.reason,
            results,
            version,
            inp.location.proof(),
            presets,
            search,
        )

    denied = next((r for r in results if r.verdict == "deny"), None)
    if denied is not None:
        return decide("deny", by=denied)
    deferring = _latest(results)
    if deferring is None:
        return decide("allow")
    found = _search(applicable, inp, deferring)
    if found.until is None:
        return decide("deny", by=deferring, reason=found.failure, search=found.steps)
    reason = deferring.reason
    if found.until != deferring.until:
        last = found.steps[-1]
        reason += f"; then {last['rule']} deferred to {found.until.isoformat()}"
    return decide("defer", found.until, deferring, reason, found.steps)


def _check(rule: Rule, inp: RuleInput) -> RuleResult:
    """The rule's result; one whose instants leave the calendar (an attempt recorded at
    9999-12-31, a send asked about at its edge) denies instead of raising, since no
    permitted instant can be named (fail-closed)."""
    try:
        return rule.check(inp)
    except OverflowError:
        reason = (
            f"an instant the rule needs at {inp.at.isoformat()} is beyond the calendar's "
            "range (an attempt or send dated near year 9999?): no permitted instant"
        )
        return RuleResult(rule.name, "deny", reason)


def _latest(results: Sequence[RuleResult]) -> RuleResult | None:
    """The deferring result with the latest ``until`` (the first of equals)."""
    latest: RuleResult | None = None
    for result in results:
        if result.verdict == "defer" and (latest is None or _until(result) > _until(latest)):
            latest = result
    return latest


def _until(result: RuleResult) -> datetime:
    if result.until is None:
        raise ValueError(f"rule {result.rule} deferred without naming an instant")
    return result.until


@dataclass(frozen=True, slots=True)
class _Found:
    until: datetime | None
    steps: tuple[dict[str, Any], ...]
    failure: str = ""


def _search(rules: Sequence[Rule], inp: RuleInput, first: RuleResult) -> _Found:
    steps = [_step(inp.at, first)]
    previous, t, pusher = inp.at, _until(first), first
    for _ in range(MAX_ROUNDS):
        if t <= previous:
            failure = f"{pusher.rule} deferred {previous.isoformat()} to no later instant"
            return _Found(None, tuple(steps), failure)
        if t - inp.at > MAX_SPAN:
            break
        later = [_check(rule, replace(inp, at=t)) for rule in rules]
        denied = next((r for r in later if r.verdict == "deny"), None)
        if denied is not None:
            failure = f"deferred to {t.isoformat()}, where {denied.rule} denies: {denied.reason}"
            return _Found(None, tuple(steps), failure)
        pushed = _latest(later)
        if pushed is None:
            return _Found(t, tuple(steps))
        steps.append(_step(t, pushed))
        previous, t, pusher = t, _until(pushed), pushed
    failure = (
        f"no permitted instant within {MAX_SPAN.days} days ({MAX_ROUNDS} rounds) of "
        f"{inp.at.isoformat()}: {first.reason}"
    )
    return _Found(None, tuple(steps), failure)


def _step(at: datetime, result: RuleResult) -> dict[str, Any]:
    return {"at": at.isoformat(), "rule": result.rule, "until": _until(result).isoformat()}


__all__ = ["MAX_ROUNDS", "MAX_SPAN", "RulesDecision", "evaluate"]
