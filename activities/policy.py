"""The policy gate activity: persist the pending audit entries, then ask the gate.

Retried safely: the gate's reservations are keyed by (run, step, visit), so a
retried check after a crash neither counts a send twice nor reserves twice.

The decision's detail and reason enter the hash-chained audit log, which holds no
raw personal data: with ``privacy``, the contact's addresses in them become keyed
pseudonyms and its names ``[field]`` (``adapters.privacy.Redactor``); the gate
denies a contact erased since its run started (``erased``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from activities.bookkeeping import Bookkeeper, retryable
from activities.contracts import PolicyRequest, PolicyResponse
from adapters.policy import GateRequest, PolicyGate
from adapters.policy.errors import PolicyError
from adapters.privacy import Privacy
from adapters.storage import StorageError
from interpreter.commands import UnknownChannel, channel_named

# A check this much later than the run's asking is recorded with its own instant.
LATE_CHECK = timedelta(minutes=1)


class PolicyChecker:
    def __init__(
        self, bookkeeper: Bookkeeper, gate: PolicyGate, privacy: Privacy | None = None
    ) -> None:
        self._books = bookkeeper
        self._gate = gate
        self._privacy = privacy

    async def check(self, req: PolicyRequest) -> PolicyResponse:
        response = await self._check(req)
        if self._privacy is None:
            return response
        redactor = self._privacy.pseudonyms.redactor(req.contact)
        reason = None if response.reason is None else redactor.text(response.reason)
        return replace(response, reason=reason, detail=redactor.tree(response.detail))

    async def _check(self, req: PolicyRequest) -> PolicyResponse:
        persisted = await self._books.persist(req.batch)
        # The workflow's time of asking, or later if the check itself ran late (a retry
        # after an outage): hours and the counter's day must hold when the send happens.
        asked = datetime.fromtimestamp(req.at_epoch_ms / 1000, tz=UTC)
        at = max(asked, datetime.now(UTC))
        try:
            # Never guessed: a channel this worker does not know is denied, not sent as
            # another (a worker older than the plan's channel must not place a call).
            channel = channel_named(req.channel)
        except UnknownChannel as exc:
            return PolicyResponse("deny", persisted, policy="channel", reason=str(exc))
        try:
            request = GateRequest(
                tenant=req.tenant,
                run_id=req.run_id,
                plan_id=req.plan_id,
                step_id=req.step_id,
                visit=req.visit,
                channel=channel,
                contact=req.contact,
                at=at,
                max_duration_seconds=req.max_duration_seconds,
                debt_ref=req.debt_ref,
                # Florida's and Oklahoma's counts are per subject; a plan that names
                # none is about anything, so every call to the contact counts.
                subject=req.subject,
                presets=tuple(req.presets),
                caller_id=req.caller_id,
            )
            decision = await self._gate.evaluate(request)
        except PolicyError as exc:  # bad input is a denial with the reason, fail-closed
            return PolicyResponse("deny", persisted, policy="input", reason=str(exc))
        except StorageError as exc:  # nothing was decided: the activity retries
            raise retryable(exc) from None
        until = None
        if decision.until is not None:
            until = int(decision.until.timestamp() * 1000)
        detail = dict(decision.detail)
        if at - asked >= LATE_CHECK:
            # Decided well after the run asked (retries through an outage): the record
            # names the instant every policy read, so what-if re-decides at it. A check
            # on time records nothing here, so equal runs keep equal records.
            detail["checkedAt"] = at.isoformat()
        if req.debt_ref_problem is not None:
            # The plan names a debt the run has no value for: the decision's record
            # says so beside what the rules made of a send without one.
            detail["debtRef"] = {"problem": req.debt_ref_problem}
        return PolicyResponse(
            decision.decision,
            persisted,
            policy=decision.policy,
            reason=decision.reason,
            until_epoch_ms=until,
            detail=detail,
        )
