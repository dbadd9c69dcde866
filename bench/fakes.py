"""Instant activities under the real contract names, shared by both sides of scenario 1.

The point of scenario 1 is the workflow's cost, so the world answers at once: the
policy gate allows, every send is delivered with a receipt, audit batches are
acknowledged (nothing is stored, so memory stays flat over thousands of runs). Both
the engine and the hand-written workflow get exactly these callables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities import contracts as c

Call = tuple[str, str]  # (activity name, step id), for the equivalence test


def _entries(batch: c.AuditBatch) -> list[dict[str, Any]]:
    return [*batch.entries, *(batch.pending or ())]


def _through(batch: c.AuditBatch) -> int:
    return max((int(e["seq"]) for e in _entries(batch)), default=0)


def bench_activities(calls: list[Call] | None = None) -> list[Callable[..., Any]]:
    """The four activities; with ``calls``, each appends what it was asked to do."""

    def note(name: str, step_id: str) -> None:
        if calls is not None:
            calls.append((name, step_id))

    @activity.defn(name=c.APPEND_AUDIT)
    async def append_audit(batch: c.AuditBatch) -> c.AuditAck:
        entries = _entries(batch)
        note(c.APPEND_AUDIT, entries[-1]["step_id"] if entries else "")
        return c.AuditAck(_through(batch))

    @activity.defn(name=c.CHECK_POLICIES)
    async def check_policies(req: c.PolicyRequest) -> c.PolicyResponse:
        note(c.CHECK_POLICIES, req.step_id)
        return c.PolicyResponse("allow", _through(req.batch))

    @activity.defn(name=c.SEND_EMAIL)
    async def send_email(req: c.EmailRequest) -> c.SendResponse:
        note(c.SEND_EMAIL, req.step_id)
        return c.SendResponse(
            "delivered", _through(req.batch), provider="bench", provider_message_id="m", cost="0"
        )

    @activity.defn(name=c.SEND_VOICE)
    async def send_voice(req: c.VoiceRequest) -> c.SendResponse:
        note(c.SEND_VOICE, req.step_id)
        return c.SendResponse(
            "delivered", _through(req.batch), provider="bench", provider_message_id="v", cost="0"
        )

    return [append_audit, check_policies, send_email, send_voice]
