"""Taking an event in: check it, find the runs it is for, deliver it to each.

An event names its contact and, optionally, one run. A named run must belong to that
contact; without one, the event goes to every run of the contact that has not ended
(an exit rule ends a paused run, an unsubscribe a failed one that waits for an
operator). Delivery itself is ``dee.events.delivery``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from activities import contracts as c
from adapters.privacy import ContactErased, Privacy
from adapters.storage import RunStore
from dee.config import EngineConfig
from dee.errors import EngineError
from dee.events.delivery import Delivery, deliver
from dee.events.revocation import REVOCATION, Revocations
from dee.observability.metrics import record_ingest
from dee.privacy_keys import privacy_for
from dee.runs.reading import NOT_FINAL
from dee.tenants import run_of
from interpreter import canonical_json
from interpreter.limits import event_problems, start_problems
from workflows.plan_run import PlanRunWorkflow

# Every status that is not final takes events.
ACTIVE = tuple(NOT_FINAL)
_CONTACTS_KEPT = 100_000  # run ids whose contact is remembered (~20 MB at most)


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


class EventIngest:
    """Checks events and delivers them to their runs (see the module docstring)."""

    def __init__(self, config: EngineConfig, client: Client, runs: RunStore) -> None:
        self._config = config
        self._client = client
        self._runs = runs
        # Run id -> (contact id, tenant), for the ownership check: a run's contact never
        # changes (RunStore refuses that), and a receiver sends a run several events.
        self._contacts: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._privacy: Privacy | None = None
        self._revocations = Revocations(runs.database)

    async def ingest(
        self,
        *,
        type: str,
        contact_id: str,
        run_id: str | None = None,
        step_id: str | None = None,
        data: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> IngestedEvent:
        """Deliver an event to ``run_id``, or to every active run of the contact
        (``Engine.ingest_event``).

        Each run gets it as the ``ingest`` update, so this returns once the runs have
        decided on it, or as the durable signal when no worker takes it within
        ``temporal.event_ack_timeout`` seconds (``dee.events.delivery``). A reply
        asking to stop (``dee.events.stop_words``) first records the contact's opt-out on
        every channel (``dee.events.revocation``), and the event's data says so.

        Raises:
            EngineError: the event is refused (a missing type or contact, a value past
                its limits, data the audit log cannot record), the named run is unknown
                or another contact's, or a run refused the event.
            EngineUnavailable: Temporal could not be reached to deliver it.
        """
        started, outcome = time.perf_counter(), "error"
        try:
            taken = await self._ingest(type, contact_id, run_id, step_id, data, event_id)
            outcome = _slowest(taken.deliveries)
            return taken
        finally:  # the latency an event source sees, refusals included
            record_ingest(self._client, time.perf_counter() - started, outcome)

    async def _ingest(
        self,
        type: str,
        contact_id: str,
        run_id: str | None,
        step_id: str | None,
        data: Mapping[str, Any] | None,
        event_id: str | None,
    ) -> IngestedEvent:
        event = _event(type, contact_id, step_id, data, event_id)
        tenant = self._config.tenant
        if run_id is not None:
            owner, tenant = await self._contact_of(run_id)
            if owner != contact_id:
                raise EngineError(
                    [f"event: run {run_id} belongs to contact {owner}, not {contact_id}"]
                )
            targets: Sequence[str] = [run_id]
        else:
            active = await self._runs.list(
                tenant=self._config.tenant, contact_id=contact_id, statuses=ACTIVE, limit=None
            )
            targets = sorted(r.run_id for r in active)
        # A reply saying STOP is the contact's opt-out whether or not a run waits for
        # it, and is in force before any run resumes on the event (``revocation``).
        revoked = await self._revocations.record(
            tenant, contact_id, event.id, event.type, event.data
        )
        if revoked is not None:
            event.data[REVOCATION] = revoked.as_data()
        if event.data and targets:
            event.data = await self._recorded(tenant, contact_id, event.data)
        wait = self._config.temporal.event_ack_timeout
        results = await asyncio.gather(
            *(
                deliver(self._client.get_workflow_handle_for(PlanRunWorkflow.run, t), event, wait)
                for t in targets
            ),
            return_exceptions=True,
        )
        for result in results:  # every run was tried; the first failure is reported
            if isinstance(result, BaseException):
                raise result
        taken = tuple(r for r in results if isinstance(r, Delivery) and r.outcome != "ended")
        return IngestedEvent(event.id, tuple(r.run_id for r in taken), taken)

    async def _recorded(self, tenant: str, contact_id: str, data: dict[str, Any]) -> Any:
        """The event's data as the audit log may hold it (``Privacy.event_data``)."""
        if self._privacy is None:
            self._privacy = privacy_for(self._config, self._runs.database)
        try:
            return await self._privacy.event_data(tenant, contact_id, data)
        except ContactErased:
            raise EngineError([f"event: contact {contact_id} was erased"]) from None

    async def _contact_of(self, run_id: str) -> tuple[str, str]:
        owner = self._contacts.get(run_id)
        if owner is None:
            record = await run_of(self._runs, self._config.tenant, run_id)
            owner = (record.contact_id, record.tenant)
            self._contacts[run_id] = owner
            if len(self._contacts) > _CONTACTS_KEPT:
                self._contacts.popitem(last=False)
        else:
            self._contacts.move_to_end(run_id)
        return owner


def _event(
    type: str,
    contact_id: str,
    step_id: str | None,
    data: Mapping[str, Any] | None,
    event_id: str | None,
) -> c.EventSignal:
    """The event as runs take it, or ``EngineError`` naming what is wrong with it."""
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
        raise EngineError([f"event data: cannot be recorded in the audit log ({why})"]) from None
    return c.EventSignal(event_id or f"evt-{uuid.uuid4().hex}", type, step_id, dict(data or {}))


def _slowest(deliveries: Sequence[Delivery]) -> str:
    """The ingest's outcome label: ``handled`` when every run decided on the event,
    else the slowest path one took (``accepted``, ``queued``), ``none`` without runs."""
    outcomes = {d.outcome for d in deliveries}
    for outcome in ("queued", "accepted", "handled"):
        if outcome in outcomes:
            return outcome
    return "none"


__all__ = ["ACTIVE", "EventIngest", "IngestedEvent"]
