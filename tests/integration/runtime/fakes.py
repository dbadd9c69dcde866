"""In-memory stand-ins registered under the real activity names (the workflow is real)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from activities import contracts as c


@dataclass
class FakeWorld:
    """Records what the workflow asked of the world; answers as configured."""

    audit: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    pending: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    runs: dict[str, c.RunRow] = field(default_factory=dict)
    sends: list[tuple[str, str, int]] = field(default_factory=list)
    policy: dict[str, c.PolicyResponse] = field(default_factory=dict)
    asked: list[c.PolicyRequest] = field(default_factory=list)  # every policy check, in order
    fail_sends: dict[str, str] = field(default_factory=dict)
    # step -> reason: its first send's outcome is unknown; the next is found (reconciled)
    unknown_sends: dict[str, str] = field(default_factory=dict)
    _unknown_seen: set[str] = field(default_factory=set)
    send_gate: asyncio.Event | None = None

    def _persist(self, batch: c.AuditBatch) -> int:
        for entry in batch.entries:
            existing = self.audit[entry["run_id"]].get(entry["seq"])
            assert existing is None or existing == entry, f"divergent audit entry {entry}"
            self.audit[entry["run_id"]][entry["seq"]] = entry
        run_id = batch.run.run_id
        if batch.pending is not None:  # the tail replaces the last one, as the store does
            self.pending[run_id] = list(batch.pending)
        self.runs[run_id] = batch.run
        return max((e["seq"] for e in (*batch.entries, *(batch.pending or ()))), default=0)

    def chain(self, run_id: str) -> list[dict[str, Any]]:
        """The committed entries, then the pending tail past them."""
        committed = [self.audit[run_id][k] for k in sorted(self.audit[run_id])]
        last = committed[-1]["seq"] if committed else 0
        return committed + [e for e in self.pending.get(run_id, []) if e["seq"] > last]

    def activities(self) -> list[Any]:
        @activity.defn(name=c.APPEND_AUDIT)
        async def append_audit(batch: c.AuditBatch) -> c.AuditAck:
            return c.AuditAck(self._persist(batch))

        @activity.defn(name=c.CHECK_POLICIES)
        async def check_policies(req: c.PolicyRequest) -> c.PolicyResponse:
            seq = self._persist(req.batch)
            self.asked.append(req)
            answer = self.policy.pop(req.step_id, None) or c.PolicyResponse("allow", 0)
            answer.persisted_through_seq = seq
            return answer

        @activity.defn(name=c.SEND_EMAIL)
        async def send_email(req: c.EmailRequest) -> c.SendResponse:
            seq = self._persist(req.batch)
            if self.send_gate is not None:
                await self.send_gate.wait()
            self.sends.append((req.run_id, req.step_id, req.visit))
            reason = self.fail_sends.pop(req.step_id, None)
            if reason:
                return c.SendResponse("failed", seq, reason=reason)
            unknown = self.unknown_sends.pop(req.step_id, None)
            if unknown:
                self._unknown_seen.add(req.step_id)
                return c.SendResponse("unknown", seq, reason=unknown, provider="fake")
            if req.step_id in self._unknown_seen:  # the operator's retry found it
                return c.SendResponse(
                    "delivered", seq, provider="fake", provider_message_id=f"m-{req.step_id}",
                    reconciled=True,
                )  # fmt: skip
            return c.SendResponse(
                "delivered", seq, provider="fake", provider_message_id=f"m-{req.step_id}"
            )

        @activity.defn(name=c.SEND_VOICE)
        async def send_voice(req: c.VoiceRequest) -> c.SendResponse:
            seq = self._persist(req.batch)
            self.sends.append((req.run_id, req.step_id, req.visit))
            return c.SendResponse(
                "delivered", seq, provider="fake-voice", provider_message_id="call-1"
            )

        return [append_audit, check_policies, send_email, send_voice]
