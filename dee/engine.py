"""``Engine``: the public API — start runs, steer them, read their timelines, feed events.

Runs are Temporal workflows (``PlanRunWorkflow``); their bookkeeping rows and audit
entries live in the configured database, so ``get_run``, ``list_runs`` and
``get_timeline`` answer from storage even when no worker is running.

The engine is a façade: each concern has one owner, built here from the client, the
stores and the configuration (never from the engine), and reachable as an attribute:

* ``engine.starter`` (``dee.runs.starter.RunStarter``): ``execute``, ``execute_many``,
  ``register_plan``, ``start_run``;
* ``engine.reader`` (``dee.runs.reading.RunReader``): ``get_run``, ``list_runs``,
  ``timeline``, ``sends``;
* ``engine.operator`` (``dee.runs.operator.OperatorActions``): ``pause``, ``resume``,
  ``cancel``, ``retry``, ``resolve``;
* ``engine.bulk_actions`` (``dee.runs.bulk.BulkActions``): ``act``, an operator action
  over the runs a filter selects (``engine.bulk``);
* ``engine.events`` (``dee.events.ingest.EventIngest``): ``ingest``;
* ``engine.policies`` (``dee.policy_actions.PolicyActions``): consent, suppression,
  daily limits, and ``admin`` (the tenant-wide ``PolicyAdmin``);
* ``engine.contacts`` (``dee.contacts.ContactService``): ``erase`` and ``enrol``
  (crypto-shredding: docs/privacy.md).

The documented calls (``engine.execute``, ``engine.get_run``, ``engine.pause_run``, ...)
are those services' methods, whose docstrings say what each does and refuses; replay
and what-if are the engine's own, over ``dee.replay``.
"""

from __future__ import annotations

from temporalio.client import Client

from adapters.storage import AuditStore, Database, PlanStore, RunStore, SendLedger, open_database
from dee.config import EngineConfig
from dee.connection import connect
from dee.contacts import ContactService
from dee.errors import DeeError
from dee.events.ingest import EventIngest, IngestedEvent
from dee.policy_actions import PolicyActions
from dee.runs.bulk import BulkActions
from dee.runs.operator import OperatorActions
from dee.runs.reading import ExecutionRun, RunReader
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
        self.runs = RunStore(database)
        # Bound to one tenant (``config.tenant``): reads, actions, events, starts and
        # plans reach only its runs and data (docs/tenants.md).
        self.plans = PlanStore(database, config.tenant)
        self.audit = AuditStore(database, tenant=config.tenant)
        self.ledger = SendLedger(database)
        self.reader = RunReader(client, self.runs, self.audit, self.ledger, tenant=config.tenant)
        self.starter = RunStarter(config, client, self.plans, self.runs, self.reader)
        self.operator = OperatorActions(client, self.reader)
        self.bulk_actions = BulkActions(client, self.runs, self.audit, self.operator, config.tenant)
        self.events = EventIngest(config, client, self.runs)
        self.policies = PolicyActions(
            database, config.tenant, bound="tenant" in config.model_fields_set
        )
        self.contacts = ContactService(config, client, database, self.runs, self.operator)
        # The documented calls are their owners' methods, bound here (one statement per
        # owner): one signature and one docstring per call, in the service doing the work.
        starter, reader, operator = self.starter, self.reader, self.operator
        self.execute, self.execute_many = starter.execute, starter.execute_many
        self.get_run, self.list_runs, self.get_timeline, self.sends = (
            reader.get_run, reader.list_runs, reader.timeline, reader.sends
        )  # fmt: skip
        self.ingest_event = self.events.ingest
        self.pause_run, self.resume_run, self.cancel_run, self.retry_run, self.resolve_run = (
            operator.pause, operator.resume, operator.cancel, operator.retry, operator.resolve
        )  # fmt: skip
        self.bulk = self.bulk_actions.act

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

    async def replay(
        self, run_id: str, *, dry_run: bool = True, plan: ExecutionPlan | None = None
    ) -> ReplayResult:
        """Replay a run offline from its Temporal history and compare it step by step.

        ``dry_run=True`` re-runs the pure interpreter on the run's recorded inputs and
        checks the stored audit chain (every hash and link, and its signed checkpoints
        when the signing key is configured, as ``dee replay`` does); ``dry_run=False`` also
        checks today's workflow code against the history (Temporal's Replayer) and
        re-executes it in an isolated time-skipping server whose activities return the
        recorded results (no provider is contacted), comparing the audit entries it
        computes with the stored chain. ``plan``: a what-if on another plan version
        (the workflow code is then not re-executed).

        Raises:
            UnknownRunError: unknown run, or another tenant's.
            DocumentError: the history is malformed or of another workflow type.
        """
        await self.reader.record(run_id)
        from dee.audit_keys import verifying_keys  # noqa: PLC0415 - see _LAZY
        from dee.replay.flow import replay_from_server  # noqa: PLC0415 - see _LAZY

        code, keys = not dry_run, verifying_keys(self.config)
        replayed = await replay_from_server(
            self.client, self.audit, run_id, plan=plan, workflow_code=code, execute=code,
            keys=keys,
        )  # fmt: skip
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


__all__ = ["Engine", "ExecutionRun", "IngestedEvent"]
