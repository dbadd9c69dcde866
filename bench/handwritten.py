"""Scenario 1's baseline: the short sales plan written by hand as a Temporal workflow.

It makes the same activity calls as ``PlanRunWorkflow`` running
``bench.plans.short_sales_plan`` (policy check then send for each of the three
sends, with the same request types and retry options), starts the same two timers,
branches on the same signal, and keeps the same audit trail: the same entries,
hash-chained with the same function and flushed by the same local activity before
each timer and at the end. When its input asks for search attributes (as the
engine's does by default), it upserts the same ones at the same points: status and
step as the run comes to rest at each wait and at its end, the run's identity with
the first, so the Web UI finds and filters both alike. What it does *not* have is the
generic part — no plan parsing or compilation, no step machine, no CEL, no command
queue, no UI details — so the difference between the two is what the interpreter
costs. With ``search_attributes=False`` it is the bare baseline: activities, timers
and the audit trail only.

No ``from __future__ import annotations``: Temporal resolves the signal's type hints
at run time, inside the workflow sandbox.
"""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c

    # From the package, as the engine's workflow does: importing the submodule
    # ``interpreter.chain`` inside the sandbox would rebind the package's ``chain``
    # attribute (the function) to the module, for every workflow in the worker.
    from interpreter import GENESIS_HASH, TraceEntry, chain
    from workflows import search_attributes as sa
    from workflows.activity_options import (
        ACTIVITY_TIMEOUT,
        FLUSH_RETRY,
        IDEMPOTENT_RETRY,
        LEDGERED_SEND_RETRY,
        SEND_HEARTBEAT,
        SEND_SCHEDULE_TIMEOUT,
    )
    from workflows.patches import DURABLE, GOOGLE_CEL

WORKFLOW_NAME = "HandWrittenSalesWorkflow"
PLAN_ID = "bench-short-sales"
PLAN_VERSION = 1


@workflow.defn(name=WORKFLOW_NAME)
class HandWrittenSalesWorkflow:
    def __init__(self) -> None:
        self._opened = False
        self._seq = 0
        self._head = GENESIS_HASH
        self._pending: list[dict[str, Any]] = []
        self._step = "intro-email"
        self._shown = False

    @workflow.signal
    def ingest_event(self, event: c.EventSignal) -> None:
        if event.type == "email.opened" and event.step_id == "intro-email":
            self._opened = True

    @workflow.run
    async def run(self, inp: c.RunInput) -> c.RunResult:
        self._inp = inp
        if inp.search_attributes:  # the engine's patch markers and their version attribute
            workflow.patched(DURABLE)
            workflow.patched(GOOGLE_CEL)  # a new run's evaluator (issue 23), asked at start
        # The engine's plan clock: tick 0 is the workflow's start, a tick is a second.
        self._start = workflow.info().workflow_start_time
        self._record("@run", "start", "started", {"planId": PLAN_ID, "contactId": "c"})
        await self._email("intro-email", "tmpl_intro", "Introducing {{ product }}", opens=True)
        await self._wait("wait-1", seconds=1)
        self._enter("check-open")
        target = "warm-email" if self._opened else "cold-email"
        self._record("check-open", "evaluate", f"branch:{target}", {})
        if self._opened:
            await self._email("warm-email", "tmpl_warm_follow_up", "Following up")
        else:
            await self._email("cold-email", "tmpl_cold_follow_up", "Quick question")
        await self._wait("wait-2", seconds=1)
        await self._call("call")
        self._enter("end")
        self._record("end", "end", "called", {})
        await workflow.execute_activity(  # the last entries, as committed history
            c.APPEND_AUDIT,
            self._batch("COMPLETED"),
            result_type=c.AuditAck,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=IDEMPOTENT_RETRY,
        )
        self._show("COMPLETED")
        return c.RunResult(inp.run_id, "COMPLETED", "called", self._seq, self._head)

    # --- the audit trail, by hand -------------------------------------------

    def _tick(self) -> int:
        return int((workflow.now() - self._start).total_seconds())

    def _record(self, step_id: str, action: str, outcome: str, detail: dict[str, Any]) -> None:
        entry = TraceEntry(self._tick(), step_id, action, outcome, detail)
        chained = chain(self._inp.run_id, [entry], start_seq=self._seq + 1, prev_hash=self._head)
        self._seq, self._head = chained[0].seq, chained[0].hash
        self._pending.append(chained[0].as_dict())

    def _enter(self, step_id: str) -> None:
        self._step = step_id
        self._record(step_id, "enter", "visit:1", {})

    def _batch(self, status: str = "RUNNING") -> c.AuditBatch:
        inp = self._inp
        row = c.RunRow(inp.run_id, inp.tenant, PLAN_ID, PLAN_VERSION, "c", status, self._step)
        batch = c.AuditBatch(row, self._pending)
        self._pending = []
        return batch

    async def _flush(self, status: str) -> None:
        await workflow.execute_local_activity(
            c.APPEND_AUDIT,
            self._batch(status),
            result_type=c.AuditAck,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=FLUSH_RETRY,
        )

    def _show(self, status: str) -> None:
        """The Web UI's search attributes as the run rests, by hand."""
        inp = self._inp
        if not inp.search_attributes:
            return
        updates = [sa.DEE_STATUS.value_set(status), sa.DEE_STEP.value_set(self._step)]
        if not self._shown:  # the run's identity goes with its first upsert, as the engine's
            updates[:0] = [
                sa.DEE_TENANT.value_set(inp.tenant),
                sa.DEE_PLAN_ID.value_set(PLAN_ID),
                sa.DEE_PLAN_VERSION.value_set(PLAN_VERSION),
                sa.DEE_CONTACT_ID.value_set(str(inp.contact.get("id", ""))),
            ]
            self._shown = True
        workflow.upsert_search_attributes(updates)

    # --- the steps -----------------------------------------------------------

    async def _wait(self, step_id: str, *, seconds: int) -> None:
        self._enter(step_id)
        until = self._tick() + seconds
        self._record(step_id, "wait", "started", {"untilTick": until})
        self._show("WAITING")
        await self._flush("WAITING")
        # The engine's timer: a wait ends at its tick on the plan clock (tick boundary
        # ``until``), not a fixed duration after the flush.
        delay = (self._start + timedelta(seconds=until) - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(delay)
        self._record(step_id, "wait", "completed", {})

    async def _policy(self, step_id: str, channel: str) -> None:
        inp = self._inp
        request = c.PolicyRequest(
            self._batch(), inp.run_id, inp.tenant, PLAN_ID, dict(inp.contact), channel,
            step_id, 1, int(workflow.now().timestamp() * 1000),
        )  # fmt: skip
        resp = await workflow.execute_activity(
            c.CHECK_POLICIES,
            request,
            result_type=c.PolicyResponse,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=IDEMPOTENT_RETRY,
        )
        if resp.decision != "allow":
            raise ApplicationError(f"policy {resp.decision}", non_retryable=True)
        self._record(step_id, "policy_check", "allowed", {})

    async def _email(self, step_id: str, template: str, subject: str, opens: bool = False) -> None:
        self._enter(step_id)
        await self._policy(step_id, "email")
        inp = self._inp
        request = c.EmailRequest(
            self._batch(), inp.run_id, inp.tenant, PLAN_ID, step_id, 1, template, subject,
            None, opens, False, dict(inp.contact), dict(inp.variables),
        )  # fmt: skip
        await self._send(c.SEND_EMAIL, request, step_id, "send_email")

    async def _call(self, step_id: str) -> None:
        self._enter(step_id)
        await self._policy(step_id, "voice")
        inp = self._inp
        request = c.VoiceRequest(
            self._batch(), inp.run_id, inp.tenant, PLAN_ID, step_id, 1, "script_follow_up",
            "+15551234567", 300, False, None, dict(inp.contact), dict(inp.variables),
        )  # fmt: skip
        await self._send(c.SEND_VOICE, request, step_id, "send_voice")

    async def _send(
        self, name: str, request: c.EmailRequest | c.VoiceRequest, step_id: str, action: str
    ) -> None:
        resp = await workflow.execute_activity(
            name,
            request,
            result_type=c.SendResponse,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_start_timeout=SEND_SCHEDULE_TIMEOUT,
            retry_policy=LEDGERED_SEND_RETRY,
            heartbeat_timeout=SEND_HEARTBEAT,
        )
        if resp.status != "delivered":
            raise ApplicationError(f"{step_id}: {resp.reason}", non_retryable=True)
        self._record(step_id, action, "delivered", {})
