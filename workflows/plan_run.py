"""``PlanRunWorkflow``: one generic workflow that runs any plan with the step machine.

Every input — start, timer, policy decision, send result, ingested event,
operator action — is fed to the pure machine synchronously, in the order
Temporal delivers it, so a replay of the history recomputes the same decisions
and the same audit hashes. The loop below only *performs* the machine's
commands: activities for policy checks and sends (each carrying the audit
entries not yet persisted, written before acting), durable timers for waits.

The entries on their way to the audit table, and which of them are committed
history, are ``workflows.audit_staging``'s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal, assert_never

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import (
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
        RunContext,
        RunState,
        SendCompleted,
        SendEmail,
        SendVoice,
        Start,
        StartTimer,
        TimerFired,
        TraceEntry,
        canonical_json,
        step,
    )
    from interpreter.cel_branch import on_google_cel
    from interpreter.events import from_another_sender
    from interpreter.limits import event_problems
    from interpreter.local_time import Clock
    from interpreter.snapshot import state_from_dict, state_to_dict
    from interpreter.state import FINAL_STATUSES
    from workflows.activity_options import (
        ACTIVITY_TIMEOUT,
        IDEMPOTENT_RETRY,
        LEDGERED_SEND_RETRY,
        SEND_HEARTBEAT,
        SEND_RETRY,
        SEND_SCHEDULE_TIMEOUT,
    )
    from workflows.activity_results import policy_decided, send_completed
    from workflows.admission import (
        INPUT_REJECTED,
        admitted,
        on_google_cel_today,
        raw_run_id,
        refusal,
        refused_event,
    )
    from workflows.audit_staging import AuditStaging
    from workflows.operator_updates import OperatorUpdates
    from workflows.patches import CONDITION_RULES, DURABLE, EVENT_LIMITS, REPLY_SENDERS
    from workflows.run_details import Shown, entered, show


@workflow.defn(name=c.WORKFLOW_NAME)
class PlanRunWorkflow(OperatorUpdates):
    # ``Any``: the input is decoded here, so that a malformed one (a raw ``temporal
    # workflow start``) fails the start with the reason instead of failing every
    # workflow task forever in the SDK's decoder (``workflows.admission``).
    @workflow.init
    def __init__(self, raw: Any) -> None:
        self._durable = workflow.patched(DURABLE)
        # Parsed, validated, hashed and compiled once per plan per worker process (see
        # ``compiled_snapshot``): the same work as before, minus its repetition.
        wid = workflow.info().workflow_id if self._durable else raw_run_id(raw)
        inp, compiled = admitted(raw, wid, self._google_cel_today)
        config = MachineConfig(
            step_budget=inp.step_budget,
            tick_interval_ms=inp.tick_interval_ms,
            reply_senders=False,  # until the run meets another sender's reply
            conditions_today=lambda: workflow.patched(CONDITION_RULES),
            google_cel=on_google_cel(inp.cel),  # ``admitted`` resolved it
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
        self._audit = AuditStaging(inp, durable=self._durable, row=self._row)
        self._resend: tuple[str, int] | None = None  # an operator's retry --resend
        self._shown: Shown | None = None
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
            if state.status in FINAL_STATUSES:
                await self._audit.flush(last=True)
                # An ingest update waiting for that flush is answered before the run
                # completes, never left unfinished. Sync handlers are always finished.
                await workflow.wait_condition(workflow.all_handlers_finished)
                return c.RunResult(
                    inp.run_id, state.status.value, state.outcome, self._audit.seq, self._audit.head
                )
            if self._should_continue_as_new():
                await self._audit.flush()
                if self._queue:  # handlers ran during the flush: perform their commands first
                    continue
                workflow.continue_as_new(self._carry())
            timer = state.timer if state.phase == "timer" else None
            self._wake = False
            if timer is None:
                await self._audit.flush()  # nothing else will carry these records for a while
                await workflow.wait_condition(lambda: bool(self._queue) or self._wake)
                continue
            await self._audit.flush()
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
                    self._audit.add(entry)
                case CheckPolicy():
                    self._feed(await self._check_policy(cmd))
                case SendEmail() | SendVoice():
                    self._feed(await self._send(cmd))
                case FailRun():
                    await self._audit.flush()
                case CompleteRun():
                    if not self._durable:  # since DURABLE the run's last flush writes them
                        await self._audit.flush()
                case StartTimer() | CancelRun():
                    pass  # the state says what to wait for
                case _:  # a new command: mypy finds this line
                    assert_never(cmd)
        self._show()

    # --- activities -------------------------------------------------------

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

    async def _check_policy(self, cmd: CheckPolicy) -> Input:
        request = c.PolicyRequest(
            self._audit.batch(),
            self._inp.run_id,
            self._inp.tenant,
            self._ctx.plan.plan.id,
            dict(self._inp.contact),
            cmd.channel,
            cmd.step_id,
            cmd.visit,
            self._now_ms(),
            cmd.max_duration_seconds,
            cmd.debt_ref, cmd.subject, list(cmd.presets), cmd.caller_id, cmd.debt_ref_problem,
        )  # fmt: skip
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
        self._audit.persisted(resp.persisted_through_seq)
        until = None if resp.until_epoch_ms is None else self._tick_at(resp.until_epoch_ms)
        return policy_decided(resp, cmd.step_id, self._tick(), until)

    async def _send(self, cmd: SendEmail | SendVoice) -> Input:
        inp, plan_id = self._inp, self._ctx.plan.plan.id
        resend = self._resend == (cmd.step_id, cmd.visit)
        contact, variables = dict(inp.contact), dict(inp.variables)
        request: c.EmailRequest | c.VoiceRequest
        match cmd:
            case SendEmail():
                name = c.SEND_EMAIL
                request = c.EmailRequest(
                    self._audit.batch(), inp.run_id, inp.tenant, plan_id, cmd.step_id, cmd.visit,
                    contact=contact, variables=variables, resend=resend, send=cmd,
                )  # fmt: skip
            case SendVoice():
                name = c.SEND_VOICE
                request = c.VoiceRequest(
                    self._audit.batch(), inp.run_id, inp.tenant, plan_id, cmd.step_id, cmd.visit,
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
        self._audit.persisted(resp.persisted_through_seq)
        return send_completed(resp, cmd.step_id, self._tick(), durable=self._durable)

    # --- signals, updates, query ------------------------------------------

    @workflow.signal
    def ingest_event(self, event: c.EventSignal) -> None:
        if self._state.status in FINAL_STATUSES:
            workflow.logger.warning("event %s arrived after the run ended; not ingested", event.id)
            return
        past = event_problems(type=event.type, event_id=event.id, step_id=event.step_id)
        if past and workflow.patched(EVENT_LIMITS):
            event = refused_event(event, past)
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
        through = self._audit.seq + sum(1 for cmd in self._queue if isinstance(cmd, TraceEntry))
        await workflow.wait_condition(lambda: self._audit.written_seq >= through)
        if workflow.info().is_continue_as_new_suggested():
            # The loop skipped continue-as-new while this handler was unfinished and
            # now waits for a timer or input: wake it to continue as new.
            self._wake = True
        return self.state()

    @ingest.validator
    def _ingest_ok(self, event: c.EventSignal) -> None:
        if self._state.status in FINAL_STATUSES:
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
            failure, wake, self._audit.seq, len(s.events), dict(s.visits),
        )  # fmt: skip

    # --- the machine, the clock and the UI ---------------------------------

    def _feed(self, inp: Input) -> None:
        before = self._state.status
        try:
            self._state, commands = step(self._ctx, self._state, inp)
        except MachineError as err:
            raise ApplicationError(str(err), type="MachineError", non_retryable=True) from err
        self._queue.extend(commands)
        if self._state.status != before:  # counted and logged; silent during replay
            entered(self._inp, self._state)

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

    def _google_cel_today(self) -> bool:  # a method: a test stands for the code before it
        return on_google_cel_today()

    def _carry(self) -> c.RunInput:  # ``inp.cel``: the evaluator in use (``admitted``)
        inp = self._inp
        return c.RunInput(
            inp.run_id, inp.tenant, inp.plan, inp.plan_hash, inp.contact, inp.variables,
            inp.start_tick, inp.tick_interval_ms, inp.step_budget, inp.search_attributes,
            self._origin_ms, state_to_dict(self._state), self._audit.seq, self._audit.head,
            list(self._audit.unpersisted), inp.calendar_origin_ms, inp.cel,
        )  # fmt: skip

    def _show(self) -> None:
        plan = self._ctx.plan.plan
        self._shown = show(
            self._inp, plan.id, plan.version, self._state, origin_ms=self._origin_ms,
            last=self._last, seq=self._audit.seq, shown=self._shown,
        )  # fmt: skip
