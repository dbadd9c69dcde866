"""Two tenants on one database cannot see or touch each other's runs and data.

Every crossing is refused with ``UnknownRunError``, word for word the refusal of a run
id that exists nowhere (the refusal does not say whether the other tenant's run
exists); the refused action leaves the other tenant's run as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from adapters.storage import UnknownRun
from adapters.tracking import MessageIndex
from dee.engine import Engine
from dee.errors import TenantMismatch, UnknownRunError
from dee.webhooks.auth import Refused
from dee.webhooks.receiver import Receiver
from tests.integration.databases import cli_environment
from tests.integration.inprocess import dee_in_process
from tests.integration.runtime.plans import one_email

from .conftest import CONTACT, VARS, Tenants

NOWHERE = "run-0000000000000000000000000000beef"


def _crossings(engine: Engine) -> dict[str, Callable[[str], Awaitable[Any]]]:
    """Every engine call that names a run, as ``acme`` would aim it at ``globex``."""
    return {
        "get_run": engine.get_run,
        "timeline": engine.get_timeline,
        "sends": engine.sends,
        "pause": lambda r: engine.pause_run(r, by="ops", reason="probe"),
        "resume": lambda r: engine.resume_run(r, by="ops"),
        "cancel": lambda r: engine.cancel_run(r, "probe", by="ops"),
        "retry": lambda r: engine.retry_run(r, by="ops"),
        "resolve": lambda r: engine.resolve_run(r, resolution="end", target="x", by="ops"),
        "event": lambda r: engine.ingest_event(
            type="email.replied", contact_id=CONTACT["id"], run_id=r, data={"text": "STOP"}
        ),
        "replay": engine.replay,
        "opened": lambda r: engine.contacts.opened(r, {}),
    }


async def dee(*args: Any) -> Any:
    """``dee`` in this process, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(dee_in_process, *args)


async def _refusal(call: Callable[[str], Awaitable[Any]], run_id: str) -> str:
    with pytest.raises(UnknownRunError) as refused:
        await call(run_id)
    return str(refused.value).replace(run_id, "<id>")


async def test_each_tenant_lists_and_reads_only_its_own_runs(tenants: Tenants) -> None:
    t = tenants
    assert [r.run_id for r in await t.acme.list_runs()] == [t.acme_run]
    assert [r.run_id for r in await t.globex.list_runs()] == [t.globex_run]
    assert [r.run_id for r in await t.acme.list_runs(status="WAITING", outcomes=True)] == [
        t.acme_run
    ]
    run = await t.acme.get_run(t.acme_run)
    assert (run.tenant, run.status) == ("acme", "WAITING")
    # The same contact id in both tenants: each engine's event reaches only its own run.
    event = await t.acme.ingest_event(type="email.opened", contact_id=CONTACT["id"])
    assert event.run_ids == (t.acme_run,)


async def test_every_crossing_is_refused_as_an_unknown_run_and_changes_nothing(
    tenants: Tenants,
) -> None:
    t = tenants
    before = await t.globex.get_timeline(t.globex_run)
    for name, call in _crossings(t.acme).items():
        foreign = await _refusal(call, t.globex_run)
        unknown = await _refusal(call, NOWHERE)
        assert foreign == unknown == "unknown run '<id>' for tenant 'acme'", name
    after = await t.globex.get_run(t.globex_run)
    assert (after.status, after.current_step) == ("WAITING", "pause")
    assert [e.hash for e in await t.globex.get_timeline(t.globex_run)] == [e.hash for e in before]
    # And the other way round.
    assert await _refusal(t.globex.get_run, t.acme_run) == "unknown run '<id>' for tenant 'globex'"


async def test_the_audit_log_holds_each_run_s_tenant_and_each_store_sees_its_own(
    tenants: Tenants,
) -> None:
    t = tenants
    async with t.acme.database.snapshot() as conn:
        rows = await conn.execute(
            text("SELECT run_id, tenant, count(*) FROM audit_entries GROUP BY run_id, tenant")
        )
        stored = {(r[0], r[1]) for r in rows}
    assert stored == {(t.acme_run, "acme"), (t.globex_run, "globex")}
    assert await t.acme.audit.run_ids() == [t.acme_run]
    assert await t.globex.audit.run_ids() == [t.globex_run]
    for store, own, other in (
        (t.acme.audit, t.acme_run, t.globex_run),
        (t.globex.audit, t.globex_run, t.acme_run),
    ):
        assert (await store.verify(own)).ok
        for read in (store.timeline, store.verify, store.head, store.entries):
            with pytest.raises(UnknownRun):
                await read(other)
    assert [r.run_id for r in await t.acme.audit.verify_all()] == [t.acme_run]
    assert await t.acme.audit.count() == await t.acme.audit.count(t.acme_run) > 0


async def test_policy_records_are_the_tenant_s_own(tenants: Tenants) -> None:
    t = tenants
    await t.acme.policies.suppress("pat@example.com", reason="asked")
    assert [s.contact_key for s in await t.acme.policies.list_suppressions()] == ["pat@example.com"]
    assert await t.globex.policies.list_suppressions() == []


async def test_the_receiver_of_one_tenant_refuses_the_other_s_run(tenants: Tenants) -> None:
    t = tenants
    receiver = Receiver(t.acme, t.acme.config, MessageIndex(t.acme.database))
    answers = []
    for run_id in (t.globex_run, NOWHERE):
        with pytest.raises(Refused) as refused:
            await receiver.ingest(run_id, "mail", "email.replied", "evt-probe", {"text": "hi"})
        answers.append((refused.value.status, str(refused.value).replace(run_id, "<id>")))
    assert answers[0] == answers[1] and answers[0][0] == 404
    assert (await t.globex.get_run(t.globex_run)).status == "WAITING"


async def test_the_cli_bound_to_a_tenant_refuses_the_other_s_run(
    tenants: Tenants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = tenants
    address = t.acme.client.service_client.config.target_host
    cli = {**cli_environment(t.db_url, tmp_path), "DEE_TENANT": "acme"}
    cli["DEE_TEMPORAL_ADDRESS"] = address
    for args in (["run", "timeline"], ["audit", "export"], ["audit", "verify"]):
        foreign = await dee(monkeypatch, cli, tmp_path, [*args, t.globex_run])
        assert foreign.returncode == 1, args
        assert foreign.stderr.strip() == f"error: unknown run {t.globex_run!r} for tenant 'acme'"
        assert t.globex_run not in foreign.stdout
    own = await dee(monkeypatch, cli, tmp_path, ["run", "timeline", t.acme_run])
    assert own.returncode == 0 and "action:start" in own.stdout
    every = await dee(monkeypatch, cli, tmp_path, ["audit", "verify", "--all"])
    assert t.acme_run in every.stdout and t.globex_run not in every.stdout + every.stderr
    refused = await dee(monkeypatch, cli, tmp_path, ["suppress", "list", "--tenant", "globex"])
    assert refused.returncode == 1
    assert "tenant 'globex' refused: this engine is bound to tenant 'acme'" in refused.stderr
    enrol = await dee(
        monkeypatch, cli, tmp_path, ["contact", "enroll", "c-x", "--tenant", "globex"]
    )
    assert enrol.returncode == 1
    assert (
        "enrol c-x: tenant 'globex' refused: this engine is bound to tenant 'acme'" in enrol.stderr
    )
    # Without --tenant, the bound one.
    await t.acme.policies.suppress("cli@example.com", reason="asked")
    for args in (["suppress", "list"], ["suppress", "list", "--tenant", "acme"]):
        listed = await dee(monkeypatch, cli, tmp_path, args)
        assert listed.returncode == 0 and "cli@example.com" in listed.stdout, listed.stderr


async def test_starting_or_erasing_for_another_tenant_is_refused(
    tenants: Tenants, env: WorkflowEnvironment
) -> None:
    t = tenants
    with pytest.raises(
        TenantMismatch, match="tenant 'globex' refused: this engine is bound to tenant 'acme'"
    ):
        await t.acme.execute(one_email("other"), contact=CONTACT, variables=VARS, tenant="globex")
    with pytest.raises(TenantMismatch, match="bound to tenant 'acme'"):
        await t.acme.execute_many(one_email("other"), [CONTACT], tenant="globex")
    with pytest.raises(TenantMismatch, match="bound to tenant 'acme'"):
        await t.acme.contacts.erase(CONTACT["id"], tenant="globex")
    # Naming its own tenant is no crossing.
    other = {**CONTACT, "email": "lee@example.com"}  # pat's address is acme-suppressed
    own = await t.acme.execute(one_email("own"), contact=other, variables=VARS, tenant="acme")
    assert own.tenant == "acme"
    await env.sleep(timedelta(minutes=1))  # it sends and ends: nothing left running
    assert (await t.acme.get_run(own.run_id)).status == "COMPLETED"
    assert own.run_id not in {r.run_id for r in await t.globex.list_runs()}


async def test_the_bound_policy_admin_refuses_another_tenant(tenants: Tenants) -> None:
    t = tenants
    admin = t.acme.policies.admin
    refusals = {
        "suppress": admin.suppress("globex", "global", None, "x@example.com", "r", "t"),
        "list_suppressions": admin.list_suppressions("globex"),
        "grant_consent": admin.grant_consent("globex", "c-1", "email", "form", "v1"),
        "daily_limit": admin.daily_limit("globex", "email"),
        "set_daily_limit": admin.set_daily_limit("globex", "email", 1),
    }
    for what, call in refusals.items():
        with pytest.raises(TenantMismatch, match=f"policies.admin.{what}: tenant 'globex'"):
            await call
    assert await t.globex.policies.list_suppressions() == []
    assert await t.globex.policies.admin.daily_limit("globex", "email") is None
    # Settling a budget names a run: another tenant's is an unknown run.
    with pytest.raises(UnknownRunError, match=f"unknown run '{t.globex_run}' for tenant 'acme'"):
        await admin.settle_budget(t.globex_run, "s", 0, None)
    assert await admin.daily_limit("acme", "email") is None  # its own tenant: allowed


async def test_the_bound_cli_imports_ledger_rows_only_for_its_tenant(
    tenants: Tenants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = tenants
    csv = tmp_path / "prior.csv"
    csv.write_text("contact_id,channel,at\nc-l,voice,2026-01-05T09:00:00+00:00\n")
    cli = {**cli_environment(t.db_url, tmp_path), "DEE_TENANT": "acme"}
    refused = await dee(
        monkeypatch, cli, tmp_path, ["policy", "ledger", "import", str(csv), "--tenant", "globex"]
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: policy ledger import: tenant 'globex' refused: "
        "this engine is bound to tenant 'acme'"
    )
    own = await dee(
        monkeypatch, cli, tmp_path, ["policy", "ledger", "import", str(csv), "--tenant", "acme"]
    )
    assert own.returncode == 0 and "imported 1 attempts" in own.stdout, own.stderr
