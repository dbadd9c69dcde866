"""Stand-in activities for a re-execution: they return what the history recorded.

``stand_ins`` answers each activity call with the outcome the history records for
its (activity, step, visit), at the tick the recorded run handled it; ``Turns``
keeps activity results and external inputs in the history's relative order.
No provider, policy store or database is touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from dee.replay.from_history import last_seq
from dee.replay.history_inputs import HistoryInputs, activity_key

# Real seconds to wait for the re-executed code to reach a point the history reached
# (an activity call, the end); longer means it went another way.
REACH_TIMEOUT = 30.0


class Turns:
    """Keeps activity results and external inputs in the history's relative order."""

    def __init__(self, order: Sequence[str]) -> None:
        self._order = list(order)
        self._pos = 0
        self.lost = False
        self._moved = asyncio.Condition()

    async def take(self, kind: str, timeout: float = REACH_TIMEOUT) -> bool:
        """Wait until ``kind`` is next (or the order is used up); ``False`` on timeout."""

        def ready() -> bool:
            return self._pos >= len(self._order) or self._order[self._pos] == kind

        if self.lost:  # it has gone another way once: do not wait the full time again
            timeout = min(timeout, 1.0)
        async with self._moved:
            try:
                await asyncio.wait_for(self._moved.wait_for(ready), timeout)
            except TimeoutError:
                return False
            return True

    async def done(self) -> None:
        async with self._moved:
            self._pos += 1
            self._moved.notify_all()

    @property
    def finished(self) -> bool:
        return self._pos >= len(self._order)


def stand_ins(
    record: HistoryInputs, turns: Turns, shift_ms: int, clock: Callable[[int], Awaitable[None]]
) -> list[Callable[..., Any]]:
    """The activities a re-execution's worker runs: each returns the outcome ``record``
    holds for its call, once ``turns`` says an activity result is next and ``clock``
    has reached the tick it was handled in. ``shift_ms``: how far the re-execution's
    clock is from the recorded run's (a recorded absolute time moves by it)."""

    async def answer(name: str, req: Any) -> Any:
        queue = record.results.get(activity_key(name, req))
        if not queue:
            raise ApplicationError(
                f"no recorded result for {name} at step {req.step_id} visit {req.visit}",
                type="NotRecorded",
                non_retryable=True,
            )
        outcome = queue.popleft()
        await turns.take("a")
        # The workflow stamps a result with the tick it handles it in: a result that
        # took time (a slow provider) must come back in that tick here too.
        await clock(outcome.at_ms)
        await turns.done()
        if outcome.failure is not None:
            message, kind = outcome.failure
            raise ApplicationError(message, type=kind, non_retryable=True)
        through = last_seq([*req.batch.entries, *(req.batch.pending or ())])
        value = replace(outcome.value, persisted_through_seq=through)
        if isinstance(value, c.PolicyResponse) and value.until_epoch_ms is not None:
            value = replace(value, until_epoch_ms=value.until_epoch_ms + shift_ms)
        return value

    @activity.defn(name=c.APPEND_AUDIT)
    async def append_audit(batch: c.AuditBatch) -> c.AuditAck:
        return c.AuditAck(last_seq([*batch.entries, *(batch.pending or ())]))

    @activity.defn(name=c.CHECK_POLICIES)
    async def check_policies(req: c.PolicyRequest) -> c.PolicyResponse:
        value: c.PolicyResponse = await answer(c.CHECK_POLICIES, req)
        return value

    @activity.defn(name=c.SEND_EMAIL)
    async def send_email(req: c.EmailRequest) -> c.SendResponse:
        value: c.SendResponse = await answer(c.SEND_EMAIL, req)
        return value

    @activity.defn(name=c.SEND_VOICE)
    async def send_voice(req: c.VoiceRequest) -> c.SendResponse:
        value: c.SendResponse = await answer(c.SEND_VOICE, req)
        return value

    return [append_audit, check_policies, send_email, send_voice]
