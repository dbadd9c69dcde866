"""A bulk action's visibility query cannot reach another tenant's runs: two tenants'
engines on one database and one namespace, a query written to select the other's runs
(``OR DeeTenant = 'globex'``) selects and acts only on the engine's own tenant's."""

from __future__ import annotations

from pathlib import Path

from dee.config import EngineConfig
from dee.connection import connect
from dee.engine import Engine
from dee.runs.bulk import BulkRequest
from dee.runs.run_filter import RunFilter
from dee.worker import worker_for
from tests.integration.bulk.wave import failed_wave
from tests.integration.waiting import until


async def test_a_query_naming_the_other_tenant_selects_only_the_engine_s_own_runs(
    config: EngineConfig, tmp_path: Path
) -> None:
    acme_cfg = config.model_copy(update={"tenant": "acme"})
    globex_cfg = config.model_copy(update={"tenant": "globex"})
    client = await connect(config)
    acme = await Engine.connect(acme_cfg, client=client)
    globex = await Engine.connect(globex_cfg, client=client)
    try:
        async with worker_for(acme_cfg, client, database=acme.database) as worker, worker:
            mine = await failed_wave(acme, 2, "bulk-t", tenant="acme")
            theirs = await failed_wave(globex, 2, "bulk-t", tenant="globex", first=2)
            hostile = "DeePlanId = 'bulk-t' OR DeeTenant = 'globex'"

            async def listed() -> set[str]:
                return {w.id async for w in client.list_workflows(hostile)}

            await until(listed, lambda ids: ids >= {*mine, *theirs}, what="all four listed")
            where = RunFilter(status="FAILED", query=hostile)
            dry = await acme.bulk("retry", where)
            assert (dry.count, {r.run_id for r in dry.sample}) == (2, set(mine))
            assert (await acme.bulk("retry", RunFilter(query="DeeTenant = 'globex'"))).count == 0
            request = BulkRequest(by="probe", reason="tenant attack")
            done = await acme.bulk("retry", where, request, dry_run=False)
            assert sorted((o.run_id, o.ok) for o in done.outcomes) == sorted(
                (run_id, True) for run_id in mine
            )
            for run_id in theirs:  # untouched: still failed, nothing audited on them
                assert (await globex.get_run(run_id)).status == "FAILED"
                timeline = await globex.get_timeline(run_id)
                assert all(e.action != "retry" for e in timeline), timeline
            for run in (*mine, *theirs):  # nothing left for the next test's server
                await client.get_workflow_handle(run).terminate()
    finally:
        await acme.close()
        await globex.close()
