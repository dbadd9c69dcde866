"""``Engine``: the public API — start runs, steer them, read their timelines, feed events.

Runs are Temporal workflows (``PlanRunWorkflow``); their bookkeeping rows and audit
entries live in the configured database, so ``get_run``, ``list_runs`` and
``get_timeline`` answer from storage even when no worker is running. The engine is a
façade: each concern has one owner, built here from the client, the stores and the
configuration (never from the engine): ``dee.runs.starter`` (single and bulk starts),
``dee.runs.reading`` (the read model), ``dee.runs.operator``, ``dee.events.ingest``
and ``dee.policy_actions``; replay and what-if are ``dee.replay``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from temporalio.client import Client

from activities import contracts as c
from adapters.policy import ConsentEntry, PolicyAdmin, SuppressionEntry
from adapters.storage import (
    AuditStore,
    Database,
    LedgerRow,
    PlanStore,
    RunRecord,
    RunStore,
    SendLedger,
    StoredEntry,
    open_database,
)
from dee.config import EngineConfig
from dee.connection import connect
from dee.errors import DeeError, EngineError
from dee.events.ingest import ACTIVE, EventIngest, IngestedEvent
from dee.policy_actions import PolicyActions
from dee.runs.operator import OperatorActions
from dee.runs.reading import ExecutionRun, RunReader
from dee.runs.start_payload import InputEncoder
from dee.runs.starter import RunStarter
from interpreter import ExecutionPlan, ensure_valid
from interpreter.replay import ReplayResult, WhatIfReport

# _LAZY: replay and what-if (``dee.replay``) bring Temporal's worker and test-server
# modules; they are imported where used, so a process that only starts runs (every
# ``dee start``) does not load them.


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
        self._reader = RunReader(client, self.runs, self.audit, self.ledger)
        self._starter = RunStarter(config, client, self.plans, self.runs, self._reader)
        self._operator = OperatorActions(client, self._reader)
        self._events = EventIngest(config, client, self.runs)
        self._policies = PolicyActions(database, config.tenant)

    @classmethod
    async def connect(cls, config: EngineConfig, *, client: Client | None = None) -> Engine:
        """Open the database (running migrations) and connect to Temporal.

        The client encrypts payloads with ``config``'s key ring (``dee.connection``); a
        ``client`` given instead is used as it is, with its own data converter.
        """
        database = await open_database(config.database_url)
        if client is None:
            try:
                client = await connect(config)
            except DeeError:
                await database.dispose()
                raise
        return cls(config, client, database)

    async def close(self) -> None:
        """Close the database connections (the Temporal client needs no closing)."""
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
        The contact's ``email`` and ``phone`` are made canonical (``dee.runs.start_values``):
        one that is not exactly one mailbox, or no possible number, is refused.
        """
        return await self._starter.execute(
            plan, contact=contact, variables=variables, start_at=start_at,
            idempotency_key=idempotency_key, tenant=tenant,
        )  # fmt: skip

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
        """Start ``plan`` for many contacts at once (see ``RunStarter.execute_many``).

        Returns one outcome per contact, in order: the run as recorded (``PENDING``),
        or the ``EngineError`` that kept that contact from starting.
        """
        return await self._starter.execute_many(
            plan, contacts, variables=variables, idempotency_key=idempotency_key,
            tenant=tenant, on_started=on_started,
        )  # fmt: skip

    async def register_plan(self, plan: ExecutionPlan) -> None:
        """Validate ``plan`` (with the content registry) and store it, once per version.

        Raises:
            EngineError: the plan is invalid, or another body holds its version.
        """
        await self._starter.register_plan(plan)

    async def existing_run(self, run_id: str, record: RunRecord) -> ExecutionRun | None:
        """The run an idempotency key already started (``None``: none yet); refused
        (``EngineError``) when it is of another plan or for another contact."""
        return await self._starter.existing_run(run_id, record)

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
        ``encoder``: a bulk enrolment's ``InputEncoder`` (holds the plan's document).
        """
        await self._starter.start_run(
            run_id, tenant, plan, contact, variables, start_at,
            plan_hash=plan_hash, encoder=encoder,
        )  # fmt: skip

    # --- reading runs -------------------------------------------------------

    async def get_run(self, run_id: str) -> ExecutionRun:
        """The run's state: live from the workflow when a worker answers, else from storage.

        A run whose Temporal execution died (terminated, failed, timed out or canceled
        through Temporal) is ``DEAD``, with ``temporal_status`` and ``temporal_reason``.
        """
        return await self._reader.get_run(run_id)

    async def list_runs(
        self,
        *,
        status: str | None = None,
        plan: str | None = None,
        limit: int = 100,
        outcomes: bool = False,
    ) -> list[ExecutionRun]:
        """Runs newest first; ``status="DEAD"`` lists those whose execution died.

        ``outcomes``: also give each ended run's outcome, failure and exit rule.
        """
        return await self._reader.list_runs(
            status=status, plan=plan, limit=limit, outcomes=outcomes
        )

    async def get_timeline(self, run_id: str) -> list[StoredEntry]:
        """The run's audit entries, oldest first."""
        return await self._reader.timeline(run_id)

    async def sends(self, run_id: str) -> list[LedgerRow]:
        """What the send ledger knows of a run's sends (intent, attempts, outcome)."""
        return await self._reader.sends(run_id)

    # --- steering runs (``dee.runs.operator``) ---------------------------

    async def pause_run(
        self, run_id: str, *, by: str = "operator", reason: str = ""
    ) -> ExecutionRun:
        return await self._operator.act(run_id, "pause", c.OperatorRequest(by, reason))

    async def resume_run(
        self, run_id: str, *, by: str = "operator", reason: str = ""
    ) -> ExecutionRun:
        return await self._operator.act(run_id, "resume", c.OperatorRequest(by, reason))

    async def cancel_run(self, run_id: str, reason: str, *, by: str = "operator") -> ExecutionRun:
        return await self._operator.act(run_id, "cancel", c.OperatorRequest(by, reason))

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
        request = c.OperatorRequest(by, reason, "resend" if resend else None)
        return await self._operator.act(run_id, "retry", request)

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
        return await self._operator.act(run_id, "resolve", request)

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
        await self._reader.record(run_id)
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

    # --- policies (``dee.policy_actions``) ---------------------------------

    def policy_admin(self) -> PolicyAdmin:
        """Consent, suppression, limits and budgets over the engine's database."""
        return self._policies.admin

    async def grant_consent(
        self, contact_id: str, channel: str, *, source: str, wording_version: str
    ) -> ConsentEntry:
        return await self._policies.grant_consent(
            contact_id, channel, source=source, wording_version=wording_version
        )

    async def revoke_consent(self, contact_id: str, channel: str, *, source: str) -> ConsentEntry:
        return await self._policies.revoke_consent(contact_id, channel, source=source)

    async def suppress(
        self, contact_key: str, *, reason: str, scope: str = "global", scope_key: str = ""
    ) -> SuppressionEntry:
        """Suppress a contact (id, e-mail or phone) globally, on a channel or for a plan."""
        return await self._policies.suppress(
            contact_key, reason=reason, scope=scope, scope_key=scope_key
        )

    async def unsuppress(
        self, contact_key: str, *, scope: str = "global", scope_key: str = ""
    ) -> SuppressionEntry:
        return await self._policies.unsuppress(contact_key, scope=scope, scope_key=scope_key)

    async def list_suppressions(self) -> list[SuppressionEntry]:
        return await self._policies.list_suppressions()

    async def set_daily_limit(self, channel: str, limit: int | None) -> int | None:
        """Store a daily send limit for the channel (``None`` clears it)."""
        return await self._policies.set_daily_limit(channel, limit)

    # --- events (``dee.events.ingest``) --------------------------------------

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
        ``temporal.event_ack_timeout`` seconds (``dee.events.delivery``).
        """
        return await self._events.ingest(
            type=type, contact_id=contact_id, run_id=run_id, step_id=step_id, data=data,
            event_id=event_id,
        )  # fmt: skip


__all__ = ["ACTIVE", "Engine", "ExecutionRun", "IngestedEvent"]
