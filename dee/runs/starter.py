"""Starting runs: one ``RunStarter`` for a single contact and for many.

A start validates the plan (with the content registry) and stores it once per
version, makes the contact's start values canonical (``dee.runs.start_values``), starts the
run's workflow and then records its row: start first, then record, so a failed start
leaves no phantom run behind (the workflow's first activity writes the same row anyway,
an idempotent upsert).

A bulk enrolment (``execute_many``, ``dee start --contacts``) does once per batch what
``execute`` does once per run: the plan is validated and registered once, the
workflow starts go out concurrently, and the run rows are written in one transaction
after the starts. The runs come back as recorded (``PENDING``) without asking each
new workflow for its state, which would cost a worker round trip per contact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, RPCError
from temporalio.common import WorkflowIDConflictPolicy

from activities import contracts as c
from adapters.storage import PlanStore, RunRecord, RunStore, StorageError, UnknownRun
from dee.config import EngineConfig
from dee.contact_histories import delete_histories
from dee.content import load_registry
from dee.errors import EngineError
from dee.presets import preset_problems
from dee.privacy_keys import privacy_for
from dee.runs import start_values
from dee.runs.ids import run_id
from dee.runs.reading import ExecutionRun, RunReader, from_record
from dee.runs.start_attributes import StartAttributes
from dee.runs.start_payload import InputEncoder
from dee.tenants import bound_tenant
from interpreter import ExecutionPlan, PlanError, ensure_valid


def erased_refusal(contact_id: str) -> str:
    return (
        f"contact {contact_id}: erased; no run starts for it until it is enrolled again "
        f"(dee contact enroll {contact_id})"
    )


# Bulk starts in flight at once: enough to keep the frontend busy without a burst of
# thousands of open requests from one client.
CONCURRENCY = 64


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
        """Validate and register ``plan``, then start a run for ``contact`` (``Engine.execute``).

        ``start_at`` delays the start (the run's tick 0 is when it starts). With an
        ``idempotency_key`` the run id is derived from it, and a repeated call returns
        the existing run; a different plan or contact under the same key is refused.
        The contact's ``email`` and ``phone`` are made canonical (``dee.runs.start_values``):
        one that is not exactly one mailbox, or no possible number, is refused.

        Raises:
            EngineError: the plan, the contact or the variables are refused, the key
                started another run, or Temporal refused the start.
        """
        tenant = tenant or self.config.tenant
        contact_id = contact.get("id")
        if not isinstance(contact_id, str) or not contact_id:
            raise EngineError(["contact: a contact needs a non-empty string 'id'"])
        start_values.check(contact, "contact")
        start_values.check(variables or {}, "variables")
        start_values.check_limits(tenant=tenant, contact=contact, variables=variables or {})
        # After the limits: a hostile tenant value is named as such, not as another tenant.
        tenant = bound_tenant(self.config.tenant, tenant, "start")
        contact = start_values.start_contact(contact)
        if await self._erased(tenant, [contact_id]):
            raise EngineError([erased_refusal(contact_id)])
        await self.register_plan(plan)
        new_id = run_id(tenant, plan.id, idempotency_key)
        record = RunRecord(new_id, tenant, plan.id, plan.version, contact_id, "PENDING")
        if idempotency_key is not None:
            existing = await self._existing_run(new_id, record)
            if existing is not None:
                return existing
        await self.start_run(new_id, tenant, plan, dict(contact), dict(variables or {}), start_at)
        await self.runs.create(record)
        if await self._withdrawn(tenant, [record]):
            raise EngineError([erased_refusal(contact_id)])
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
        """Start ``plan`` for every contact (bulk enrolment, ``Engine.execute_many``).

        Returns one outcome per contact, in order: the run as recorded (``PENDING``), or
        the ``EngineError`` that kept that contact from starting.

        With an ``idempotency_key`` each contact's run is keyed ``<key>:<contact id>``, so
        repeating the call starts nothing twice. A contact that cannot start gets an
        ``EngineError`` in its place; the others still start.

        Raises:
            EngineError: the plan is invalid or cannot be registered (nothing starts).
        """
        tenant = tenant or self.config.tenant
        start_values.check(variables or {}, "variables")  # shared by all: refuse them all
        start_values.check_limits(tenant=tenant, variables=variables or {})
        tenant = bound_tenant(self.config.tenant, tenant, "start")
        await self.register_plan(plan)
        # Made once: a sha256 and a pydantic dump of the whole plan each time.
        digest, document = plan.content_hash, plan.to_document()
        encoder = InputEncoder(self.client.data_converter, document)
        gate = asyncio.Semaphore(CONCURRENCY)
        fresh: list[RunRecord] = []
        erased = await self._erased(tenant, [str(c.get("id")) for c in contacts])

        async def one(contact: Mapping[str, Any]) -> ExecutionRun | EngineError:
            contact_id = contact.get("id")
            if not isinstance(contact_id, str) or not contact_id:
                return EngineError(["contact: a contact needs a non-empty string 'id'"])
            if contact_id in erased:
                return EngineError([erased_refusal(contact_id)])
            bad = start_values.problem(contact, "contact")
            if bad is not None:
                return EngineError([bad])
            past = start_values.limit_problems(contact=contact)
            if past:
                return EngineError(past)
            try:
                contact = start_values.start_contact(contact)
            except EngineError as exc:
                return exc
            key = None if idempotency_key is None else f"{idempotency_key}:{contact_id}"
            new_id = run_id(tenant, plan.id, key)
            record = RunRecord(new_id, tenant, plan.id, plan.version, contact_id, "PENDING")
            try:
                async with gate:
                    if key is not None:
                        existing = await self._existing_run(new_id, record)
                        if existing is not None:
                            return existing
                    await self.start_run(
                        new_id,
                        tenant,
                        plan,
                        dict(contact),
                        dict(variables or {}),
                        plan_hash=digest,
                        encoder=encoder,
                    )
            except EngineError as exc:
                return exc
            fresh.append(record)
            if on_started is not None:
                on_started()
            return from_record(record)

        outcomes = await asyncio.gather(*(one(c) for c in contacts))
        try:
            await self.runs.create_many(fresh)
        except StorageError as exc:  # started, but not listed until their first activity
            raise EngineError(
                [f"started {len(fresh)} runs but could not record them: {exc}"]
            ) from None
        withdrawn = await self._withdrawn(tenant, fresh)
        return [
            EngineError([erased_refusal(o.contact_id)])
            if isinstance(o, ExecutionRun) and o.run_id in withdrawn
            else o
            for o in outcomes
        ]

    async def _withdrawn(self, tenant: str, started: Sequence[RunRecord]) -> set[str]:
        """Delete the runs just started for a contact erased meanwhile; their ids.

        The check before a start and the start itself are not one step: an erasure can
        mark the contact in between and, finding no recorded run, miss this one. Checked
        again once the runs are recorded, any such run is withdrawn here (its history,
        which holds the contact, deleted); an erasure marking the contact after this
        check finds the recorded run itself (docs/privacy.md).
        """
        erased = await self._erased(tenant, sorted({r.contact_id for r in started}))
        withdrawn = {r.run_id for r in started if r.contact_id in erased}
        for withdrawn_id in sorted(withdrawn):
            await delete_histories(self.client, self.config.temporal.namespace, withdrawn_id)
        return withdrawn

    async def _erased(self, tenant: str, contact_ids: Sequence[str]) -> set[str]:
        """Which of the contacts are erased: no run starts for them until re-enrolled."""
        try:
            keys = privacy_for(self.config, self.runs.database).keys
            return await keys.erased_among(tenant, contact_ids)
        except StorageError as exc:
            raise EngineError([f"cannot check whether the contact was erased: {exc}"]) from None

    async def register_plan(self, plan: ExecutionPlan) -> None:
        """Validate ``plan`` (with the content registry) and store it, once per version.

        Raises:
            EngineError: the plan is invalid, or another body holds its version.
        """
        try:
            limits = self.config.validation.limits
            ensure_valid(plan, registry=load_registry(self.config.templates_dir), limits=limits)
            unknown = preset_problems(plan)
            if unknown:
                raise PlanError(unknown)
            await self._plans.put(plan)
        except PlanError as exc:
            raise EngineError([str(p) for p in exc.problems]) from None
        except StorageError as exc:
            raise EngineError([str(exc)]) from None

    async def _existing_run(self, run_id: str, record: RunRecord) -> ExecutionRun | None:
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
        """Start the run's workflow (no record, no validation: ``execute`` does those).

        ``plan_hash``: the plan's ``content_hash`` when the caller has it already.
        ``encoder``: a bulk enrolment's ``InputEncoder`` (holds the plan's document).

        Raises:
            EngineError: Temporal refused the start.
            TenantMismatch: ``tenant`` is not the engine's.
        """
        cfg = self.config
        tenant = bound_tenant(cfg.tenant, tenant, f"start {run_id}")
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


__all__ = ["CONCURRENCY", "RunStarter"]
