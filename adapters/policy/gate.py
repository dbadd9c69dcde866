"""The policy gate: every send passes it, in a fixed order, before it happens.

Order: suppression -> consent -> hours -> contact cap -> daily limit -> budget. The
first policy that does not allow decides; the later ones are not evaluated. The three
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

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy import budget, checks
from adapters.policy.config import PolicyConfig
from adapters.policy.contact_cap import count_contact_send
from adapters.policy.counter import reserve_send
from adapters.policy.explain import Explanation
from adapters.policy.hours import NoOpening, next_opening
from adapters.policy.limits import stored_limit
from adapters.policy.money import money_text
from adapters.policy.request import GateRequest, PolicyDecision, PolicyName
from adapters.policy.rules.model import Attempt
from adapters.policy.zones import zone
from adapters.privacy import Pseudonyms
from adapters.storage.database import Database


class _Refused(Exception):
    """Carries a reservation refusal out of the transaction, which rolls it back."""

    def __init__(self, decision: PolicyDecision) -> None:
        self.decision = decision
        super().__init__(decision.reason)


class PolicyGate:
    """Evaluates intended sends against the policies.

    Args:
        database: The migrated database holding consent, suppressions, counters, budgets.
        config: The policy configuration (defaults: ``PolicyConfig()``).
    """

    def __init__(
        self,
        database: Database,
        config: PolicyConfig | None = None,
        *,
        pseudonyms: Pseudonyms | None = None,
    ) -> None:
        # ``pseudonyms``: suppressions kept as keyed pseudonyms (after an erasure) match
        # too, and an erased contact is denied first (``erased``).
        self._db = database
        self.config = config or PolicyConfig()
        self._pseudonyms = pseudonyms

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

        Args:
            request: The send, as the gate would be asked.
            attempts: Replaces the ledger read from the database (``--history``).
            presets: Replaces the configured presets (``--preset``).
        """
        raise NotImplementedError

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
            return await self._stop(conn, request, now, "suppression", hit.reason, detail)
        detail["suppression"] = {"keys": keys, "matched": None}

        stop = await self._consent(conn, request, detail)
        if stop is not None:
            return await self._stop(conn, request, now, "consent", stop, detail)

        until, stop = self._hours(request, detail)
        if stop is not None:
            return await self._stop(conn, request, now, "hours", stop, detail, until=until)

        cap = await count_contact_send(
            conn, self._db.dialect, request, self.config.cap_for(request.tenant)
        )
        detail["contact_cap"] = cap.proof()
        if cap.reached:
            raise _Refused(PolicyDecision("deny", "contact_cap", cap.reason(request), None, detail))

        limit = await stored_limit(conn, request.tenant, request.channel)
        if limit is None:
            limit = self.config.daily_limit(request.tenant, request.channel)
        counted = await reserve_send(conn, self._db.dialect, request, limit, now)
        detail["daily_limit"] = counted.proof()
        if counted.reached:
            raise _Refused(self._limit_reached(request, counted.day, limit, detail))

        reservation = await budget.reserve(conn, request, self.config, now)
        detail["budget"] = reservation.proof()
        if not reservation.ok:
            raise _Refused(PolicyDecision("deny", "budget", reservation.reason, None, detail))
        return PolicyDecision("allow", detail=detail)

    async def _consent(
        self, conn: AsyncConnection, request: GateRequest, detail: dict[str, Any]
    ) -> str | None:
        mode = self.config.consent_mode(request.channel)
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
        window = self.config.window(request.channel)
        if window is None:
            detail["hours"] = {"window": None}
            return None, None
        given = request.contact.get("timezone")
        name = self.config.default_timezone if given in (None, "") else given
        proof: dict[str, Any] = {"window": window.describe(), "timezone": name}
        detail["hours"] = proof
        tz = zone(name)
        if tz is None:
            return None, f"contact time zone {name!r} is not a known IANA time zone"
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
        if self.config.on_daily_limit == "defer_next_day":
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
