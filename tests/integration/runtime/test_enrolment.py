"""Bulk enrolment (``Engine.execute_many``): one plan, many contacts, partial failures named."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine, ExecutionRun
from dee.errors import EngineError
from tests.integration.runtime.plans import one_email

VARS = {"product": "DEE", "sender_name": "Grace"}


async def test_many_contacts_start_once_each_and_a_bad_one_is_named(
    engine: Engine, env: WorkflowEnvironment
) -> None:
    people = [
        {"id": f"c-{n}", "email": f"c{n}@example.com", "first_name": f"C{n}", "company": "Co"}
        for n in range(20)
    ]
    started: list[int] = []

    outcomes = await engine.execute_many(
        one_email(), [*people[:10], {"email": "no-id@example.com"}, *people[10:]],
        variables=VARS, idempotency_key="batch-1", on_started=lambda: started.append(1),
    )  # fmt: skip

    runs = [o for o in outcomes if isinstance(o, ExecutionRun)]
    [refused] = [o for o in outcomes if isinstance(o, EngineError)]
    assert outcomes[10] is refused and "non-empty string 'id'" in str(refused)
    assert [r.contact_id for r in runs] == [p["id"] for p in people]
    assert len(started) == 20 and {r.status for r in runs} == {"PENDING"}
    listed = await engine.list_runs(plan="one-email", limit=100)
    assert sorted(r.run_id for r in listed) == sorted(r.run_id for r in runs)

    again = await engine.execute_many(
        one_email(), people, variables=VARS, idempotency_key="batch-1"
    )

    assert [r.run_id for r in again if isinstance(r, ExecutionRun)] == [r.run_id for r in runs]
    assert len(await engine.list_runs(plan="one-email", limit=100)) == 20
    await env.sleep(timedelta(minutes=1))
    finished = [await engine.get_run(r.run_id) for r in runs]
    assert {r.status for r in finished} == {"COMPLETED"}
