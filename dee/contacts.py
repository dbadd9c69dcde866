"""Contacts' personal data: erasure (crypto-shredding) and enrolment again.

``Engine.contacts`` is a ``ContactService``. An erasure (``dee contact erase ID``):

1. cancels the contact's open runs through their workflow (each run's chain gets
   its ``cancel accepted`` entry and closes, so every chain still verifies);
2. destroys the contact's data keys and marks it erased (``adapters.privacy``):
   every field sealed for it, in the audit chain or any copy of it, is unreadable,
   and no run starts for it (``EngineError`` naming it) until it is enrolled again;
3. deletes the Temporal executions of all its runs, whose histories hold the
   contact as it was started;
4. pseudonymises, deletes or redacts what is left in mutable tables
   (``adapters.privacy.scrub``);
5. appends an ``erased`` entry to the tenant's erasure chain (``erasures:<tenant>``),
   an audit chain of its own: a run's chain ends with the run, and the erasure of a
   contact with no open run has no run to belong to.

Every step can be repeated: a second erasure finishes what a first one left undone
(a worker that did not answer, a Temporal outage) and otherwise changes nothing
(``Erasure.already``); the ``erased`` entry is written once per erasure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.privacy import Privacy
from adapters.privacy.scrub import ScrubReport, known_contact, scrub
from adapters.storage import (
    AuditDivergence,
    AuditStore,
    Database,
    RunStore,
    UnknownRun,
    load_signing_key,
    verify_keys,
)
from adapters.storage.checkpoint_format import VerifyKeys
from dee.config import EngineConfig
from dee.contact_histories import contact_of, delete_histories
from dee.errors import EngineError, EngineUnavailable
from dee.privacy_keys import privacy_for
from dee.runs.operator import OperatorActions
from dee.runs.reading import NOT_FINAL
from dee.tenants import bound_tenant, run_of
from interpreter import TraceEntry, chain

ERASED = "erased"
CANCEL_REASON = "contact erased"
CANCEL_SECONDS = 30.0  # a cancel waits for a worker to close the run


def erasure_chain(tenant: str) -> str:
    """The audit chain that records a tenant's erasures."""
    return f"erasures:{tenant}"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one ``erase`` did. ``already``: the contact was erased before, nothing changed."""

    tenant: str
    contact_id: str
    already: bool
    runs: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    histories_deleted: int = 0
    scrubbed: ScrubReport = field(default_factory=ScrubReport)
    audit_seq: int | None = None  # the ``erased`` entry this call wrote


class ContactService:
    """Erasure and enrolment of contacts (see the module docstring)."""

    def __init__(
        self,
        config: EngineConfig,
        client: Client,
        database: Database,
        runs: RunStore,
        operator: OperatorActions,
    ) -> None:
        self._config = config
        self._client = client
        self._db = database
        self._runs = runs
        self._operator = operator
        self._privacy: Privacy | None = None

    @property
    def privacy(self) -> Privacy:
        if self._privacy is None:
            self._privacy = privacy_for(self._config, self._db)
        return self._privacy

    async def erase(
        self, contact_id: str, *, tenant: str | None = None, by: str = "operator"
    ) -> Erasure:
        """Erase the contact (see the module docstring).

        Raises:
            EngineError: the contact is unknown in the tenant (no runs, keys, consent or
                suppression records), or a run could not be cancelled or deleted
                (``EngineUnavailable``: Temporal or no worker answered; erase again).
        """
        tenant = bound_tenant(self._config.tenant, tenant, f"erase {contact_id}")
        signed = self._signed_audit()  # before anything is destroyed: a bad key stops here
        keys = self.privacy.keys
        runs = await self._runs.list(tenant=tenant, contact_id=contact_id, limit=None)
        if (
            not runs
            and await keys.state(tenant, contact_id) is None
            and not await known_contact(self._db, tenant, contact_id)
        ):
            raise EngineError(
                [f"contact {contact_id}: unknown in tenant {tenant} (no runs, keys, "
                 "consent or suppression records): nothing to erase"]
            )  # fmt: skip
        cancelled = await self._cancel([r.run_id for r in runs if r.status in NOT_FINAL], by)
        contacts = [found for r in runs if (found := await contact_of(self._client, r.run_id))]
        destroyed = await keys.erase(tenant, contact_id)
        # A run that started while this erasure began, before the contact was marked.
        late = await self._runs.list(tenant=tenant, contact_id=contact_id, limit=None)
        fresh = [r for r in late if r.run_id not in {x.run_id for x in runs}]
        cancelled += await self._cancel([r.run_id for r in fresh if r.status in NOT_FINAL], by)
        contacts += [found for r in fresh if (found := await contact_of(self._client, r.run_id))]
        recorded = [r.run_id for r in runs + fresh]
        unrecorded = await self._unrecorded(tenant, contact_id, set(recorded))
        contacts += [found for r in unrecorded if (found := await contact_of(self._client, r))]
        run_ids = tuple(recorded + unrecorded)
        deleted = 0
        namespace = self._config.temporal.namespace
        for run_id in run_ids:
            deleted += await delete_histories(self._client, namespace, run_id)
        scrubbed = await scrub(
            self._db, self.privacy.pseudonyms, tenant=tenant, contact_id=contact_id,
            run_ids=run_ids, contacts=contacts,
        )  # fmt: skip
        state = await keys.state(tenant, contact_id)
        generation = 0 if state is None else state.generation
        detail = {
            "contactId": contact_id,
            "generation": generation,
            "by": by,
            "runs": list(run_ids),
            "cancelled": list(cancelled),
            "historiesDeleted": deleted,
            "suppressionsPseudonymised": scrubbed.suppressions_pseudonymised,
        }
        seq = await self._record(signed, tenant, detail)
        already = not destroyed and seq is None and not cancelled and not deleted
        return Erasure(
            tenant, contact_id, already and scrubbed == ScrubReport(), run_ids,
            tuple(cancelled), deleted, scrubbed, seq,
        )  # fmt: skip

    async def enrol(self, contact_id: str, *, tenant: str | None = None) -> int:
        """Let runs start for the contact again (a new data key after an erasure).

        Returns the contact's key generation. Enrolling a contact that is not erased
        changes nothing.
        """
        tenant = bound_tenant(self._config.tenant, tenant, f"enrol {contact_id}")
        return await self.privacy.keys.enrol(tenant, contact_id)

    async def erased_at(self, contact_id: str, *, tenant: str | None = None) -> datetime | None:
        """When the contact was erased (``None``: it is not, or was enrolled again since)."""
        tenant = bound_tenant(self._config.tenant, tenant, f"contact {contact_id}")
        state = await self.privacy.keys.state(tenant, contact_id)
        return None if state is None else state.erased_at

    async def opened(self, run_id: str, value: Any) -> Any:
        """``value`` (an entry's detail) with the run's contact's sealed fields opened;
        ``[erased]`` where the contact's key was destroyed.

        Raises:
            EngineError: unknown run.
        """
        record = await run_of(self._runs, self._config.tenant, run_id)
        return await self.privacy.opened(record.tenant, record.contact_id, value)

    async def _cancel(self, run_ids: list[str], by: str) -> list[str]:
        done: list[str] = []
        for run_id in run_ids:
            try:
                async with asyncio.timeout(CANCEL_SECONDS):
                    await self._operator.cancel(run_id, CANCEL_REASON, by=by)
            except TimeoutError:
                raise EngineUnavailable(
                    [f"run {run_id}: no worker closed it within {CANCEL_SECONDS:.0f} s; "
                     "start a worker and erase the contact again"]
                ) from None  # fmt: skip
            except EngineUnavailable:
                raise
            except EngineError as exc:
                if "refused: the run" not in "; ".join(exc.lines):
                    raise
                continue  # it ended meanwhile (an exit rule, an operator)
            done.append(run_id)
        return done

    async def _unrecorded(self, tenant: str, contact_id: str, known: set[str]) -> list[str]:
        """The contact's runs Temporal has and the runs table does not (yet).

        ``execute`` starts a workflow before it records the run, and ``execute_many``
        records a whole batch after starting it; a delayed start is recorded by nothing
        until it runs. Such a run's history holds the contact as started, so it is found
        by its search attributes and deleted with the others (the gate denies it anyway:
        it would send nothing). A run not yet visible to Temporal's visibility store, or
        without search attributes (``temporal.searchAttributes: false``), is not found.
        """
        if not self._config.temporal.search_attributes:
            return []
        query = f"DeeTenant = {_literal(tenant)} AND DeeContactId = {_literal(contact_id)}"
        found: list[str] = []
        try:
            async for execution in self._client.list_workflows(query):
                if execution.id not in known and execution.id not in found:
                    found.append(execution.id)
        except RPCError as exc:
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:  # attributes not registered
                return []
            raise EngineUnavailable(
                [f"contact {contact_id}: cannot list its runs in Temporal: {exc.message}"]
            ) from None
        return found

    def _signed_audit(self) -> tuple[AuditStore, VerifyKeys]:
        """The erasure chain is signed as a run's chain is (docs/audit.md), with the
        worker's key: unsigned, ``dee audit verify`` would rightly call it fabricated."""
        key_file, generate = self._config.audit.signing_key(self._config.data_dir)
        signer = load_signing_key(key_file, create=generate)
        store = AuditStore(self._db, signer=signer, tenant=self._config.tenant)
        return store, verify_keys([signer.public_key])

    async def _record(
        self, signed: tuple[AuditStore, VerifyKeys], tenant: str, detail: Mapping[str, Any]
    ) -> int | None:
        """Append the ``erased`` entry unless this erasure's is already in the chain.

        The chain is verified against its signed checkpoints first: an entry someone
        inserted (the application role may INSERT) would otherwise be chained onto and
        then covered by this entry's signature.
        """
        audit, keys = signed
        chain_id = erasure_chain(tenant)
        for _ in range(5):  # another erasure appending at the same moment: chain after it
            try:
                stored = await audit.entries(chain_id)
            except UnknownRun:
                stored = []
            if stored and not (verdict := await audit.verify(chain_id, keys=keys)).ok:
                raise EngineError(
                    [f"contact {detail['contactId']}: erased, but its audit entry was not "
                     f"written: the chain {chain_id} does not verify, so nothing is chained "
                     f"onto it: {verdict.problem_lines()[0]}"]
                )  # fmt: skip
            for e in stored:
                same = (e.detail.get("contactId"), e.detail.get("generation"))
                if e.action == ERASED and same == (detail["contactId"], detail["generation"]):
                    return None
            head = await audit.head(chain_id)
            last = (stored[-1].seq, stored[-1].hash) if stored else None
            if last is None and head is not None:
                last = (head.seq, head.hash)
            entry = TraceEntry(0, "contact", ERASED, ERASED, {**detail, "at": _now()})
            start, prev = (1, None) if last is None else (last[0] + 1, last[1])
            entries = (
                chain(chain_id, [entry], start_seq=start)
                if prev is None
                else chain(chain_id, [entry], start_seq=start, prev_hash=prev)
            )
            try:
                await audit.append(entries)
            except AuditDivergence:
                continue
            return start
        raise EngineError([f"could not append to audit chain {chain_id}: it kept moving"])


def _literal(value: str) -> str:
    """``value`` as a visibility-query string literal: an id cannot widen the query."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _now() -> str:
    return datetime.now(UTC).isoformat()


__all__ = ["ERASED", "ContactService", "Erasure", "erasure_chain"]
