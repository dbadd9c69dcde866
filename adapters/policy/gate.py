"""The policy gate: every send passes it, in a fixed order, before it happens.

Order: suppression -> consent -> hours -> compliance -> contact cap -> daily limit ->
budget. The first policy that does not allow decides; the later ones are not evaluated.
Compliance is the rule engine (``adapters.policy.rules``) over the contact's ledger and
location (``compliance_stage``); its proof is ``detail["compliance"]``. The three
reservations (the contact's cap, the daily counter, then budget) are made only when
every earlier policy allows, in the *same* transaction as the reads: when the budget
refuses, the counter increment is rolled back with it, so a refused send holds nothing.

Idempotency: the key is (run_id, step_id, visit). A second evaluation of an allowed
send re-runs the read-only policies (a suppression or revocation recorded since still
denies) and, if they still allow, returns ``allow`` with the first reservation's proof,
counting and reserving nothing again. If they now deny or defer, the budget estimate
reserved the first time is released (the send will not happen under that decision);
the daily slot stays counted, because nothing records whether its send already took
place, and over-counting is the fail-closed direction.

Boundary: reads and writes the policy tables of ``adapters.storage``; reads the clock
only for row timestamps; everything the decision depends on comes from the request
(``at`` is the workflow's deterministic "now") and the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy import budget, checks
from adapters.policy.compliance_stage import check_compliance, deciding_reason, opt_out_instant
from adapters.policy.config import PolicyConfig
from adapters.policy.contact_cap import CapCount, count_contact_send
from adapters.policy.counter import reserve_send
from adapters.policy.explain import Explanation, RuleLine
from adapters.policy.hours import NoOpening, next_opening
from adapters.policy.limits import stored_limit
from adapters.policy.money import money_text
from adapters.policy.opt_out_proof import opt_out_clocks
from adapters.policy.request import Decision, GateRequest, PolicyDecision, PolicyName
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.locate import shown
from adapters.policy.rules.model import Attempt
from adapters.policy.zones import zone
from adapters.privacy import Pseudonyms
from adapters.storage.database import Database


class _Refused(Exception):
    """Carries a reservation refusal out of the transaction, which rolls it back."""

    def __init__(self, decision: PolicyDecision) -> None:
        self.decision = decision
        super().__init__(decision.reason)


class _Explained(Exception):
    """Carries an explanation out of its transaction, which rolls back what it reserved."""

    def __init__(self, explanation: Explanation) -> None:
        self.explanation = explanation
        super().__init__(explanation.decision)


class PolicyGate:
    """Evaluates intended sends against the policies.

    Args:
        database: The migrated database holding consent, suppressions, counters, budgets.
        config: The policy configuration (defaults: ``PolicyConfig()``).
        rules: The compliance configuration (presets per deployment, tenant, plan);
            ``None``: no presets, only the general per-channel caps' defaults.
    """

    def __init__(
        self,
        database: Database,
        config: PolicyConfig | None = None,
        *,
        pseudonyms: Pseudonyms | None = None,
        rules: RulesConfig | None = None,
    ) -> None:
        # ``pseudonyms``: suppressions kept as keyed pseudonyms (after an erasure) match
        # too, and an erased contact is denied first (``erased``).
        self._db = database
        self.config = config or PolicyConfig()
        self._pseudonyms = pseudonyms
        self.rules = rules or RulesConfig()

    def _for(self, request: GateRequest) -> PolicyConfig:
        """The configuration the request's tenant is decided by (``policies.tenants``)."""
        return self.config.for_tenant(request.tenant)

    async def evaluate(self, request: GateRequest) -> PolicyDecision:
        """Decide one send: ``allow``, ``defer`` (with ``until``) or ``deny``.

        Raises:
            DatabaseUnavailable: The database cannot be reached (the caller retries:
                nothing was decided).
            PolicyError: The key was used earlier for another tenant or channel.
        """
        try:
            async with self._db.transaction() as conn:
                return await self._evaluate(conn, request)
        except _Refused as refused:
            return refused.decision

    async def explain(
        self,
        request: GateRequest,
        *,
        attempts: Sequence[Attempt] | None = None,
        presets: tuple[str, ...] | None = None,
    ) -> Explanation:
        """The decision ``request`` would get, evaluating every policy and rule, writing
        nothing (``dee policy explain``).

        Every stage is evaluated, even after one did not allow; the decision is the
        first that did not, as ``evaluate`` would decide. The reservations (contact
        cap, daily counter, budget) are made as ``evaluate`` makes them, in a
        transaction that is then rolled back: they answer "would it fit?".

        Args:
            request: The send, as the gate would be asked.
            attempts: Replaces the ledger read from the database (``--history``).
            presets: Replaces the configured presets (``--preset``).
        """
        try:
            async with self._db.transaction() as conn:
                raise _Explained(await self._explain(conn, request, attempts, presets))
        except _Explained as done:
            return done.explanation

    async def _explain(
        self,
        conn: AsyncConnection,
        request: GateRequest,
        attempts: Sequence[Attempt] | None,
        presets: tuple[str, ...] | None,
    ) -> Explanation:
        detail: dict[str, Any] = {}
        now = datetime.now(UTC)
        lines: list[RuleLine] = []
        stops: list[tuple[PolicyName, Decision, str, datetime | None]] = []

        def note(rule: PolicyName, reason: str | None, ok: str, until: Any = None) -> None:
            verdict: Decision = "allow" if reason is None else "deny" if until is None else "defer"
            lines.append(RuleLine(rule, verdict, ok if reason is None else reason))
            if reason is not None:
                stops.append((rule, verdict, reason, until))

        if self._pseudonyms is not None:
            erased = await checks.erased_since(conn, request)
            detail["erased"] = {"at": erased}
            gone = (
                None if erased is None else f"contact {request.contact_id} was erased at {erased}"
            )
            note("erased", gone, "the contact is not erased")
        keys, hit = await checks.find_suppression(conn, request, self._pseudonyms)
        detail["suppression"] = {"keys": keys, "matched": None if hit is None else hit.proof}
        note("suppression", None if hit is None else hit.reason, "no suppression in force")
        stop = await self._consent(conn, request, detail)
        note("consent", stop, f"consent mode {detail['consent']['mode']}: sending is permitted")
        until, stop = self._hours(request, detail)
        note("hours", stop, "inside the channel's hours (or no hours apply)", until)

        record = detail["consent"]["record"]
        rules = await check_compliance(
            conn,
            self._db.dialect,
            request,
            self.rules,
            default_timezone=self.rules.assumed_timezone,
            consent=record,
            opt_out_at=opt_out_instant(record, None if hit is None else hit.proof),
            attempts=attempts,
            presets=presets,
        )
        detail["compliance"] = rules.proof()
        lines += [RuleLine(r.rule, r.verdict, r.reason) for r in rules.results]
        if rules.decision != "allow":
            stops.append(("compliance", rules.decision, deciding_reason(rules), rules.until))

        await self._explain_reservations(conn, request, attempts, now, detail, note)
        if not stops:
            return Explanation("allow", None, None, None, tuple(lines), rules.rules_version, detail)
        policy, decision, reason, until = stops[0]
        return Explanation(
            decision, until, policy, reason, tuple(lines), rules.rules_version, detail
        )

    async def _explain_reservations(
        self,
        conn: AsyncConnection,
        request: GateRequest,
        attempts: Sequence[Attempt] | None,
        now: datetime,
        detail: dict[str, Any],
        note: Callable[..., None],
    ) -> None:
        """The three reservations, made as ``_evaluate`` makes them (the caller rolls
        them back); with ``attempts``, the cap counts those instead of the ledger."""
        cap_for = self._for(request).cap_for(request.tenant)
        if attempts is None:
            cap = await count_contact_send(conn, self._db.dialect, request, cap_for)
        else:
            since = None if cap_for is None else request.at - timedelta(days=cap_for.days)
            earlier = 0 if since is None else sum(1 for a in attempts if a.at > since)
            cap = CapCount(cap_for, earlier, replay=False)
        detail["contact_cap"] = cap.proof()
        reached = cap.reason(request) if cap.reached else None
        note("contact_cap", reached, f"{cap.earlier} earlier sends in the cap's window")

        limit = await stored_limit(conn, request.tenant, request.channel)
        if limit is None:
            limit = self._for(request).daily_limit(request.tenant, request.channel)
        counted = await reserve_send(conn, self._db.dialect, request, limit, now)
        detail["daily_limit"] = counted.proof()
        refused = (
            self._limit_reached(request, counted.day, limit, detail) if counted.reached else None
        )
        note(
            "daily_limit",
            None if refused is None else refused.reason,
            f"send {counted.count} of {'unlimited' if limit is None else limit} on {counted.day}",
            None if refused is None else refused.until,
        )

        reservation = await budget.reserve(conn, request, self._for(request), now)
        detail["budget"] = reservation.proof()
        note("budget", None if reservation.ok else reservation.reason, "the estimate fits")

    async def _evaluate(self, conn: AsyncConnection, request: GateRequest) -> PolicyDecision:
        detail: dict[str, Any] = {}
        now = datetime.now(UTC)

        if self._pseudonyms is not None:  # privacy on: an erased contact is never contacted
            erased = await checks.erased_since(conn, request)
            if erased is not None:
                reason = f"contact {request.contact_id} was erased at {erased}"
                detail["erased"] = {"at": erased}
                return await self._stop(conn, request, now, "erased", reason, detail)

        keys, hit = await checks.find_suppression(conn, request, self._pseudonyms)
        if hit is not None:
            detail["suppression"] = {"keys": keys, "matched": hit.proof}
            self._clocks(request, detail, None, hit.proof)
            return await self._stop(conn, request, now, "suppression", hit.reason, detail)
        detail["suppression"] = {"keys": keys, "matched": None}

        stop = await self._consent(conn, request, detail)
        if stop is not None:
            self._clocks(request, detail, detail["consent"]["record"], None)
            return await self._stop(conn, request, now, "consent", stop, detail)

        until, stop = self._hours(request, detail)
        if stop is not None:
            return await self._stop(conn, request, now, "hours", stop, detail, until=until)

        rules = await check_compliance(
            conn,
            self._db.dialect,
            request,
            self.rules,
            default_timezone=self.rules.assumed_timezone,
            consent=detail["consent"]["record"],
            opt_out_at=opt_out_instant(detail["consent"]["record"], None),
        )
        detail["compliance"] = rules.proof()
        if rules.decision != "allow":
            until = rules.until if rules.decision == "defer" else None
            reason = deciding_reason(rules)
            return await self._stop(conn, request, now, "compliance", reason, detail, until=until)

        cap = await count_contact_send(
            conn, self._db.dialect, request, self._for(request).cap_for(request.tenant)
        )
        detail["contact_cap"] = cap.proof()
        if cap.reached:
            raise _Refused(PolicyDecision("deny", "contact_cap", cap.reason(request), None, detail))

        limit = await stored_limit(conn, request.tenant, request.channel)
        if limit is None:
            limit = self._for(request).daily_limit(request.tenant, request.channel)
        counted = await reserve_send(conn, self._db.dialect, request, limit, now)
        detail["daily_limit"] = counted.proof()
        if counted.reached:
            raise _Refused(self._limit_reached(request, counted.day, limit, detail))

        reservation = await budget.reserve(conn, request, self._for(request), now)
        detail["budget"] = reservation.proof()
        if not reservation.ok:
            raise _Refused(PolicyDecision("deny", "budget", reservation.reason, None, detail))
        return PolicyDecision("allow", detail=detail)

    def _clocks(
        self,
        request: GateRequest,
        detail: dict[str, Any],
        consent: Mapping[str, Any] | None,
        suppression: Mapping[str, Any] | None,
    ) -> None:
        """An opt-out stopped the send: the opt-out clocks' proof joins the detail."""
        clocks = opt_out_clocks(request, self.rules, consent=consent, suppression=suppression)
        if clocks is not None:
            detail["optOutClocks"] = clocks

    async def _consent(
        self, conn: AsyncConnection, request: GateRequest, detail: dict[str, Any]
    ) -> str | None:
        mode = self._for(request).consent_mode(request.channel)
        record = await checks.latest_consent(conn, request)
        detail["consent"] = {"mode": mode, "record": record}
        if record is not None and record["status"] == "opted_out":
            return (
                f"contact opted out of {request.channel} at {record['recorded_at']} "
                f"(source {record['source']})"
            )
        if mode == "required" and record is None:
            return f"no consent on record for {request.channel}, where consent is required"
        return None

    def _hours(
        self, request: GateRequest, detail: dict[str, Any]
    ) -> tuple[datetime | None, str | None]:
        window = self._for(request).window(request.channel)
        if window is None:
            detail["hours"] = {"window": None}
            return None, None
        given = request.contact.get("timezone")
        name = self._for(request).default_timezone if given in (None, "") else given
        # A hostile zone name is recorded cut short (it travels into the audit chain).
        recorded = name if len(repr(name)) <= 80 else shown(name)
        proof: dict[str, Any] = {"window": window.describe(), "timezone": recorded}
        detail["hours"] = proof
        tz = zone(name)
        if tz is None:
            return None, f"contact time zone {shown(name)} is not a known IANA time zone"
        proof["local_time"] = request.at.astimezone(tz).isoformat()
        try:
            opening = next_opening(request.at, tz, window)
        except NoOpening as error:
            return None, str(error)
        if opening is None:
            return None, None
        proof["opening"] = opening.isoformat()
        proof["opening_local"] = opening.astimezone(tz).isoformat()
        return opening, (
            f"outside {request.channel} hours {window.start:%H:%M}-{window.end:%H:%M} "
            f"in {name} (local {proof['local_time']}); deferred to {proof['opening_local']}"
        )

    def _limit_reached(
        self, request: GateRequest, day: date, limit: int | None, detail: dict[str, Any]
    ) -> PolicyDecision:
        reason = (
            f"daily {request.channel} limit of {limit} reached for tenant {request.tenant} "
            f"on {day} (UTC)"
        )
        if self._for(request).on_daily_limit == "defer_next_day":
            until = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
            reason += f"; deferred to the next UTC day {until.isoformat()}"
            return PolicyDecision("defer", "daily_limit", reason, until, detail)
        return PolicyDecision("deny", "daily_limit", reason, None, detail)

    async def _stop(
        self,
        conn: AsyncConnection,
        request: GateRequest,
        now: datetime,
        policy: PolicyName,
        reason: str,
        detail: dict[str, Any],
        *,
        until: datetime | None = None,
    ) -> PolicyDecision:
        """A read-only policy did not allow: release what an earlier allow reserved."""
        key = (request.run_id, request.step_id, request.visit)
        released = await budget.settle(conn, key, None, now)
        if released is not None:
            detail["released_budget_estimate"] = money_text(released["estimate_micros"])
        return PolicyDecision("deny" if until is None else "defer", policy, reason, until, detail)


__all__ = ["PolicyGate"]
