"""The receiver's one piece of work: turn an authenticated request into ``ingest_event``.

Routes authenticate and parse; this resolves the run (an unknown run is a 404, never
an event for somebody else) and ingests the event under a stable id, so a provider's
retry of the same event is a recorded duplicate, not a second event. A retry is
answered like the first delivery (200), never refused: a provider that meets a 4xx
stops retrying, and re-sending a signed request changes nothing the run has not
already recorded. The answer marks an event ``duplicate`` when this process has
already delivered its id; the run de-duplicates by id regardless (another receiver
process, or this one restarted, cannot tell and says ``false``).

Failures that are not the request's fault (Temporal or the database unreachable)
answer 503: providers retry 5xx but drop an event answered with a 4xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.channels import VoiceChannel
from adapters.storage import DatabaseUnavailable, RunRecord, StorageError
from adapters.tracking import InvalidToken, MessageIndex, Ref, signing_key, verify
from dee.channels import voice_channel
from dee.config import EngineConfig
from dee.engine import Engine, IngestedEvent
from dee.errors import EngineError, EngineUnavailable, UnknownRunError
from dee.tenants import run_of
from dee.webhooks.auth import Refused, forbidden

log = logging.getLogger(__name__)
# What one event may carry into its run. Temporal refuses a message over its gRPC limit
# (4 MB) with an error read as "unreachable" (503), which a provider retries forever;
# a body's field too large to record is the request's fault (413), refused up front.
MAX_EVENT_DATA_BYTES = 64 * 1024


class Recent:
    """A bounded, per-process memory of keys (each with a value), oldest forgotten first."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, key: str) -> bool:
        return key in self._seen

    def get(self, key: str) -> str | None:
        return self._seen.get(key)

    def remember(self, key: str, value: str = "") -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)


@dataclass(frozen=True, slots=True)
class Receipt:
    """An ingested event, and whether this process had already delivered its id."""

    event: IngestedEvent
    duplicate: bool


@dataclass
class Receiver:
    """What every route shares: the engine, its configuration, the index, and the
    per-process memories (events delivered, voicemails left)."""

    engine: Engine
    config: EngineConfig
    index: MessageIndex
    delivered: Recent = field(default_factory=Recent)
    voicemails_left: Recent = field(default_factory=Recent)
    _key: bytes | None = field(default=None, repr=False)
    _voice: VoiceChannel | None = field(default=None, init=False, repr=False)
    _voice_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def voice(self) -> VoiceChannel:
        """The configured voice channel, built on first use and kept (one pool).

        Raises:
            DocumentError: The voice configuration is incomplete or unusable.
        """
        async with self._voice_lock:
            if self._voice is None:
                # Building it may read the private key file: not on the event loop.
                cfg = self.config.channels.voice
                self._voice = await asyncio.to_thread(voice_channel, cfg, Decimal(0))
        return self._voice

    async def aclose(self) -> None:
        """Close the voice channel's connection pool, if one was built."""
        voice, self._voice = self._voice, None
        aclose = getattr(voice, "aclose", None)
        if aclose is not None:
            await aclose()

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
        """The run's row; another tenant's run is as unknown as a missing one (404, the
        same answer: the receiver is bound to its engine's tenant, docs/tenants.md)."""
        try:
            return await run_of(self.engine.runs, self.engine.config.tenant, run_id)
        except UnknownRunError:
            raise Refused(404, f"unknown run {run_id!r}") from None
        except DatabaseUnavailable as exc:
            raise Refused(503, f"cannot look up run {run_id!r}: {exc}") from None

    async def ingest(
        self,
        run_id: str,
        step_id: str,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Signal one event to its run; remembered as delivered once the engine took it.

        Raises:
            Refused: 413 the event's data is too large; 404 unknown run; 422 the engine
                refused the event; 503 Temporal or the database cannot be reached (the
                provider should retry).
        """
        check_size(event_id, data)
        record = await self.run(run_id)
        duplicate = self.was_delivered(run_id, event_id)
        try:
            event = await self.engine.ingest_event(
                type=event_type,
                contact_id=record.contact_id,
                run_id=run_id,
                step_id=step_id,
                data=dict(data or {}),
                event_id=event_id,
            )
        except EngineUnavailable as exc:  # not the event's fault: the provider retries
            raise Refused(503, "; ".join(exc.lines)) from None
        except EngineError as exc:  # the engine refused this event: retrying cannot help
            raise Refused(422, "; ".join(exc.lines)) from None
        except DatabaseUnavailable as exc:
            raise Refused(503, f"cannot record the event: {exc}") from None
        except RuntimeError as exc:
            # temporalio raises a bare RuntimeError when its client cannot connect at all.
            log.warning("event %s for run %s not delivered", event_id, run_id, exc_info=True)
            raise Refused(503, f"cannot reach Temporal: {exc}") from None
        # Only now: a request that failed half-way is retried as a first delivery.
        self.delivered.remember(_delivery_key(run_id, event_id))
        return Receipt(event, duplicate)

    def was_delivered(self, run_id: str, event_id: str) -> bool:
        """Whether this process already delivered ``event_id`` to ``run_id``."""
        return _delivery_key(run_id, event_id) in self.delivered


def check_size(event_id: str, data: Mapping[str, Any] | None) -> None:
    """Refuse (413) an event too large to record; a route that records anything before
    ingesting (a suppression, an opt-out) checks first, so a refusal leaves nothing.

    Raises:
        Refused: 413 the event's id and data exceed ``MAX_EVENT_DATA_BYTES``.
    """
    size = len(json.dumps([event_id, dict(data or {})], default=str).encode())
    if size > MAX_EVENT_DATA_BYTES:
        raise Refused(413, f"event data larger than {MAX_EVENT_DATA_BYTES} bytes ({size})")


def _delivery_key(run_id: str, event_id: str) -> str:
    # Runs de-duplicate per run: the same id sent to another run is no duplicate there.
    return f"{run_id}\x00{event_id}"


def accepted(receipts: list[Receipt]) -> dict[str, Any]:
    """The JSON answer: which event ids went to which runs (empty: the run has ended),
    and whether each is a re-delivery this process had already taken (``duplicate``)."""
    return {
        "accepted": True,
        "events": [
            {"id": r.event.event_id, "runs": list(r.event.run_ids), "duplicate": r.duplicate}
            for r in receipts
        ],
    }


__all__ = ["Receipt", "Receiver", "Recent", "accepted", "check_size"]
