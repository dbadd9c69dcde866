"""``Engine``: the public API — start runs, steer them, read their timelines, feed events.

Runs are Temporal workflows (``PlanRunWorkflow``); their bookkeeping rows and audit
entries live in the configured database, so ``get_run``, ``list_runs`` and
``get_timeline`` answer from storage even when no worker is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    RPCError,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCStatusCode

from activities import contracts as c
from adapters.policy import ConsentEntry, PolicyAdmin, PolicyError, SuppressionEntry
from adapters.storage import (
    AuditStore,
    Database,
    LedgerRow,
    PlanStore,
    RunRecord,
    RunStore,
    SendLedger,
    StorageError,
    StoredEntry,
    UnknownRun,
    open_database,
)
from dee import start_values
from dee.config import EngineConfig
from dee.content import load_registry
from dee.enrolment import execute_many
from dee.errors import EngineError
from dee.event_delivery import Delivery, deliver
from dee.run_reading import FINAL, NOT_FINAL, ExecutionRun, RunReader, ended_refusal
from dee.start_attributes import StartAttributes
from dee.start_payload import InputEncoder
from interpreter import ExecutionPlan, PlanError, canonical_json, ensure_valid
from interpreter.limits import event_problems, operator_problems, start_problems
from interpreter.replay import ReplayResult, WhatIfReport
from workflows.plan_run import PlanRunWorkflow

# _LAZY: replay and what-if (``dee.replay``) bring Temporal's worker and test-server
# modules; they are imported where used, so a process that only starts runs (every
# ``dee start``) does not load them.
T = TypeVar("T")
# Every status that is not final takes events: an exit rule ends a paused run, and an
# unsubscribe a failed one that waits for an operator.
ACTIVE = tuple(NOT_FINAL)
_CONTACTS_KEPT = 100_000  # run ids whose contact ingest_event remembers (~20 MB at most)


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    """Which runs an event was delivered to (with the event id used for de-duplication).

    ``deliveries`` says, per run, whether the run has already decided on the event and
    stored its audit entries (``handled``, with the run's state then), or keeps it to be
    handled later (``accepted``, ``queued``); runs that had ended are not listed.
    """

    event_id: str
    run_ids: tuple[str, ...]
    deliveries: tuple[Delivery, ...] = ()


# Providers that cannot be asked whether a message went out: an unknown send through
# one is resent only on the operator's explicit, audited --resend.
BLIND = frozenset({"smtp"})


class Engine:
    """Connect with ``await Engine.connect(config)``; close with ``await engine.close()``."""

    def __init__(self, config: EngineConfig, client: Client, database: Database) -> None:
        self.config = config
        self.client = client
        self.database = database
        self.plans = PlanStore(database)
        self.runs = RunStore(database)
        self.audit = AuditStore(database)
        self.ledger = SendLedger(database)
        # Run id -> contact id, for ingest_event's ownership check: a run's contact never
        # changes (RunStore refuses that), and a receiver sends a run several events.
        self._contacts: OrderedDict[str, str] = OrderedDict()
        self._reader = RunReader(client, self.runs, self.audit)
        self._start_attributes = StartAttributes(
            client, config.temporal.namespace, enabled=config.temporal.search_attributes
        )

    @classmethod
    async def connect(cls, config: EngineConfig, *, client: Client | None = None) -> Engine:
        """Open the database (running migrations) and connect to Temporal."""
        database = await open_database(config.database_url)
        if client is None:
            try:
                client = await Client.connect(
                    config.temporal.address, namespace=config.temporal.namespace
                )
            except RuntimeError as exc:
                await database.dispose()
                raise EngineError(
                    [f"cannot reach Temporal at {config.temporal.address}: {exc}"]
                ) from None
        return cls(config, client, database)

    async def close(self) -> None:
        await self.database.dispose()

    # --- starting runs ------------------------------------------------------

    async def execute(
        self,
        plan: ExecutionPlan,
        *,
        contact: Mapping[str, Any],
        variables: Mapping[str, Any] | None = None,
        start_at: datetime | None = None,
        idempotency_key: str | None = None,
        tenant: str | None = None,
    ) -> ExecutionRun:
        """Validate and register ``plan``, then start a run for ``contact``.

        ``start_at`` delays the start (the run's tick 0 is when it starts). With an
        ``idempotency_key`` the run id is derived from it, and a repeated call returns
        the existing run; a different plan or contact under the same key is refused.
        The contact's ``email`` and ``phone`` are made canonical (``dee.start_values``):
        one that is not exactly one mailbox, or no possible number, is refused.
        """
        tenant = tenant or self.config.tenant
        contact_id = contact.get("id")
        if not isinstance(contact_id, str) or not contact_id:
            raise EngineError(["contact: a contact needs a non-empty string 'id'"])
        start_values.check(contact, "contact")
        start_values.check(variables or {}, "variables")
        start_values.check_limits(tenant=tenant, contact=contact, variables=variables or {})
        contact = start_values.start_contact(contact)
        await self.register_plan(plan)
        run_id = _run_id(tenant, plan.id, idempotency_key)
        record = RunRecord(run_id, tenant, plan.id, plan.version, contact_id, "PENDING")
        if idempotency_key is not None:
            existing = await self.existing_run(run_id, record)
            if existing is not None:
                return existing
        # Start first, then record: a failed start leaves no phantom run behind, and the
        # workflow's first activity writes the same row anyway (idempotent upsert).
        await self.start_run(run_id, tenant, plan, dict(contact), dict(variables or {}), start_at)
        await self.runs.create(record)
        return await self.get_run(run_id)

    async def execute_many(
        self,
        plan: ExecutionPlan,
        contacts: Sequence[Mapping[str, Any]],
        *,
        variables: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        tenant: str | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> list[ExecutionRun | EngineError]:
        """Start ``plan`` for many contacts at once (see ``dee.enrolment``).

        Returns one outcome per contact, in order: the run as recorded (``PENDING``),
        or the ``EngineError`` that kept that contact from starting.
        """
        return await execute_many(
            self, plan, contacts, variables=variables, idempotency_key=idempotency_key,
            tenant=tenant, on_started=on_started,
        )  # fmt: skip

    async def register_plan(self, plan: ExecutionPlan) -> None:
        """Validate ``plan`` (with the content registry) and store it, once per version.

        Raises:
            EngineError: the plan is invalid, or another body holds its version.
        """
        try:
            limits = self.config.validation.limits
            ensure_valid(plan, registry=load_registry(self.config.templates_dir), limits=limits)
            await self.plans.put(plan)
        except PlanError as exc:
            raise EngineError([str(p) for p in exc.problems]) from None
        except StorageError as exc:
            raise EngineError([str(exc)]) from None

    async def existing_run(self, run_id: str, record: RunRecord) -> ExecutionRun | None:
        try:
            stored = await self.runs.get(run_id)
        except UnknownRun:
            return None
        same = (stored.plan_id, stored.plan_version, stored.contact_id) == (
            record.plan_id,
            record.plan_version,
            record.contact_id,
        )
        if not same:
            raise EngineError(
                [
                    f"idempotency key already started run {run_id} for plan "
                    f"{stored.plan_id} v{stored.plan_version} and contact {stored.contact_id}"
                ]
            )
        return await self.get_run(run_id)

    async def start_run(
        self,
        run_id: str,
        tenant: str,
        plan: ExecutionPlan,
        contact: dict[str, Any],
        variables: dict[str, Any],
        start_at: datetime | None = None,
        *,
        plan_hash: str | None = None,
        encoder: InputEncoder | None = None,
    ) -> None:
        """Start the run's workflow (no record, no validation: ``execute`` does those).

        ``plan_hash``: the plan's ``content_hash`` when the caller has it already.
        ``encoder``: a bulk enrolment's ``InputEncoder``, which holds the plan's
        ``to_document()`` made once for the batch (only read) and encodes the input
        around it; without one, the document is made here.
        """
        cfg = self.config
        digest = plan_hash or plan.content_hash
        run_input = c.RunInput(
            run_id=run_id,
            tenant=tenant,
            plan=encoder.document if encoder is not None else plan.to_document(),
            plan_hash=digest,
            contact=contact,
            variables=variables,
            tick_interval_ms=cfg.scheduler.tick_interval,
            step_budget=cfg.step_budget,
            search_attributes=cfg.temporal.search_attributes,
            # A delayed start begins its logical clock when it starts, not when requested.
            origin_epoch_ms=None if start_at is None else int(start_at.timestamp() * 1000),
        )
        attributes = await self._start_attributes.for_start(
            run_id,
            tenant=tenant,
            plan_id=plan.id,
            plan_version=plan.version,
            contact_id=str(contact["id"]),
            delayed=start_at is not None,
        )
        delay = None
        if start_at is not None:
            delay = max(timedelta(0), start_at - datetime.now(UTC))
        try:
            await self.client.start_workflow(
                c.WORKFLOW_NAME,
                run_input if encoder is None else encoder(run_input),
                id=run_id,
                task_queue=cfg.task_queue,
                search_attributes=attributes,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                start_delay=delay,
                static_summary=f"{plan.name} (v{plan.version}) for contact {contact['id']}",
                static_details=(
                    f"plan `{plan.id}` v{plan.version} `{digest}`\n"
                    f"contact `{contact['id']}`, tenant `{tenant}`"
                ),
            )
        except RPCError as exc:
            raise EngineError([f"run {run_id}: Temporal refused the start: {exc}"]) from None

    # --- reading runs -------------------------------------------------------

    async def get_run(self, run_id: str) -> ExecutionRun:
        """The run's state: live from the workflow when a worker answers, else from storage.

        A run whose Temporal execution died (terminated, failed, timed out or canceled
        through Temporal) is ``DEAD``, with ``temporal_status`` and ``temporal_reason``.
        """
        return await self._reader.get_run(run_id)

    async def _record(self, run_id: str) -> RunRecord:
        try:
            return await self.runs.get(run_id)
        except UnknownRun:
            raise EngineError([f"unknown run {run_id!r}"]) from None

    async def _contact_of(self, run_id: str) -> str:
        owner = self._contacts.get(run_id)
        if owner is None:
            owner = (await self._record(run_id)).contact_id
            self._contacts[run_id] = owner
            if len(self._contacts) > _CONTACTS_KEPT:
                self._contacts.popitem(last=False)
        else:
            self._contacts.move_to_end(run_id)
        return owner

    async def list_runs(
        self,
        *,
        status: str | None = None,
        plan: str | None = None,
        limit: int = 100,
        outcomes: bool = False,
    ) -> list[ExecutionRun]:
        """Runs newest first; ``status="DEAD"`` lists those whose execution died.

        ``outcomes``: also read each ended run's outcome, failure and exit rule (one
        audit read per completed or failed run listed).
        """
        return await self._reader.list_runs(
            status=status, plan=plan, limit=limit, outcomes=outcomes
        )

    async def get_timeline(self, run_id: str) -> list[StoredEntry]:
        await self._record(run_id)
        try:
            return await self.audit.timeline(run_id)
        except UnknownRun:
            return []

    # --- steering runs ------------------------------------------------------

    def _handle(self, run_id: str) -> WorkflowHandle[PlanRunWorkflow, c.RunResult]:
        return self.client.get_workflow_handle_for(PlanRunWorkflow.run, run_id)

    async def _operate(self, run_id: str, action: str, request: c.OperatorRequest) -> ExecutionRun:
        past = operator_problems(
            by=request.by,
            reason=request.reason,
            resolution=request.resolution,
            target=request.target,
        )
        if past:
            raise EngineError([f"run {run_id}: {action} refused: {p}" for p in past])
        await self._refuse_ended(run_id, action)
        update = {
            "pause": PlanRunWorkflow.pause,
            "resume": PlanRunWorkflow.resume,
            "cancel": PlanRunWorkflow.cancel,
            "retry": PlanRunWorkflow.retry,
            "resolve": PlanRunWorkflow.resolve,
        }[action]
        try:
            await self._handle(run_id).execute_update(update, request)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = getattr(cause, "message", None) or str(cause or exc)
            raise EngineError([f"run {run_id}: {action} refused: {message}"]) from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                await self._refuse_ended(run_id, action)
                raise EngineError([f"run {run_id}: {action} refused: the run has ended"]) from None
            raise EngineError([f"run {run_id}: {action} failed: {exc}"]) from None
        run = await self.get_run(run_id)
        if run.status in FINAL:
            # The update answers before the workflow's last audit flush (a regular
            # activity after the handler): wait for the run to close, so that what the
            # caller reads next (timeline, verify) holds the action that ended it.
            with contextlib.suppress(WorkflowFailureError):
                await self._handle(run_id).result()
            run = await self.get_run(run_id)
        return run

    async def _refuse_ended(self, run_id: str, action: str) -> None:
        """Raise ``EngineError`` if the run is unknown or has ended (``ended_refusal``)."""
        refused = ended_refusal(await self.get_run(run_id), action)
        if refused is not None:
            raise refused

    async def pause_run(
        self, run_id: str, *, by: str = "operator", reason: str = ""
    ) -> ExecutionRun:
        return await self._operate(run_id, "pause", c.OperatorRequest(by, reason))

    async def resume_run(
        self, run_id: str, *, by: str = "operator", reason: str = ""
    ) -> ExecutionRun:
        return await self._operate(run_id, "resume", c.OperatorRequest(by, reason))

    async def cancel_run(self, run_id: str, reason: str, *, by: str = "operator") -> ExecutionRun:
        return await self._operate(run_id, "cancel", c.OperatorRequest(by, reason))

    async def retry_run(
        self, run_id: str, *, by: str = "operator", reason: str = "", resend: bool = False
    ) -> ExecutionRun:
        """Retry a failed run's step. A send whose outcome is unknown is first looked up
        at its provider (found: recorded delivered, not sent again); ``resend`` sends it
        again where the provider cannot be asked (SMTP), recorded with who and why.

        Raises:
            EngineError: the run is not failed, or its unknown send went through a
                provider that cannot be asked and ``resend`` was not given.
        """
        if not resend:
            await self._refuse_blind_resend(run_id)
        request = c.OperatorRequest(by, reason, "resend" if resend else None)
        return await self._operate(run_id, "retry", request)

    async def _refuse_blind_resend(self, run_id: str) -> None:
        run = await self.get_run(run_id)
        failure = run.failure or {}
        if "send_outcome_unknown" not in str(failure.get("reason", "")):
            return
        step_id = str(failure.get("stepId", ""))
        for sent in await self.sends(run_id):
            if sent.step_id == step_id and sent.outcome != "delivered" and sent.provider in BLIND:
                raise EngineError(
                    [
                        f"run {run_id}: retry refused: step {step_id} went through "
                        f"{sent.provider}, which cannot be asked whether the unknown attempt "
                        "went out; retry --resend sends it again (recorded), "
                        "resolve --mark-sent records that it did"
                    ]
                )

    async def sends(self, run_id: str) -> list[LedgerRow]:
        """What the send ledger knows of a run's sends (intent, attempts, outcome)."""
        await self._record(run_id)
        return await self.ledger.for_run(run_id)

    async def resolve_run(
        self,
        run_id: str,
        *,
        resolution: str,
        target: str,
        by: str = "operator",
        reason: str = "",
    ) -> ExecutionRun:
        """Resolve a failed run: ``skip`` to step ``target``, ``end`` with outcome ``target``,
        or ``mark_sent`` (no target): the operator checked that the failed or unknown
        send went out, so the run continues after it as if delivered."""
        request = c.OperatorRequest(by, reason, resolution, target)
        return await self._operate(run_id, "resolve", request)

    # --- replay -------------------------------------------------------------

    async def replay(
        self, run_id: str, *, dry_run: bool = True, plan: ExecutionPlan | None = None
    ) -> ReplayResult:
        """Replay a run offline from its Temporal history and compare it step by step.

        ``dry_run=True`` re-runs the pure interpreter on the run's recorded inputs and
        checks the stored audit chain (every hash and link); ``dry_run=False`` also
        checks today's workflow code against the history (Temporal's Replayer) and
        re-executes it in an isolated time-skipping server whose activities return the
        recorded results (no provider is contacted), comparing the audit entries it
        computes with the stored chain. ``plan``: a what-if on another plan version
        (the workflow code is then not re-executed).

        Raises:
            EngineError: unknown run.
            DocumentError: the history is malformed or of another workflow type.
        """
        await self._record(run_id)
        from dee.replay.flow import replay_from_server  # noqa: PLC0415 - see _LAZY

        code = not dry_run
        replayed = await replay_from_server(
            self.client, self.audit, run_id, plan=plan, workflow_code=code, execute=code
        )
        return replayed.result

    async def what_if(
        self, plan: ExecutionPlan, query: str = "", *, limit: int | None = None
    ) -> WhatIfReport:
        """Play the runs a Temporal visibility query selects through ``plan`` (what-if).

        ``query`` is a List Filter over DEE's search attributes, e.g.
        ``DeePlanId = 'sales-sequence' AND DeeStatus = 'COMPLETED'``; empty selects
        every plan run. Reports per run and in aggregate where the paths diverge, how
        many sends change and the cost difference (an unmade send is costed from the
        configuration: ``channels.email.costPerEmail``, one minute of
        ``policies.costPerVoiceMinute``).

        Raises:
            EngineError: the server refused the query, or a selected run's history
                cannot be read.
        """
        from dee.replay.what_if import what_if_query  # noqa: PLC0415 - see _LAZY

        plan = ensure_valid(plan, limits=self.config.validation.limits)
        return await what_if_query(self.client, self.audit, self.config, plan, query, limit=limit)

    # --- policies -----------------------------------------------------------

    def policy_admin(self) -> PolicyAdmin:
        """Consent, suppression, limits and budgets over the engine's database."""
        return PolicyAdmin(self.database)

    async def grant_consent(
        self, contact_id: str, channel: str, *, source: str, wording_version: str
    ) -> ConsentEntry:
        return await self._policy(
            self.policy_admin().grant_consent(
                self.config.tenant, contact_id, channel, source, wording_version
            )
        )

    async def revoke_consent(self, contact_id: str, channel: str, *, source: str) -> ConsentEntry:
        return await self._policy(
            self.policy_admin().revoke_consent(self.config.tenant, contact_id, channel, source)
        )

    async def suppress(
        self, contact_key: str, *, reason: str, scope: str = "global", scope_key: str = ""
    ) -> SuppressionEntry:
        """Suppress a contact (id, e-mail or phone) globally, on a channel or for a plan."""
        admin = self.policy_admin()
        return await self._policy(
            admin.suppress(self.config.tenant, scope, scope_key, contact_key, reason, "engine")
        )

    async def unsuppress(
        self, contact_key: str, *, scope: str = "global", scope_key: str = ""
    ) -> SuppressionEntry:
        admin = self.policy_admin()
        return await self._policy(
            admin.unsuppress(self.config.tenant, scope, scope_key, contact_key)
        )

    async def list_suppressions(self) -> list[SuppressionEntry]:
        return await self._policy(self.policy_admin().list_suppressions(self.config.tenant))

    async def set_daily_limit(self, channel: str, limit: int | None) -> int | None:
        """Store a daily send limit for the channel (``None`` clears it)."""
        return await self._policy(
            self.policy_admin().set_daily_limit(self.config.tenant, channel, limit)
        )

    async def _policy(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except PolicyError as exc:
            raise EngineError([str(exc)]) from None

    # --- events -------------------------------------------------------------

    async def ingest_event(
        self,
        *,
        type: str,
        contact_id: str,
        run_id: str | None = None,
        step_id: str | None = None,
        data: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> IngestedEvent:
        """Deliver an event to ``run_id``, or to every active run of the contact.

        Each run gets it as the ``ingest`` update, so this returns once the runs have
        decided on it, or as the durable signal when no worker takes it within
        ``temporal.event_ack_timeout`` seconds (``dee.event_delivery``).
        """
        if not type:
            raise EngineError(["event: type is required"])
        if not contact_id:
            raise EngineError(["event: contactId is required"])
        past = event_problems(type=type, event_id=event_id, step_id=step_id)
        past += start_problems(contact={"id": contact_id})
        if past:
            raise EngineError([f"event: {p}" for p in past])
        try:
            canonical_json(dict(data or {}))
        except Exception as exc:  # the JSON canonicalizer raises several kinds
            why = f"{exc.__class__.__name__}: {exc}"
            raise EngineError(
                [f"event data: cannot be recorded in the audit log ({why})"]
            ) from None
        event = c.EventSignal(
            event_id or f"evt-{uuid.uuid4().hex}", type, step_id, dict(data or {})
        )
        if run_id is not None:
            owner = await self._contact_of(run_id)
            if owner != contact_id:
                raise EngineError(
                    [f"event: run {run_id} belongs to contact {owner}, not {contact_id}"]
                )
            targets: Sequence[str] = [run_id]
        else:
            active = await self.runs.list(
                tenant=self.config.tenant, contact_id=contact_id, statuses=ACTIVE, limit=None
            )
            targets = sorted(r.run_id for r in active)
        wait = self.config.temporal.event_ack_timeout
        results = await asyncio.gather(
            *(deliver(self._handle(target), event, wait) for target in targets),
            return_exceptions=True,
        )
        for result in results:  # every run was tried; the first failure is reported
            if isinstance(result, BaseException):
                raise result
        taken = tuple(r for r in results if isinstance(r, Delivery) and r.outcome != "ended")
        return IngestedEvent(event.id, tuple(r.run_id for r in taken), taken)


def _run_id(tenant: str, plan_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"run-{uuid.uuid4().hex}"
    digest = hashlib.sha256(f"{tenant}\x00{plan_id}\x00{idempotency_key}".encode()).hexdigest()
    return f"run-{digest[:32]}"


__all__ = ["ACTIVE", "Engine", "ExecutionRun", "IngestedEvent"]
