"""Starting runs: one ``RunStarter`` for a single contact and for many (``dee.runs.enrolment``).

A start validates the plan (with the content registry) and stores it once per
version, makes the contact's start values canonical (``dee.runs.start_values``), starts the
run's workflow and then records its row: start first, then record, so a failed start
leaves no phantom run behind (the workflow's first activity writes the same row anyway,
an idempotent upsert).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, RPCError
from temporalio.common import WorkflowIDConflictPolicy

from activities import contracts as c
from adapters.storage import PlanStore, RunRecord, RunStore, StorageError, UnknownRun
from dee.config import EngineConfig
from dee.content import load_registry
from dee.errors import EngineError
from dee.runs import start_values
from dee.runs.enrolment import enrol
from dee.runs.ids import run_id
from dee.runs.reading import ExecutionRun, RunReader
from dee.runs.start_attributes import StartAttributes
from dee.runs.start_payload import InputEncoder
from interpreter import ExecutionPlan, PlanError, ensure_valid


class RunStarter:
    """Starts runs of validated, stored plans (see the module docstring)."""

    def __init__(
        self,
        config: EngineConfig,
        client: Client,
        plans: PlanStore,
        runs: RunStore,
        reader: RunReader,
    ) -> None:
        self.config = config
        self.client = client
        self.runs = runs
        self._plans = plans
        self._reader = reader
        self._start_attributes = StartAttributes(
            client, config.temporal.namespace, enabled=config.temporal.search_attributes
        )

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
        """See ``Engine.execute``."""
        tenant = tenant or self.config.tenant
        contact_id = contact.get("id")
        if not isinstance(contact_id, str) or not contact_id:
            raise EngineError(["contact: a contact needs a non-empty string 'id'"])
        start_values.check(contact, "contact")
        start_values.check(variables or {}, "variables")
        start_values.check_limits(tenant=tenant, contact=contact, variables=variables or {})
        contact = start_values.start_contact(contact)
        await self.register_plan(plan)
        new_id = run_id(tenant, plan.id, idempotency_key)
        record = RunRecord(new_id, tenant, plan.id, plan.version, contact_id, "PENDING")
        if idempotency_key is not None:
            existing = await self.existing_run(new_id, record)
            if existing is not None:
                return existing
        await self.start_run(new_id, tenant, plan, dict(contact), dict(variables or {}), start_at)
        await self.runs.create(record)
        return await self._reader.get_run(new_id)

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
        """See ``Engine.execute_many`` and ``dee.runs.enrolment``."""
        return await enrol(
            self, plan, contacts, variables=variables, idempotency_key=idempotency_key,
            tenant=tenant or self.config.tenant, on_started=on_started,
        )  # fmt: skip

    async def register_plan(self, plan: ExecutionPlan) -> None:
        """See ``Engine.register_plan``."""
        try:
            limits = self.config.validation.limits
            ensure_valid(plan, registry=load_registry(self.config.templates_dir), limits=limits)
            await self._plans.put(plan)
        except PlanError as exc:
            raise EngineError([str(p) for p in exc.problems]) from None
        except StorageError as exc:
            raise EngineError([str(exc)]) from None

    async def existing_run(self, run_id: str, record: RunRecord) -> ExecutionRun | None:
        """The run an idempotency key started already, if any (``None``: none yet).

        Raises:
            EngineError: the key started a run of another plan or for another contact.
        """
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
        return await self._reader.get_run(run_id)

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
        """See ``Engine.start_run``."""
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


__all__ = ["RunStarter"]
