"""``PlanRunWorkflow``: one generic workflow that runs any plan with the step machine.

Every input — start, timer, policy decision, send result, ingested event,
operator action — is fed to the pure machine synchronously, in the order
Temporal delivers it, so a replay of the history recomputes the same decisions
and the same audit hashes. The loop below only *performs* the machine's
commands: activities for policy checks and sends (each carrying the audit
entries not yet persisted, written before acting), durable timers for waits.

Which entries are committed history (since ``DURABLE``): an entry computed in an
earlier workflow task than the current one is, because this instance only holds
state from committed tasks (a lost task's successor replays committed history), and
so is everything a regular activity carries (its input is in the committed history).
Entries of the current task are written by the local-activity flush as the run's
*pending* tail, which the next batch replaces or confirms (docs/audit.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, assert_never

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import (
        GENESIS_HASH,
        CancelRun,
        CheckPolicy,
        Command,
        CompleteRun,
        Event,
        EventIngested,
        FailRun,
        Input,
        MachineConfig,
        MachineError,
        OperatorAction,
        PolicyDecided,
        RunContext,
        RunState,
        SendCompleted,
        SendEmail,
        SendVoice,
        Start,
        StartTimer,
        Status,
        TimerFired,
        TraceEntry,
        canonical_json,
        chain,
        operator_problem,
        step,
    )
    from interpreter.events import from_another_sender
    from interpreter.limits import event_problems, operator_problems
    from interpreter.local_time import Clock
    from interpreter.snapshot import state_from_dict, state_to_dict
    from workflows import search_attributes as sa
    from workflows.admission import INPUT_REJECTED, admitted, refusal

# A send is attempted exactly once: fail-closed, never a silent retry.
SEND_RETRY = RetryPolicy(maximum_attempts=1)
# Since ``DURABLE``: an attempt may be retried, because the send ledger makes a retry
# safe. A retry that finds an earlier attempt without an outcome reports ``unknown``
# and sends nothing; one that finds no attempt (the worker died before the provider
# call, the audit store was down) sends. The heartbeat makes a dead worker's send
# surface within seconds instead of at the start-to-close timeout.
LEDGERED_SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
SEND_HEARTBEAT = timedelta(seconds=5)
# The local-activity flush gives up after a few quick tries and hands its batch to a
# regular activity, which retries for as long as it takes: an audit store that is down
# shows as a pending activity with its last failure, never as a dead run.
FLUSH_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
# The patch under which entries are staged until committed, sends are ledgered and
# retried, and a run's last entries are written by a regular activity.
DURABLE = "durable-audit-and-send-ledger"
# The patch under which a reply the receiver marked ``fromContact: false`` is not the
# contact's reply (``hasReply``). Asked lazily, when a run first meets such a reply, so
# runs that never do carry no marker; a history recorded before it (where an event
# could carry that flag through the API) replays with every reply counted, as then.
REPLY_SENDERS = "reply-sender-check"
# The patch under which branch conditions evaluate left to right and within the
# run-time cost limit (docs/conditions.md). Asked only when a condition fails under
# those rules (``MachineConfig.conditions_today``), so a run records it only then.
CONDITION_RULES = "conditions-left-to-right-and-cost-limited"
# The patch under which a raw ``ingest_event`` signal past the event limits (the update
# path refuses it in its validator; a signal cannot be refused) is recorded as an
# ``event.refused`` event with the reasons instead of its values, which the audit's
# columns cannot hold (a 300-character step id once stalled every later audit write).
# Asked only when such a signal arrives.
EVENT_LIMITS = "signalled-events-within-limits"
REFUSED_EVENT = "event.refused"
# Policy checks and audit writes are idempotent (keyed by run, step, visit / run, seq),
# so retrying them after a crash or an outage repeats nothing; a run whose audit
# store is down waits here — visibly, as a pending activity — rather than acting.
IDEMPOTENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)
)
ACTIVITY_TIMEOUT = timedelta(seconds=60)
# A send that waits longer than this for a worker (a rate-limited or crowded queue) is
# not attempted: its policy decision (calling hours, the day's counter) would be stale.
SEND_SCHEDULE_TIMEOUT = timedelta(minutes=5)
FINAL = (Status.COMPLETED, Status.CANCELED)
OperatorKind = Literal["pause", "resume", "cancel", "retry", "resolve"]


@workflow.defn(name=c.WORKFLOW_NAME)
class PlanRunWorkflow:
    # ``Any``: the input is decoded here, so that a malformed one (a raw ``temporal
    # workflow start``) fails the start with the reason instead of failing every
    # workflow task forever in the SDK's decoder (``workflows.admission``).
    @workflow.init
    def __init__(self, raw: Any) -> None:
        self._durable = workflow.patched(DURABLE)
        # Parsed, validated, hashed and compiled once per plan per worker process (see
        # ``compiled_snapshot``): the same work as before, minus its repetition.
        workflow_id = workflow.info().workflow_id
        inp, compiled = admitted(raw, workflow_id if self._durable else raw_run_id(raw))
        config = MachineConfig(
            step_budget=inp.step_budget,
            tick_interval_ms=inp.tick_interval_ms,
            reply_senders=False,  # until the run meets another sender's reply
            conditions_today=lambda: workflow.patched(CONDITION_RULES),
        )
        self._inp = inp
        self._origin_ms = (
            inp.origin_epoch_ms
            if inp.origin_epoch_ms is not None
            else int(workflow.info().workflow_start_time.timestamp() * 1000)
        )
        # The run's origin is the machine's input: local times (waits until a time, send
        # windows) are computed from it, the same on every replay.
        calendar = inp.calendar_origin_ms
        clock = Clock(
            self._origin_ms if calendar is None else calendar, inp.start_tick, inp.tick_interval_ms
        )
        self._ctx = RunContext(compiled, inp.contact, inp.variables, config, clock)
        self._queue: list[Command] = []
        self._seq = inp.chain_seq
        self._head = inp.chain_head or GENESIS_HASH
        # Entries not yet in the append-only table, and the history length at which each
        # was chained (-1: carried across continue-as-new, so committed).
        self._unpersisted: list[dict[str, Any]] = list(inp.unpersisted)
        self._chained_at: list[int] = [-1] * len(inp.unpersisted)
        self._written_seq = inp.chain_seq - len(inp.unpersisted)  # in the database, at all
        self._pending_rows = bool(inp.unpersisted)  # a pending tail may be stored
        self._resend: tuple[str, int] | None = None  # an operator's retry --resend
        self._shown: tuple[str, str | None, str] | None = None
        self._wake = False  # set only by the ingest update (see there)
        self._last = ""
        if inp.state is None:
            self._state = RunState()
            self._feed(Start(inp.start_tick))
        else:
            self._state = state_from_dict(inp.state)
            if any(from_another_sender(e) for e in self._state.events):
                self._check_reply_senders()  # continued as new: the new history asks again

    # --- the main loop ----------------------------------------------------

    @workflow.run
    async def run(self, raw: Any) -> c.RunResult:  # the same parameter as __init__
        inp = self._inp
        while True:
            await self._perform_queue()
            state = self._state
            if state.status in FINAL:
                await self._flush(last=True)
                # An ingest update waiting for that flush is answered before the run
                # completes, never left unfinished. Sync handlers are always finished.
                await workflow.wait_condition(workflow.all_handlers_finished)
                return c.RunResult(
                    inp.run_id, state.status.value, state.outcome, self._seq, self._head
                )
            if self._should_continue_as_new():
                await self._flush()
                if self._queue:  # handlers ran during the flush: perform their commands first
                    continue
                workflow.continue_as_new(self._carry())
            timer = state.timer if state.phase == "timer" else None
            self._wake = False
            if timer is None:
                await self._flush()  # nothing else will carry these records for a while
                await workflow.wait_condition(lambda: bool(self._queue) or self._wake)
                continue
            await self._flush()
            delay = self._seconds_until(timer.until_tick)
            try:
                if delay > 0:
                    await workflow.wait_condition(
                        lambda: bool(self._queue) or self._wake, timeout=timedelta(seconds=delay)
                    )
                    continue
            except TimeoutError:
                pass
            if self._state.timer is timer:  # nothing moved the run on while we slept
                self._feed(TimerFired(max(self._tick(), timer.until_tick), timer.timer_id))

    async def _perform_queue(self) -> None:
        while self._queue:
            cmd = self._queue.pop(0)
            match cmd:
                case TraceEntry() as entry:
                    self._last = f"{entry.step_id}: {entry.action} → {entry.outcome}"
                    chained = chain(
                        self._inp.run_id, [entry], start_seq=self._seq + 1, prev_hash=self._head
                    )[0]
                    self._seq, self._head = chained.seq, chained.hash
                    self._unpersisted.append(chained.as_dict())
                    self._chained_at.append(workflow.info().get_current_history_length())
                case CheckPolicy():
                    self._feed(await self._check_policy(cmd))
                case SendEmail() | SendVoice():
                    self._feed(await self._send(cmd))
                case FailRun():
                    await self._flush()
                case CompleteRun():
                    if not self._durable:  # since DURABLE the run's last flush writes them
                        await self._flush()
                case StartTimer() | CancelRun():
                    pass  # the state says what to wait for
                case _:  # a new command: mypy finds this line
                    assert_never(cmd)
        self._show()

    # --- activities -------------------------------------------------------

    def _batch(self, *, local: bool = False) -> c.AuditBatch:
        """The entries to write and the run row.

        ``local``: for the local-activity flush, which runs before this task commits:
        entries chained in this task go as the pending tail. Otherwise (a regular
        activity's input, itself committed history) every entry is committed.
        """
        row = self._row()
        if not self._durable:
            return c.AuditBatch(row, list(self._unpersisted))
        if not local:
            return c.AuditBatch(row, list(self._unpersisted), [] if self._pending_rows else None)
        now = workflow.info().get_current_history_length()
        split = sum(1 for at in self._chained_at if at < now)  # chained_at never decreases
        pending = self._unpersisted[split:]
        return c.AuditBatch(
            row, self._unpersisted[:split], pending if pending or self._pending_rows else None
        )

    def _row(self) -> c.RunRow:
        s, plan, inp = self._state, self._ctx.plan.plan, self._inp
        failure = s.failure.reason if s.failure else None
        return c.RunRow(
            self._inp.run_id,
            self._inp.tenant,
            plan.id,
            plan.version,
            str(self._inp.contact.get("id", "")),
            s.status.value,
            s.step_id,
            s.outcome,
            failure,
            inp.plan_hash if self._durable else None,
        )

    def _persisted(self, through_seq: int, batch: c.AuditBatch | None = None) -> None:
        """Forget what is now committed; ``batch``: the local flush's, whose tail is pending."""
        self._written_seq = max(self._written_seq, through_seq)
        committed = through_seq
        if batch is not None and batch.pending is not None:
            committed = batch.entries[-1]["seq"] if batch.entries else 0
            self._pending_rows = bool(batch.pending)
        elif batch is None:
            self._pending_rows = False
        keep = sum(1 for e in self._unpersisted if e["seq"] > committed)
        cut = len(self._unpersisted) - keep
        self._unpersisted, self._chained_at = self._unpersisted[cut:], self._chained_at[cut:]

    async def _flush(self, *, last: bool = False) -> None:
        if not self._unpersisted:
            return
        if self._durable and last:  # the run ends in this task: no later task confirms
            await self._flush_committed()
            return
        batch = self._batch(local=True)
        try:
            ack = await workflow.execute_local_activity(
                c.APPEND_AUDIT,
                batch,
                result_type=c.AuditAck,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=FLUSH_RETRY if self._durable else IDEMPOTENT_RETRY,
            )
        except ActivityError as err:
            if not self._durable:
                raise
            if (refused := refusal(err)) is not None:
                raise refused from None
            await self._flush_committed()
            return
        if not self._durable:
            self._persisted(ack.persisted_through_seq)
        elif batch.pending is not None:
            self._persisted(ack.persisted_through_seq, batch)
        else:  # nothing pending: the batch was all committed entries
            self._persisted(ack.persisted_through_seq)

    async def _flush_committed(self) -> None:
        """Write every entry as committed through a regular activity, retried until done."""
        try:
            ack = await workflow.execute_activity(
                c.APPEND_AUDIT,
                self._batch(),
                result_type=c.AuditAck,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=IDEMPOTENT_RETRY,
            )
        except ActivityError as err:
            raise refusal(err) or err from None
        self._persisted(ack.persisted_through_seq)

    async def _check_policy(self, cmd: CheckPolicy) -> Input:
        request = c.PolicyRequest(
            self._batch(),
            self._inp.run_id,
            self._inp.tenant,
            self._ctx.plan.plan.id,
            dict(self._inp.contact),
            cmd.channel,
            cmd.step_id,
            cmd.visit,
            self._now_ms(),
            cmd.max_duration_seconds,
        )
        try:
            resp = await workflow.execute_activity(
                c.CHECK_POLICIES,
                request,
                result_type=c.PolicyResponse,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=IDEMPOTENT_RETRY,
            )
        except ActivityError as err:
            raise refusal(err) or err from None
        self._persisted(resp.persisted_through_seq)
        until = None if resp.until_epoch_ms is None else self._tick_at(resp.until_epoch_ms)
        decision: Literal["allow", "defer", "deny"] = "deny"  # anything unknown fails closed
        if resp.decision == "allow":
            decision = "allow"
        elif resp.decision == "defer":
            decision = "defer"
            if until is None or until <= self._tick():
                until = self._tick() + 1  # a deferral always moves time forward, recorded
        return PolicyDecided(
            self._tick(), cmd.step_id, decision, resp.policy, resp.reason, until, resp.detail
        )

    async def _send(self, cmd: SendEmail | SendVoice) -> Input:
        inp, plan_id = self._inp, self._ctx.plan.plan.id
        resend = self._resend == (cmd.step_id, cmd.visit)
        contact, variables = dict(inp.contact), dict(inp.variables)
        request: c.EmailRequest | c.VoiceRequest
        match cmd:
            case SendEmail():
                name = c.SEND_EMAIL
                request = c.EmailRequest(
                    self._batch(), inp.run_id, inp.tenant, plan_id, cmd.step_id, cmd.visit,
                    contact=contact, variables=variables, resend=resend, send=cmd,
                )  # fmt: skip
            case SendVoice():
                name = c.SEND_VOICE
                request = c.VoiceRequest(
                    self._batch(), inp.run_id, inp.tenant, plan_id, cmd.step_id, cmd.visit,
                    contact=contact, variables=variables, resend=resend, send=cmd,
                )  # fmt: skip
            case _:  # a new channel's command: mypy finds this line
                assert_never(cmd)
        self._resend = None
        try:
            resp = await workflow.execute_activity(
                name,
                request,
                result_type=c.SendResponse,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_start_timeout=SEND_SCHEDULE_TIMEOUT,
                retry_policy=LEDGERED_SEND_RETRY if self._durable else SEND_RETRY,
                heartbeat_timeout=SEND_HEARTBEAT if self._durable else None,
            )
        except ActivityError as err:
            cause = err.cause
            reason = f"{type(cause).__name__}: {cause}" if cause else str(err)
            # The activity ended without a result (a timeout, a crash, a bug): whether the
            # provider has the message is not known here; the ledger and the provider say.
            status: Literal["failed", "unknown"] = "unknown" if self._durable else "failed"
            return SendCompleted(self._tick(), cmd.step_id, status, reason)
        self._persisted(resp.persisted_through_seq)
        detail: dict[str, Any] = {}
        for key, value in (
            ("provider", resp.provider),
            ("providerMessageId", resp.provider_message_id),
            ("cost", resp.cost),
        ):
            if value is not None:
                detail[key] = value
        if resp.reconciled:  # the provider confirmed a send whose outcome was unknown
            detail["reconciled"] = True
        if resp.status == "delivered":
            return SendCompleted(self._tick(), cmd.step_id, "delivered", resp.reason, detail)
        if resp.status == "unknown" and self._durable:
            return SendCompleted(self._tick(), cmd.step_id, "unknown", resp.reason, detail)
        return SendCompleted(self._tick(), cmd.step_id, "failed", resp.reason or "failed", detail)

    # --- signals, updates, query ------------------------------------------

    @workflow.signal
    def ingest_event(self, event: c.EventSignal) -> None:
        if self._state.status in FINAL:
            workflow.logger.warning("event %s arrived after the run ended; not ingested", event.id)
            return
        past = event_problems(type=event.type, event_id=event.id, step_id=event.step_id)
        if past and workflow.patched(EVENT_LIMITS):
            event = _refused_event(event, past)
        self._take(event)

    @workflow.update(name=c.INGEST_UPDATE)
    async def ingest(self, event: c.EventSignal) -> c.RunView:
        """The ``ingest_event`` signal, answered: the update completes once the run has
        decided on the event and its audit entries are in the database, and returns the
        run's state then. Temporal dispatches an update straight to the worker, where a
        signal waits for the history service's transfer queue (``Engine.ingest_event``
        falls back to the durable signal when no worker takes the update in time)."""
        self._take(event)
        # Entries are chained in queue order, so the event's own are in by this seq.
        through = self._seq + sum(1 for cmd in self._queue if isinstance(cmd, TraceEntry))
        await workflow.wait_condition(lambda: self._written_seq >= through)
        if workflow.info().is_continue_as_new_suggested():
            # The loop skipped continue-as-new while this handler was unfinished and
            # now waits for a timer or input: wake it to continue as new.
            self._wake = True
        return self.state()

    @ingest.validator
    def _ingest_ok(self, event: c.EventSignal) -> None:
        if self._state.status in FINAL:
            status = self._state.status.value.lower()
            raise ApplicationError(
                f"the run is {status}; it takes no more events", type=c.RUN_ENDED
            )
        # A refused update leaves no trace in history, so this check needs no patch.
        past = event_problems(type=event.type, event_id=event.id, step_id=event.step_id)
        if past:
            raise ApplicationError("event refused: " + "; ".join(past), type=INPUT_REJECTED)

    def _take(self, event: c.EventSignal) -> None:
        tick = self._tick()
        data = event.data
        try:
            canonical_json(data)
        except Exception as err:
            # The event is still ingested and recorded (never lost), but its payload is
            # replaced by the reason: it could not enter the hash-chained audit log.
            data = {"invalidData": f"{type(err).__name__}: {err}"[:500]}
        ingested = Event(event.type, tick, event.id, event.step_id, data)
        if from_another_sender(ingested):
            self._check_reply_senders()
        self._feed(EventIngested(tick, ingested))

    def _check_reply_senders(self) -> None:
        """Count only the contact's replies from now on, unless replaying an older run."""
        if not self._ctx.config.reply_senders and workflow.patched(REPLY_SENDERS):
            self._ctx.config = replace(self._ctx.config, reply_senders=True)

    def _operator(self, action: OperatorKind, req: c.OperatorRequest) -> OperatorAction:
        resolution = _RESOLUTIONS.get(req.resolution or "")
        return OperatorAction(self._tick(), action, req.by, req.reason, resolution, req.target)

    def _validate(self, action: OperatorKind, req: c.OperatorRequest) -> None:
        problem = operator_problem(self._ctx, self._state, self._operator(action, req))
        if problem is not None:
            raise ValueError(problem)
        # Validator only (a refused update leaves no history): no patch needed.
        past = operator_problems(
            by=req.by, reason=req.reason, resolution=req.resolution, target=req.target
        )
        if past:
            raise ValueError("; ".join(past))

    def _apply(self, action: OperatorKind, req: c.OperatorRequest) -> c.RunView:
        failure = self._state.failure
        self._feed(self._operator(action, req))
        if action == "retry" and req.resolution == "resend" and failure is not None:
            self._resend = (failure.step_id, self._state.visits.get(failure.step_id, 0))
        return self.state()

    @workflow.update
    def pause(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("pause", req)

    @pause.validator
    def _pause_ok(self, req: c.OperatorRequest) -> None:
        self._validate("pause", req)

    @workflow.update
    def resume(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("resume", req)

    @resume.validator
    def _resume_ok(self, req: c.OperatorRequest) -> None:
        self._validate("resume", req)

    @workflow.update
    def cancel(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("cancel", req)

    @cancel.validator
    def _cancel_ok(self, req: c.OperatorRequest) -> None:
        self._validate("cancel", req)

    @workflow.update
    def retry(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("retry", req)

    @retry.validator
    def _retry_ok(self, req: c.OperatorRequest) -> None:
        self._validate("retry", req)

    @workflow.update
    def resolve(self, req: c.OperatorRequest) -> c.RunView:
        return self._apply("resolve", req)

    @resolve.validator
    def _resolve_ok(self, req: c.OperatorRequest) -> None:
        self._validate("resolve", req)

    @workflow.query
    def state(self) -> c.RunView:
        s = self._state
        failure = None
        if s.failure is not None:
            failure = {
                "stepId": s.failure.step_id,
                "kind": s.failure.kind,
                "reason": s.failure.reason,
            }
        wake = s.timer.until_tick if s.timer is not None and s.phase == "timer" else None
        return c.RunView(
            self._inp.run_id, s.status.value, s.step_id, s.phase, s.tick, s.paused, s.outcome,
            failure, wake, self._seq, len(s.events), dict(s.visits),
        )  # fmt: skip

    # --- the machine, the clock and the UI ---------------------------------

    def _feed(self, inp: Input) -> None:
        try:
            self._state, commands = step(self._ctx, self._state, inp)
        except MachineError as err:
            raise ApplicationError(str(err), type="MachineError", non_retryable=True) from err
        self._queue.extend(commands)

    def _now_ms(self) -> int:
        return int(workflow.now().timestamp() * 1000)

    def _tick(self) -> int:
        elapsed = max(0, self._now_ms() - self._origin_ms)
        return max(self._state.tick, self._inp.start_tick + elapsed // self._inp.tick_interval_ms)

    def _tick_at(self, epoch_ms: int) -> int:
        offset = epoch_ms - self._origin_ms
        return self._inp.start_tick - (-offset // self._inp.tick_interval_ms)

    def _seconds_until(self, tick: int) -> float:
        target_ms = self._origin_ms + (tick - self._inp.start_tick) * self._inp.tick_interval_ms
        return max(0.0, (target_ms - self._now_ms()) / 1000)

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            and not self._queue
            and workflow.all_handlers_finished()
        )

    def _carry(self) -> c.RunInput:
        inp = self._inp
        return c.RunInput(
            inp.run_id, inp.tenant, inp.plan, inp.plan_hash, inp.contact, inp.variables,
            inp.start_tick, inp.tick_interval_ms, inp.step_budget, inp.search_attributes,
            self._origin_ms, state_to_dict(self._state), self._seq, self._head,
            list(self._unpersisted), inp.calendar_origin_ms,
        )  # fmt: skip

    def _show(self) -> None:
        s = self._state
        shown = (s.status.value, s.step_id, self._last)
        if shown == self._shown:
            return
        previous, self._shown = self._shown, shown
        first = previous is None
        moved = previous is None or shown[:2] != previous[:2]
        if moved and self._inp.search_attributes:  # one upsert per transition, not per entry
            workflow.upsert_search_attributes(
                [
                    *(self._missing_identity() if first else ()),
                    sa.DEE_STATUS.value_set(s.status.value),
                    sa.DEE_STEP.value_set(s.step_id or ""),
                ]
            )
        wake = ""
        if s.timer is not None and s.phase == "timer":
            at_ms = (
                self._origin_ms
                + (s.timer.until_tick - self._inp.start_tick) * self._inp.tick_interval_ms
            )
            wake = f"\n- next wake-up: tick {s.timer.until_tick} ({_iso(at_ms)})"
        failure = f"\n- failure: {s.failure.reason}" if s.failure else ""
        workflow.set_current_details(
            f"**{s.status.value}** at step `{s.step_id or '-'}` (tick {s.tick}){wake}{failure}"
            f"\n- last decision: {self._last or '-'}\n- audit entries: {self._seq}"
        )

    def _missing_identity(self) -> list[SearchAttributeUpdate[Any]]:
        """The identity search attributes this run did not start with.

        An immediate start carries none (``Engine.start_run``: they made every start
        14 % slower on the frontend), so the run's first upsert, which it makes
        anyway, sets them. A run that started with them (a delayed start, every
        engine start recorded before this) gets none here, so its upsert is unchanged;
        the start event decides either way. A run recorded before this that started
        without them (a raw ``start_workflow``) replays as well: Temporal matches an
        upsert on replay by its kind, not by its attributes
        (``tests/histories/started-without-search-attributes.json``).
        """
        have = workflow.info().typed_search_attributes
        plan = self._ctx.plan.plan
        identity: tuple[tuple[SearchAttributeKey[Any], Any], ...] = (
            (sa.DEE_TENANT, self._inp.tenant),
            (sa.DEE_PLAN_ID, plan.id),
            (sa.DEE_PLAN_VERSION, plan.version),
            (sa.DEE_CONTACT_ID, str(self._inp.contact.get("id", ""))),
        )
        return [key.value_set(value) for key, value in identity if have.get(key) is None]


_RESOLUTIONS: dict[str, Literal["skip", "end", "mark_sent", "resend"]] = {
    "skip": "skip",
    "end": "end",
    "mark_sent": "mark_sent",
    "resend": "resend",
}


def raw_run_id(raw: Any) -> str:
    """The run id a start input names (before ``DURABLE``, the workflow id was not checked)."""
    if isinstance(raw, c.RunInput):
        return raw.run_id
    return str(raw.get("run_id", "")) if isinstance(raw, dict) else ""


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _refused_event(event: c.EventSignal, problems: list[str]) -> c.EventSignal:
    """What a signalled event past the limits is recorded as: a type no condition can
    ask for by mistake (``hasEvent`` reads plan-declared types), no step, an id derived
    from the original (so a re-delivery is still a duplicate) and the reasons."""
    digest = hashlib.sha256(repr(event.id).encode("utf-8", "backslashreplace")).hexdigest()
    return c.EventSignal(
        f"refused-{digest[:40]}", REFUSED_EVENT, None, {"refused": "; ".join(problems)[:1000]}
    )
