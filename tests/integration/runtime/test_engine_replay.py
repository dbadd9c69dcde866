"""``Engine.replay`` on a real run: the pure replay, the workflow code re-executed in
isolation (``dry_run=False``), and both against a tampered audit row, which
``dee replay RUN_ID`` (the same flow) reports too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine
from tests.integration.replay.test_cli_replay import cli_settings, replay_cli
from tests.integration.runtime.test_engine import CONTACT, VARS, _after
from tests.integration.storage.storage_helpers import tamper
from tests.interpreter.helpers import sales_plan


async def test_a_real_run_replays_and_re_executes_identically_until_its_record_is_tampered(
    engine: Engine, env: WorkflowEnvironment, tmp_path: Path
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(hours=2))
    await engine.ingest_event(
        type="email.opened", contact_id="c-ada", step_id="intro-email", event_id="open-1"
    )
    assert await _after(env, engine, run.run_id, timedelta(days=4)) == "COMPLETED"

    pure = await engine.replay(run.run_id)
    executed = await engine.replay(run.run_id, dry_run=False)

    assert pure.identical and executed.identical, executed.diffs
    assert [s.id for s in executed.steps] == [s.id for s in pure.steps]
    assert "warm-follow-up" in [s.id for s in executed.steps]

    await tamper(
        engine.database,
        "UPDATE audit_entries SET outcome = 'branch:cold-follow-up' "
        "WHERE run_id = :r AND step_id = 'check-response' AND action = 'evaluate'",
        r=run.run_id,
    )
    tampered = await engine.replay(run.run_id, dry_run=False)

    fields = {(d.step, d.field) for d in tampered.diffs}
    assert ("check-response", "evaluate.outcome") in fields  # the interpreter disagrees
    assert ("check-response", "evaluate.hash") in fields  # the row's hash no longer fits
    assert ("check-response", "workflow.evaluate.outcome") in fields  # and so does the code
    assert [s.id for s in tampered.steps if not s.identical] == ["check-response"]

    settings = cli_settings(tmp_path, engine.config.database_url, env)
    cli = await replay_cli(run.run_id, "--config", str(settings))
    assert cli.exit_code == 1, cli.output  # the CLI compares with the stored chain too
    said = " ".join(cli.stdout.split())
    assert "audit entries (the chain as stored)" in said
    assert "evaluate.outcome" in said and "evaluate.hash" in said
    assert "check-response" in said and "diverged" in said
