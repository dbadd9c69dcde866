"""``dee replay --rules`` / ``--preset``: recorded sends re-decided under a new rules
version. Runs are recorded with the real worker (gate, ledger, audit store on SQLite)
on the time-skipping server, and on the dev server for ``--runs QUERY`` (the
time-skipping server answers no visibility query); the what-if reads them back
through the CLI."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from adapters.policy.ledger import LedgerRow, import_attempts
from adapters.policy.rules.model import Attempt
from dee.cli.main import run as dee_run
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server
from dee.engine import Engine
from dee.errors import EngineError
from dee.worker import worker_for
from interpreter import ExecutionPlan, PlanMetadata, parse_plan, steps
from tests.integration.mailsink import SmtpServer
from tests.integration.replay.recording import ROOT, Scenario, record
from tests.integration.replay.test_cli_replay import cli_settings, replay_cli
from tests.integration.temporal_env import CODEC
from tests.integration.waiting import until

NEW_YORK = ZoneInfo("America/New_York")
# A Miami number (area code 305): the contact is in Florida, in New York's zone.
FLORIDA = {"id": "fl-1", "phone": "+13055550123", "timezone": "America/New_York"}
# Voice consent is not what these tests are about: the gate asks for none.
OPT_OUT = {"voice": "opt-out"}


def _plan(plan_id: str, at: str, compliance: dict[str, Any] | None = None) -> ExecutionPlan:
    """Wait until ``at`` in the contact's zone, then call."""
    document: dict[str, Any] = {
        "id": plan_id,
        "version": 1,
        "name": "Evening call",
        "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
        "steps": [
            {"type": "wait", "id": "later", "until": {"time": at}},
            {
                "type": "sendVoice",
                "id": "call",
                "scriptId": "script_follow_up",
                "callerId": "+15551234567",
                "maxDuration": {"minutes": 2},
            },
            {"type": "end", "id": "done", "outcome": "called"},
        ],
    }
    if compliance is not None:
        document["compliance"] = compliance
    return parse_plan(document, source="test")


@asynccontextmanager
async def _recording(
    env: WorkflowEnvironment, tmp_path: Path, policies: dict[str, Any]
) -> AsyncIterator[tuple[Engine, Path]]:
    """An engine and worker on ``env`` whose gate decides under ``policies``, and a
    settings file for the CLI on the same database and server (default policies)."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}"
    config = EngineConfig.model_validate(
        {
            "database": database,
            "templatesDir": str(ROOT / "templates"),
            "temporal": TemporalConfig(task_queue=f"q-{uuid.uuid4()}", search_attributes=False),
            "policies": policies,
        }
    )
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            yield engine, cli_settings(tmp_path, database, env)
    finally:
        await engine.close()


async def _called(
    engine: Engine, env: WorkflowEnvironment, plan: ExecutionPlan, **start: Any
) -> str:
    """A run of ``plan`` through its call (no voice provider: the send itself fails)."""
    run = await engine.execute(plan, **start)
    await env.sleep(timedelta(days=1, hours=1))

    async def timeline() -> list[str]:
        return [e.action for e in await engine.get_timeline(run.run_id)]

    await until(timeline, lambda actions: "policy_check" in actions, what="the call's check")
    return run.run_id


def _what_if(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _rules_file(tmp_path: Path, name: str, policies: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"policies": policies}))
    return path


async def test_a_stricter_version_defers_a_florida_evening_call_and_the_same_one_does_not(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    recorded_rules = {"presets": ["tcpa"], "consent": OPT_OUT}
    async with _recording(env, tmp_path, recorded_rules) as (engine, settings):
        run_id = await _called(engine, env, _plan("evening", "20:30"), contact=FLORIDA)
        [check] = [e for e in await engine.get_timeline(run_id) if e.action == "policy_check"]
        stricter = await replay_cli(
            run_id, "--preset", "tcpa", "--preset", "florida", "--json", "--config", str(settings)
        )
        same_file = _rules_file(tmp_path, "same.yaml", {"presets": ["tcpa"]})
        same = await replay_cli(
            run_id, "--rules", str(same_file), "--json", "--config", str(settings)
        )

    # As recorded: TCPA allows a call at 20:30 where the contact is.
    assert check.outcome == "allowed"
    recorded_version = check.detail["compliance"]["rulesVersion"]

    out = _what_if(stricter)
    assert (out["runs"], out["runsDiverged"], out["sends"], out["diverged"]) == (1, 1, 1, 1)
    [run] = out["changes"]
    [send] = run["sends"]
    at = datetime.fromisoformat(send["at"]).astimezone(NEW_YORK)
    assert (send["stepId"], send["visit"], send["channel"]) == ("call", 1, "voice")
    assert (at.hour, at.minute) == (20, 30)
    assert send["recorded"] == {
        "decision": "allow",
        "policy": None,
        "rule": None,
        "reason": None,
        "until": None,
        "rulesVersion": recorded_version,
    }
    new = send["new"]
    assert (new["decision"], new["policy"], new["rule"]) == (
        "defer",
        "compliance",
        "florida.calling_window",
    )
    next_morning = datetime.combine(at.date() + timedelta(days=1), datetime.min.time(), NEW_YORK)
    assert datetime.fromisoformat(new["until"]) == next_morning.replace(hour=8)
    assert new["rulesVersion"] != recorded_version and send["diverged"] is True

    out = _what_if(same)
    assert (out["runs"], out["sends"], out["diverged"], out["runsDiverged"]) == (1, 1, 0, 0)
    [send] = out["changes"][0]["sends"]
    assert send["new"]["decision"] == "allow" and send["diverged"] is False
    assert send["new"]["rulesVersion"] == recorded_version


async def test_reg_f_over_seeded_attempts_defers_the_eighth_call_about_a_debt(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # Recorded without a cap on calls: the eighth call in seven days went through.
    recorded_rules = {"consent": OPT_OUT, "channelCaps": {"voice": None}}
    contact = {"id": "debtor-1", "phone": "+12125550147", "timezone": "America/New_York"}
    plan = _plan("collect", "12:00", {"debtRef": "vars.loan"})
    async with _recording(env, tmp_path, recorded_rules) as (engine, settings):
        now = await env.get_current_time()
        first = now - timedelta(days=3)
        seeded = [
            LedgerRow("debtor-1", Attempt("voice", first + timedelta(hours=i), debt_ref="L-7"))
            for i in range(7)
        ]
        assert (await import_attempts(engine.database, "default", seeded)).added == 7
        run_id = await _called(engine, env, plan, contact=contact, variables={"loan": "L-7"})
        regf = _rules_file(
            tmp_path, "regf.yaml", {"presets": ["regf"], "channelCaps": {"voice": None}}
        )
        stricter = await replay_cli(
            run_id, "--rules", str(regf), "--json", "--config", str(settings)
        )
        text = await replay_cli(run_id, "--rules", str(regf), "--config", str(settings))

    out = _what_if(stricter)
    [send] = out["changes"][0]["sends"]
    assert send["recorded"]["decision"] == "allow"
    assert send["recorded"]["rulesVersion"] is not None
    new = send["new"]
    assert (new["decision"], new["rule"]) == ("defer", "regf.attempts_7_in_7")
    # Seven calls in seven days about L-7: the next may be placed when the first leaves.
    assert datetime.fromisoformat(new["until"]) >= first + timedelta(days=7)
    assert send["diverged"] is True
    assert text.exit_code == 0, text.output
    assert "1 send(s) in 1 run(s) would be decided otherwise" in text.stdout


async def test_a_run_recorded_before_the_rules_engine_is_re_decided_all_the_same(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A gate that recorded no compliance proof, and a database that holds nothing of
    # the run: its chain is read from its history.
    history, chain = await record(env, Scenario("before-rules"))
    run_id = history.workflow_id
    settings = cli_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", env)
    result = await replay_cli(run_id, "--preset", "can-spam", "--json", "--config", str(settings))
    unknown = await replay_cli("no-such-run", "--preset", "can-spam", "--config", str(settings))

    checks = [e for e in chain if e["action"] == "policy_check"]
    out = _what_if(result)
    sends = out["changes"][0]["sends"]
    assert len(sends) == len(checks) > 0
    for send in sends:
        assert send["recorded"]["rulesVersion"] is None
        assert send["new"]["rulesVersion"] is not None
        assert send["new"]["decision"] == send["recorded"]["decision"] == "allow"
        assert send["channel"] == "email" and send["diverged"] is False
    assert isinstance(unknown.exception, EngineError)
    assert list(unknown.exception.lines) == ["unknown run 'no-such-run' for tenant 'default'"]


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[DevServer]:
    async with dev_server(ui=False) as dev:
        yield dev


async def test_the_runs_a_query_selects_are_re_decided_on_the_dev_server(
    server: DevServer, mail: SmtpServer, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}"
    config = EngineConfig(
        codec=CODEC,
        database=database,
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=server.address, task_queue=f"q-{uuid.uuid4()}"),
        channels=ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
    )
    plan_id = f"mail-{uuid.uuid4().hex[:8]}"
    plan = ExecutionPlan(
        id=plan_id,
        version=1,
        name="One email",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="hello", template_id="tmpl_intro", subject="Hello"),
            steps.end(id="done", outcome="sent"),
        ),
    )
    settings = tmp_path / "cli.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "temporal": {"address": server.address},
                "codec": {"keys": list(CODEC.keys)},
            }
        )
    )
    # An email window that is closed now (UTC, the contacts' zone): each email defers.
    closed = ("13:00", "14:00") if datetime.now(UTC).hour < 12 else ("01:00", "02:00")
    window = _rules_file(
        tmp_path,
        "window.yaml",
        {"emailWindows": {"default": {"start": closed[0], "end": closed[1]}}},
    )
    same = _rules_file(tmp_path, "same.yaml", {})
    query = f"DeePlanId = '{plan_id}'"
    client = await connect(config)
    engine = await Engine.connect(config, client=client)
    try:
        async with worker_for(config, client, database=engine.database) as worker, worker:
            runs = []
            for n in range(2):
                contact = {
                    "id": f"c-{n}", "email": f"c{n}@example.com", "timezone": "UTC",
                    "first_name": "Ann", "company": "Acme",
                }  # fmt: skip
                variables = {"product": "DEE", "sender_name": "Sam"}
                runs.append(await engine.execute(plan, contact=contact, variables=variables))
            for run in runs:
                await until(
                    lambda run=run: engine.get_run(run.run_id),
                    lambda found: found.status == "COMPLETED",
                    what=f"run {run.run_id} completing",
                )

            async def listed() -> int:
                return len(
                    [
                        w
                        async for w in client.list_workflows(
                            f"WorkflowType = 'PlanRunWorkflow' AND {query}"
                        )
                    ]
                )

            await until(listed, lambda n: n == 2, what="both runs listed", timeout=10)
            windowed = await replay_cli(
                "--runs", query, "--rules", str(window), "--json", "--config", str(settings)
            )
            unchanged = await replay_cli(
                "--runs", query, "--rules", str(same), "--json", "--config", str(settings)
            )
    finally:
        await engine.close()

    out = _what_if(windowed)
    assert (out["runs"], out["runsDiverged"], out["sends"], out["diverged"]) == (2, 2, 2, 2)
    assert {r["runId"] for r in out["changes"]} == {r.run_id for r in runs}
    for run_out in out["changes"]:
        [send] = run_out["sends"]
        assert send["recorded"]["decision"] == "allow"
        assert (send["new"]["decision"], send["new"]["rule"]) == ("defer", "tenant.email_window")
        opens = datetime.fromisoformat(send["new"]["until"])
        assert opens > datetime.fromisoformat(send["at"])
        assert (opens.astimezone(UTC).hour, opens.minute) == (int(closed[0][:2]), 0)
    out = _what_if(unchanged)
    assert (out["runs"], out["sends"], out["diverged"]) == (2, 2, 0)


def _dee(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        dee_run(["replay", *args])
    return int(exited.value.code or 0), capsys.readouterr().err


def test_bad_input_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _dee(capsys, "run-1", "--preset", "nope")
    assert code == 1 and err.startswith("error: --preset: unknown preset 'nope' (known: ")

    unknown = _rules_file(tmp_path, "unknown.yaml", {"presets": ["tcpa", "nope"]})
    code, err = _dee(capsys, "run-1", "--rules", str(unknown))
    assert code == 1 and f"error: {unknown}: policies.presets: " in err and "'nope'" in err

    malformed = _rules_file(
        tmp_path, "malformed.yaml", {"channelCaps": {"voice": {"attempts": "x"}}}
    )
    code, err = _dee(capsys, "run-1", "--rules", str(malformed))
    assert code == 1 and f"error: {malformed}: policies.channelCaps.voice.attempts: " in err

    section = tmp_path / "section.yaml"
    section.write_text(yaml.safe_dump({"database": "sqlite+aiosqlite:///x.db"}))
    code, err = _dee(capsys, "run-1", "--rules", str(section))
    assert code == 1 and err.startswith(f"error: {section}: policies: ")

    code, err = _dee(capsys, "run-1", "--rules", str(tmp_path / "missing.yaml"))
    assert code == 1 and err.startswith(f"error: {tmp_path / 'missing.yaml'}: no such file")

    code, err = _dee(capsys, "--preset", "tcpa")
    assert code == 1 and "error: --rules/--preset go with either RUN_ID or --runs QUERY" in err
    code, err = _dee(capsys, "run-1", "--preset", "tcpa", "--plan", "x.yaml")
    assert code == 1 and "error: --rules/--preset go with RUN_ID or --runs alone" in err
