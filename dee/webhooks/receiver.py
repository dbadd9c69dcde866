"""The receiver's one piece of work: turn an authenticated request into ``ingest_event``.

Routes authenticate and parse; this resolves the run (an unknown run is a 404, never
an event for somebody else) and signals the event under a stable id, so a provider's
retry of the same event is a recorded duplicate, not a second event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.storage import RunRecord, StorageError, UnknownRun
from adapters.tracking import InvalidToken, MessageIndex, Ref, signing_key, verify
from dee.config import EngineConfig
from dee.engine import Engine, IngestedEvent
from dee.errors import EngineError
from dee.webhooks.auth import Refused, ReplayGuard, forbidden


@dataclass
class Receiver:
    """What every route shares: the engine, its configuration, the index, replay memory."""

    engine: Engine
    config: EngineConfig
    index: MessageIndex
    guard: ReplayGuard = field(default_factory=ReplayGuard)
    _key: bytes | None = field(default=None, repr=False)

    async def signing_key(self) -> bytes:
        """The key the worker signs with: configured, or the one stored in the database.

        Read once: a stored key is never replaced, and a configured one needs a restart.
        """
        if self._key is None:
            try:
                self._key = await signing_key(self.config.webhooks.secret, self.engine.database)
            except StorageError as exc:  # nothing can be verified without it
                raise Refused(503, f"the webhook signing key is unavailable: {exc}") from None
        return self._key

    async def verify_token(self, purpose: str, token: str, bound: str = "") -> Ref:
        """The send a tracking token names; 403 for a forged or foreign token."""
        try:
            return verify(await self.signing_key(), purpose, token, bound)
        except InvalidToken as exc:
            raise forbidden(f"invalid {purpose} token: {exc}") from None

    async def run(self, run_id: str) -> RunRecord:
        try:
            return await self.engine.runs.get(run_id)
        except UnknownRun:
            raise Refused(404, f"unknown run {run_id!r}") from None

    async def ingest(
        self,
        run_id: str,
        step_id: str,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any] | None = None,
    ) -> IngestedEvent:
        """Signal one event to its run. 404: unknown run; 422: the engine refused it."""
        record = await self.run(run_id)
        try:
            return await self.engine.ingest_event(
                type=event_type,
                contact_id=record.contact_id,
                run_id=run_id,
                step_id=step_id,
                data=dict(data or {}),
                event_id=event_id,
            )
        except EngineError as exc:
            raise Refused(422, "; ".join(exc.lines)) from None


def accepted(events: list[IngestedEvent]) -> dict[str, Any]:
    """The JSON answer: which event ids went to which runs (empty: the run has ended)."""
    return {
        "accepted": True,
        "events": [{"id": e.event_id, "runs": list(e.run_ids)} for e in events],
    }


__all__ = ["Receiver", "accepted"]
