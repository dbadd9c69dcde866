"""PlanStore (immutable versions) and RunStore (bookkeeping) on both databases."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from adapters.storage import (
    Database,
    PlanConflict,
    PlanStore,
    RunRecord,
    RunStore,
    StorageError,
    UnknownPlan,
    UnknownRun,
)
from adapters.storage.run_facts import fold
from dee.documents import load_plan
from interpreter.plan import ExecutionPlan

pytestmark = pytest.mark.asyncio(loop_scope="session")
PLANS_DIR = Path(__file__).resolve().parents[3] / "plans"


def _plan(version: int = 1, name: str | None = None) -> ExecutionPlan:
    plan = load_plan(PLANS_DIR / "sales-sequence.yaml")
    return plan.model_copy(update={"version": version, "name": name or plan.name})


async def test_put_is_idempotent_and_get_returns_the_same_plan(database: Database) -> None:
    store = PlanStore(database)
    plan = _plan()

    assert await store.put(plan) is True
    assert await store.put(plan) is False

    stored = await store.get(plan.id, 1)
    assert stored == plan
    assert stored.content_hash == plan.content_hash


async def test_a_different_body_under_a_stored_version_is_refused(database: Database) -> None:
    store = PlanStore(database)
    await store.put(_plan())

    with pytest.raises(PlanConflict, match="version 1 is already stored with content sha256:"):
        await store.put(_plan(name="Changed"))

    assert (await store.get("sales-sequence", 1)).name == _plan().name


async def test_get_without_version_is_the_newest(database: Database) -> None:
    store = PlanStore(database)
    for version in (1, 3, 2):
        await store.put(_plan(version, name=f"v{version}"))

    assert (await store.get("sales-sequence")).version == 3
    assert await store.versions("sales-sequence") == [1, 2, 3]
    with pytest.raises(UnknownPlan, match="'sales-sequence' version 9"):
        await store.get("sales-sequence", 9)
    with pytest.raises(UnknownPlan, match="'nope'"):
        await store.get("nope")


async def test_run_records_are_created_updated_and_listed(database: Database) -> None:
    for tenant in ("acme", "other"):  # a run's plan is its own tenant's
        await PlanStore(database, tenant).put(_plan())
    runs = RunStore(database)
    first = RunRecord("run-1", "acme", "sales-sequence", 1, "contact-1", "RUNNING", "intro-email")

    created = await runs.upsert(first)
    await runs.upsert(RunRecord("run-2", "acme", "sales-sequence", 1, "contact-2", "RUNNING"))
    await runs.upsert(RunRecord("run-3", "other", "sales-sequence", 1, "contact-3", "FAILED"))
    updated = await runs.upsert(
        RunRecord("run-1", "acme", "sales-sequence", 1, "contact-1", "WAITING", "wait-for-reply")
    )

    assert created.created_at is not None and updated.updated_at is not None
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    assert (updated.status, updated.current_step) == ("WAITING", "wait-for-reply")
    assert await runs.get("run-1") == updated
    assert {r.run_id for r in await runs.list(tenant="acme")} == {"run-1", "run-2"}
    assert [r.run_id for r in await runs.list(status="FAILED")] == ["run-3"]
    assert len(await runs.list(limit=2)) == 2


async def test_a_run_keeps_its_identity_and_needs_a_stored_plan(database: Database) -> None:
    await PlanStore(database, "acme").put(_plan())
    runs = RunStore(database)
    await runs.upsert(RunRecord("run-1", "acme", "sales-sequence", 1, "contact-1", "RUNNING"))

    with pytest.raises(StorageError, match="different contact_id"):
        await runs.upsert(RunRecord("run-1", "acme", "sales-sequence", 1, "contact-9", "RUNNING"))
    with pytest.raises(StorageError, match="plan sales-sequence version 7 is not stored"):
        await runs.upsert(RunRecord("run-2", "acme", "sales-sequence", 7, "contact-1", "RUNNING"))
    with pytest.raises(UnknownRun, match="no run record"):
        await runs.get("run-404")


async def test_a_run_row_keeps_how_the_run_ended_as_its_entries_decide(
    database: Database,
) -> None:
    await PlanStore(database, "acme").put(_plan())
    runs = RunStore(database)
    failed = RunRecord("run-1", "acme", "sales-sequence", 1, "contact-1", "FAILED", "call")
    cause = {"stepId": "call", "kind": "policy_denied", "reason": "no consent"}

    async def persist(record: RunRecord, *entries: tuple[str, str, dict[str, object]]) -> None:
        facts = fold(
            SimpleNamespace(tick=7, step_id="call", action=a, outcome=o, detail=d)
            for a, o, d in entries
        )
        async with database.transaction() as conn:
            await runs.upsert_in(conn, record, facts)

    detail = {"stepId": "call", "kind": "policy_denied", "cause": "no consent"}
    await persist(failed, ("run", "failed", detail))
    await persist(failed, ("event", "ingested", {}))  # decides nothing: the failure stays
    stored = await runs.get("run-1")
    assert (stored.outcome, stored.failure, stored.exit_rule, stored.facts_kept) == (
        None, cause, None, True,
    )  # fmt: skip
    exit_detail = {"rule": 1, "ruleEvent": "email.unsubscribed"}
    await persist(
        RunRecord("run-1", "acme", "sales-sequence", 1, "contact-1", "COMPLETED", "call"),
        ("exit", "unsubscribed", exit_detail),
    )
    ended = await runs.get("run-1")
    assert (ended.outcome, ended.failure) == ("unsubscribed", None)
    assert ended.exit_rule == {**exit_detail, "tick": 7}
    # An upsert without facts (a row the engine records) leaves them as they are.
    await runs.upsert(RunRecord("run-1", "acme", "sales-sequence", 1, "contact-1", "COMPLETED"))
    assert (await runs.get("run-1")).outcome == "unsubscribed"
