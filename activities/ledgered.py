"""One send behind the send ledger: never twice, never "failed" when it may have gone out.

Before the provider is called the ledger records the send's intent and attempt; after,
its outcome. What an attempt finds in the ledger decides what it does:

* nothing: the first attempt. Call the provider.
* an outcome, and this is the same activity retried (its completion was lost on the
  way back): answer with that outcome; call nobody.
* an attempt without an outcome, and this is the same activity retried (the worker
  died mid-send): ``unknown`` at once; call nobody.
* nothing, but this activity was retried and was first scheduled more than
  ``DECISION_AGE`` ago (a database outage held its attempts): ``failed``; call nobody.
  The policy gate allowed the send when it was scheduled, and a call placed an hour
  later may be past the calling window or a frequency cap; an operator's retry asks
  the gate again.
* an earlier activity's attempt (an operator's retry after ``unknown`` or ``failed``):
  a failed send is sent again; an unknown one is first looked up at the provider
  (reconciliation). Found: ``delivered`` (reconciled), no second request. Not found:
  sent again. The provider cannot be asked (SMTP): ``unknown`` again, unless the
  operator asked for ``--resend``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities.bookkeeping import retryable
from activities.contracts import SendResponse
from adapters.channels import ChannelError, SendLookup
from adapters.storage import LedgerRow, SendKey, SendLedger, StorageError

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0
# How far before the recorded intent a provider lookup starts: clocks differ.
LOOKUP_SLACK = timedelta(minutes=5)
Lookup = Callable[[LedgerRow], Awaitable[SendLookup]]
# How long a gate's allow holds for a retried send (the first attempt is bounded by its
# schedule-to-start timeout, 5 minutes, and its start-to-close timeout).
DECISION_AGE = timedelta(minutes=10)


@asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the block runs, so a dead worker's send is noticed in seconds."""
    if not activity.in_activity():
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def _attempt() -> int:
    return activity.info().attempt if activity.in_activity() else 1


def _stale() -> str | None:
    """Why a retried attempt must not send on its policy decision, if it must not."""
    if _attempt() <= 1:
        return None
    scheduled = activity.info().scheduled_time
    age = datetime.now(UTC) - scheduled
    if age <= DECISION_AGE:
        return None
    return (
        f"stale_policy_decision: the send was scheduled at {scheduled.isoformat()} and "
        f"retried for {age // timedelta(minutes=1)} minutes; not sent on a policy decision "
        "that old (calling hours, frequency caps): retry the run to ask the gate again"
    )


class LedgeredSend:
    """Runs one provider call under the ledger's rules (module docstring)."""

    def __init__(self, ledger: SendLedger) -> None:
        self._ledger = ledger

    async def send(
        self,
        key: SendKey,
        *,
        channel: str,
        provider: str,
        message_key: str,
        resend: bool,
        persisted: int,
        call: Callable[[str], Awaitable[SendResponse]],
        lookup: Lookup,
    ) -> SendResponse:
        """Send under the ledger; ``call`` gets the message key to send with.

        That is ``message_key``, or the key an earlier attempt recorded: a send begun
        before its key was derived differently (the Message-ID became keyed, the key
        was rotated) goes out again under the id the first attempt used, which the
        provider was asked about and recipients de-duplicate on.
        """
        try:
            earlier = await self._ledger.begin(
                key, channel=channel, provider=provider, message_key=message_key
            )
            if earlier is not None:
                known = await self._from_earlier(earlier, key, resend, persisted, lookup)
                if known is not None:
                    return known
            stale = _stale()
            if stale is not None:
                await self._ledger.settle(key, "failed", note={"reason": stale})
                return SendResponse("failed", persisted, reason=stale, provider=provider)
        except StorageError as exc:  # nothing was sent: the activity retries
            raise retryable(exc) from None
        response = await call(message_key if earlier is None else earlier.message_key)
        try:
            await self._ledger.settle(
                key,
                "delivered" if response.status == "delivered" else "failed",
                provider_message_id=response.provider_message_id,
                note={"reason": response.reason} if response.reason else None,
            )
        except StorageError:  # the answer stands; a later attempt finds the attempt open
            log.exception("send ledger: could not record the outcome of %s", key)
        return response

    async def _from_earlier(
        self, earlier: LedgerRow, key: SendKey, resend: bool, persisted: int, lookup: Lookup
    ) -> SendResponse | None:
        """The answer an earlier attempt already decides, or ``None`` to call the provider."""
        retried = _attempt() > 1  # the same activity again, not an operator's retry
        if earlier.outcome in ("delivered", "failed") and (
            retried or earlier.outcome == "delivered"
        ):
            return _recorded(earlier, persisted)
        if earlier.outcome == "failed":  # an operator's retry of a failed send: send again
            await self._ledger.attempt_again(key, why="retry after failed")
            return None
        if retried:
            reason = (
                "the send's worker stopped before the provider's answer was recorded "
                f"(attempt {earlier.attempts}); the provider may have the message"
            )
            await self._ledger.settle(key, "unknown", note={"reason": reason})
            return SendResponse("unknown", persisted, reason=reason, provider=earlier.provider)
        return await self._reconcile(earlier, key, resend, persisted, lookup)

    async def _reconcile(
        self, earlier: LedgerRow, key: SendKey, resend: bool, persisted: int, lookup: Lookup
    ) -> SendResponse | None:
        try:
            found = await lookup(earlier)
        except ChannelError as exc:
            reason = f"reconciliation failed: {exc.code}: {exc.message}"
            await self._ledger.settle(key, "unknown", note={"reason": reason})
            return SendResponse("unknown", persisted, reason=reason, provider=earlier.provider)
        if found.status == "found":
            await self._ledger.settle(
                key,
                "delivered",
                provider_message_id=found.provider_message_id,
                note={"reconciled": True},
            )
            return SendResponse(
                "delivered",
                persisted,
                provider=earlier.provider,
                provider_message_id=found.provider_message_id,
                reconciled=True,
            )
        if found.status == "not_found":
            await self._ledger.attempt_again(key, why="the provider has no record of it")
            return None
        if resend:
            await self._ledger.attempt_again(key, why="operator resend")
            return None
        reason = (
            f"{earlier.provider} cannot be asked whether the earlier attempt went out; "
            "retry with --resend to send again, or resolve --mark-sent if it did"
        )
        await self._ledger.settle(key, "unknown", note={"reason": reason})
        return SendResponse("unknown", persisted, reason=reason, provider=earlier.provider)


def _recorded(row: LedgerRow, persisted: int) -> SendResponse:
    reason = row.detail.get("reason")
    return SendResponse(
        "delivered" if row.outcome == "delivered" else "failed",
        persisted,
        reason=reason if isinstance(reason, str) else None,
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        reconciled=row.outcome == "delivered",
    )


__all__ = ["DECISION_AGE", "LOOKUP_SLACK", "LedgeredSend", "heartbeating"]
