"""What-if against a new rules version: recorded sends re-decided under other rules.

``dee replay --runs QUERY --rules SETTINGS.yaml`` (or ``--preset NAME``, or one
``RUN_ID``) reads each selected run as recorded (``rules_sources``) and, for every
``policy_check`` entry of its chain, rebuilds the rules' input as the gate had it:
the instant (the entry's tick on the run's clock), the channel (the plan step's), the
contact (the run's), the debt, subject and plan presets (the plan's ``compliance``
block on the run), the consent record the gate recorded, and the contact's ledger
attempts before that instant (the send's own row left out). The new rules evaluate it
(``adapters.policy.rules.engine.evaluate``): pure, nothing is written.

The gate's other policies are not re-decided: a send that suppression, consent or
hours stopped before the rules keeps its recorded decision, and a send the rules now
let through keeps what the stages after them (contact cap, daily limit, budget)
recorded. A send diverges when its decision changes, or a deferral's instant does.
Runs recorded before the rules engine (no compliance proof) are re-decided the same
way; their recorded ``rulesVersion`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client

from adapters.addresses import ContactAddressError, canonical_contact
from adapters.policy.compliance_stage import LOOKBACK, opt_out_instant
from adapters.policy.ledger import read_attempts
from adapters.policy.rules.engine import evaluate
from adapters.policy.rules.locate import locate
from adapters.policy.rules.model import RuleInput
from adapters.policy.rules.presets import UnknownPreset
from adapters.storage import AuditStore, Database
from dee.errors import EngineError
from dee.replay.rules_sources import NewRules, RecordedRun, recorded_run
from dee.replay.what_if import selected_runs
from interpreter.compliance import compliance_inputs
from interpreter.machine_gate import channel_of
from interpreter.plan import is_send_step

_DECISIONS = {"allowed": "allow", "deferred": "defer", "denied": "deny"}
# Policies the gate evaluates before the compliance rules (or instead of the gate:
# ``input``, ``channel``): their decisions stand. Any other policy came after the rules.
_BEFORE_RULES = frozenset({"erased", "suppression", "consent", "hours", "input", "channel"})


@dataclass(frozen=True, slots=True)
class Decided:
    """One side of a send's comparison (as recorded, or under the new rules).

    ``policy`` is the gate policy that decided (``None`` on allow); ``rule`` the
    compliance rule that did, when the rules decided.
    """

    decision: str
    policy: str | None
    rule: str | None
    until: datetime | None
    rules_version: str | None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "policy": self.policy,
            "rule": self.rule,
            "reason": self.reason,
            "until": None if self.until is None else self.until.astimezone(UTC).isoformat(),
            "rulesVersion": self.rules_version,
        }


@dataclass(frozen=True, slots=True)
class SendChange:
    """A recorded send re-decided: where it was, what was decided and what would be."""

    step_id: str
    visit: int
    seq: int
    tick: int
    at: datetime
    channel: str
    recorded: Decided
    new: Decided

    @property
    def diverged(self) -> bool:
        return self.new.decision != self.recorded.decision or (
            self.new.decision == "defer" and self.new.until != self.recorded.until
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "stepId": self.step_id,
            "visit": self.visit,
            "seq": self.seq,
            "tick": self.tick,
            "at": self.at.isoformat(),
            "channel": self.channel,
            "diverged": self.diverged,
            "recorded": self.recorded.as_dict(),
            "new": self.new.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class RunRules:
    """One run's sends re-decided, divergences first (then in chain order)."""

    run_id: str
    sends: tuple[SendChange, ...]

    @property
    def diverged(self) -> int:
        return sum(s.diverged for s in self.sends)

    def as_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "diverged": self.diverged,
            "sends": [s.as_dict() for s in self.sends],
        }


@dataclass(frozen=True, slots=True)
class RulesReport:
    """Every selected run re-decided; runs with a divergence first."""

    changes: tuple[RunRules, ...]

    @property
    def sends(self) -> int:
        return sum(len(r.sends) for r in self.changes)

    @property
    def diverged(self) -> int:
        return sum(r.diverged for r in self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": len(self.changes),
            "runsDiverged": sum(1 for r in self.changes if r.diverged),
            "sends": self.sends,
            "diverged": self.diverged,
            "changes": [r.as_dict() for r in self.changes],
        }


async def rules_what_if_query(
    client: Client,
    audit: AuditStore,
    database: Database,
    rules: NewRules,
    query: str,
    *,
    limit: int | None = None,
) -> RulesReport:
    """The runs a Temporal visibility query selects, each send re-decided under ``rules``.

    Raises:
        EngineError: the server refused the query, or a run cannot be read whole.
    """
    ids = await selected_runs(client, query, limit)
    return await rules_what_if_runs(client, audit, database, rules, ids)


async def rules_what_if_runs(
    client: Client, audit: AuditStore, database: Database, rules: NewRules, ids: Sequence[str]
) -> RulesReport:
    """Runs ``ids``, each send re-decided under ``rules`` (see the module docstring)."""
    found = []
    for run_id in ids:
        run = await recorded_run(client, audit, run_id)
        async with database.snapshot() as conn:
            found.append(await redecide(conn, run, rules))
    ordered = sorted(found, key=lambda r: r.diverged == 0)  # stable: selection order kept
    return RulesReport(tuple(ordered))


async def redecide(conn: AsyncConnection, run: RecordedRun, rules: NewRules) -> RunRules:
    """Every ``policy_check`` of ``run`` re-decided under ``rules``.

    Raises:
        EngineError: the run's plan names a preset this version does not know, or its
            contact is no longer a valid one.
    """
    inp, plan = run.run_input, run.plan
    try:
        contact = canonical_contact(inp.contact)
    except ContactAddressError as exc:
        raise EngineError([f"run {inp.run_id}: contact.{exc.field}: {exc.reason}"]) from None
    about = compliance_inputs(plan.compliance, inp.contact, inp.variables)
    try:
        rule_set = rules.config.rule_set(
            inp.tenant, plan.id, about.presets, override=rules.override
        )
    except UnknownPreset as exc:
        raise EngineError([f"run {inp.run_id}: {exc}"]) from None
    location = locate(contact, rules.config.assumed_timezone)
    steps = {s.id: s for s in plan.steps}
    sends: list[SendChange] = []
    visits: dict[str, int] = {}
    for entry in run.entries:
        step_id = str(entry.get("step_id", entry.get("stepId")))
        if entry["action"] == "enter":
            visits[step_id] = _visit_of(entry)
        if entry["action"] != "policy_check" or entry["outcome"] not in _DECISIONS:
            continue
        step = steps.get(step_id)
        if not is_send_step(step):
            continue  # a chain that does not match its plan: nothing to re-decide
        tick, detail = int(entry["tick"]), entry.get("detail") or {}
        at = _instant(run.instant_ms(tick), detail)
        recorded = _recorded(run, entry["outcome"], detail)
        visit = visits.get(step_id, 0)
        if recorded.policy in _BEFORE_RULES:
            reason = f"the {recorded.policy} policy decides before the compliance rules"
            new = Decided(
                recorded.decision, recorded.policy, None, recorded.until, rule_set.version, reason
            )
        else:
            key = (inp.run_id, step_id, visit)
            found = await read_attempts(
                conn, inp.tenant, str(contact["id"]), at - LOOKBACK, exclude=key
            )
            consent = _record(detail)
            rule_input = RuleInput(
                tenant=inp.tenant,
                plan_id=plan.id,
                channel=channel_of(step),
                at=at,
                contact=contact,
                location=location,
                attempts=tuple(a for a in found if a.at < at),
                debt_ref=about.debt_ref,
                subject=about.subject,
                consent=consent,
                opt_out_at=opt_out_instant(consent, None),
            )
            decision = evaluate(
                rule_set.rules, rule_input, rule_set.version, presets=rule_set.presets
            )
            if decision.decision != "allow":
                until = decision.until if decision.decision == "defer" else None
                new = Decided(
                    decision.decision, "compliance", decision.rule, until,
                    rule_set.version, decision.reason,
                )  # fmt: skip
            elif recorded.policy not in (None, "compliance"):
                reason = f"the rules allow; the {recorded.policy} policy decided after them"
                new = Decided(
                    recorded.decision, recorded.policy, None, recorded.until,
                    rule_set.version, reason,
                )  # fmt: skip
            else:
                new = Decided("allow", None, None, None, rule_set.version)
        seq = int(entry.get("seq", 0))
        sends.append(SendChange(step_id, visit, seq, tick, at, channel_of(step), recorded, new))
    ordered = sorted(sends, key=lambda s: not s.diverged)  # stable: chain order kept
    return RunRules(inp.run_id, tuple(ordered))


def _visit_of(entry: Mapping[str, Any]) -> int:
    """The visit an ``enter`` entry counts (its outcome is ``visit:<n>``)."""
    _, _, number = str(entry["outcome"]).partition(":")
    return int(number) if number.isdigit() else 0


def _instant(run_ms: int, detail: Mapping[str, Any]) -> datetime:
    """The instant the gate decided at: ``checkedAt`` where the check ran late (retried
    through an outage: ``activities.policy``), else the run's clock."""
    recorded = detail.get("checkedAt")
    if isinstance(recorded, str):
        try:
            at = datetime.fromisoformat(recorded)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at.astimezone(UTC)
    return datetime.fromtimestamp(run_ms / 1000, tz=UTC)


def _recorded(run: RecordedRun, outcome: str, detail: Mapping[str, Any]) -> Decided:
    """The decision as the entry records it; a compliance deferral's instant from its
    proof, another deferral's from the entry's ``untilTick``."""
    proof = detail.get("compliance")
    proof = proof if isinstance(proof, Mapping) else {}
    policy = detail.get("policy")
    policy = policy if isinstance(policy, str) else None
    decision = _DECISIONS[outcome]
    until = None
    if decision == "defer":
        if policy == "compliance" and isinstance(proof.get("until"), str):
            until = datetime.fromisoformat(proof["until"])
        elif isinstance(detail.get("untilTick"), int):
            until = datetime.fromtimestamp(run.instant_ms(detail["untilTick"]) / 1000, tz=UTC)
    rule = proof.get("rule") if policy == "compliance" else None
    version = proof.get("rulesVersion")
    reason = detail.get("reason")
    return Decided(
        decision,
        policy,
        rule if isinstance(rule, str) else None,
        until,
        version if isinstance(version, str) else None,
        reason if isinstance(reason, str) else None,
    )


def _record(detail: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The consent record the gate read for the send (``detail.consent.record``)."""
    consent = detail.get("consent")
    record = consent.get("record") if isinstance(consent, Mapping) else None
    return record if isinstance(record, Mapping) else None


__all__ = [
    "Decided",
    "RulesReport",
    "RunRules",
    "SendChange",
    "redecide",
    "rules_what_if_query",
    "rules_what_if_runs",
]
