"""``dee replay``: offline from an exported history, from the server, and what-if."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from typer.testing import CliRunner, Result

from dee.cli.replay import replay
from dee.errors import DocumentError, EngineError
from tests.integration.replay.recording import (
    DAY,
    ROOT,
    Scenario,
    edit_carried_entry,
    event,
    operator,
    record,
    sleep,
)
from tests.integration.temporal_env import CODEC, plain_history

app = typer.Typer()
app.command("replay")(replay)
app.command("noop")(lambda: None)  # two commands keep "replay" a sub-command, as in dee

OPENED = Scenario(
    "opened",
    actions=[sleep(3_600), event("o-1", "email.opened", "intro-email"), sleep(4 * DAY)],
)


async def replay_cli(*args: str) -> Result:
    """``dee replay`` in a thread: it runs its own event loop, as ``dee`` does."""
    return await asyncio.to_thread(CliRunner().invoke, app, ["replay", *args])


def cli_settings(tmp_path: Path, database: str, env: WorkflowEnvironment) -> Path:
    """A configuration file for ``dee replay RUN_ID``: ``database`` and ``env``'s server."""
    settings = tmp_path / "dee.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "codec": {"keys": list(CODEC.keys)},  # the env's clients' key ring
                "temporal": {
                    "address": env.client.service_client.config.target_host,
                    "search_attributes": False,
                },
            }
        )
    )
    return settings


@pytest.fixture(scope="module")
async def opened(env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    history, chain = await record(env, OPENED)
    assert chain[-1]["action"] == "end"
    path = tmp_path_factory.mktemp("histories") / "opened.json"
    path.write_text(history.to_json())
    return path


def _json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


async def test_an_exported_history_replays_identically_offline(opened: Path) -> None:
    result = await replay_cli("--history", str(opened), "--json")
    assert result.exit_code == 0, result.output
    out = _json(result)
    assert out["identical"] is True and out["diffs"] == []
    assert [s["id"] for s in out["steps"]] == [
        "@run",
        "intro-email",
        "wait-for-reply",
        "check-response",
        "warm-follow-up",
        "end-followed-up",
    ]
    readable = await replay_cli("--history", str(opened))
    assert readable.exit_code == 0
    assert "identical" in readable.stdout and "warm-follow-up" in readable.stdout


async def test_a_tampered_history_shows_the_step_and_field(opened: Path, tmp_path: Path) -> None:
    text = opened.read_text()
    seq = _seq_of(text, "policy_check")  # the intro email's gate decision: a recorded input

    def forge(entry: dict[str, Any]) -> None:
        entry["detail"] = {"policy": "forged"}

    forged = tmp_path / "forged.json"
    forged.write_text(edit_carried_entry(text, seq, forge))
    result = await replay_cli("--history", str(forged), "--json")
    assert result.exit_code == 1
    diffs = [(d["step"], d["field"]) for d in _json(result)["diffs"]]
    # the forged row breaks its hash, and today's workflow code computes the original
    assert diffs == [("intro-email", "policy_check.hash"), ("intro-email", "policy_check.workflow")]


async def test_a_tampered_derived_entry_is_a_field_diff(opened: Path, tmp_path: Path) -> None:
    text = opened.read_text()
    seq = _seq_of(text, "evaluate")

    def forge(entry: dict[str, Any]) -> None:
        entry["outcome"] = "branch:end-sequence"

    forged = tmp_path / "forged.json"
    forged.write_text(edit_carried_entry(text, seq, forge))
    result = await replay_cli("--history", str(forged), "--json")
    assert result.exit_code == 1
    diffs = _json(result)["diffs"]
    assert diffs[0] == {
        "step": "check-response",
        "field": "evaluate.outcome",
        "expected": "branch:end-sequence",
        "actual": "branch:warm-follow-up",
    }
    assert {d["step"] for d in diffs} == {"check-response"}


async def test_a_forged_activity_result_makes_the_history_non_deterministic(
    opened: Path, tmp_path: Path
) -> None:
    data = json.loads(opened.read_text())
    done = [e for e in data["events"] if "activityTaskCompletedEventAttributes" in e]
    payload = done[1]["activityTaskCompletedEventAttributes"]["result"]["payloads"][0]
    response = json.loads(base64.b64decode(payload["data"]))
    assert response["status"] == "delivered"  # the intro email's send result
    response["status"] = "failed"
    payload["data"] = base64.b64encode(json.dumps(response).encode()).decode()
    forged = tmp_path / "forged-result.json"
    forged.write_text(json.dumps(data))
    result = await replay_cli("--history", str(forged), "--json")
    assert result.exit_code == 1
    diffs = _json(result)["diffs"]
    replay_diff = next(d for d in diffs if d["field"] == "workflow.replay")
    assert replay_diff["step"] == "@run" and "Nondeterminism" in replay_diff["actual"]


def _seq_of(text: str, action: str) -> int:
    seqs: list[int] = []

    def find(entry: dict[str, Any]) -> None:
        if entry["action"] == action:
            seqs.append(entry["seq"])

    for seq in range(1, 40):
        edit_carried_entry(text, seq, find)
    assert seqs, f"no {action} entry is carried in the history"
    return seqs[0]


async def test_a_changed_plan_diverges_at_the_branch(opened: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "plans" / "sales-sequence.yaml").read_text())
    doc["version"] = 2
    doc["metadata"]["createdAt"] = "2026-02-01T09:00:00Z"
    branch = next(s for s in doc["steps"] if s["id"] == "check-response")
    branch["conditions"][1]["goto"] = "cold-follow-up"
    doc["steps"] = [s for s in doc["steps"] if s["id"] != "warm-follow-up"]
    doc["transitions"] = [
        {**t, "to": "cold-follow-up"} if t["to"] == "warm-follow-up" else t
        for t in doc["transitions"]
        if t["from"] != "warm-follow-up"
    ]
    new = tmp_path / "sales-v2.yaml"
    new.write_text(yaml.safe_dump(doc))
    result = await replay_cli("--history", str(opened), "--plan", str(new), "--json")
    assert result.exit_code == 0, result.output  # a what-if reports, it does not fail
    out = _json(result)
    assert out["identical"] is False
    first = out["diffs"][0]
    assert (first["step"], first["field"]) == ("check-response", "evaluate.outcome")
    assert first["actual"] == "branch:cold-follow-up"
    readable = await replay_cli("--history", str(opened), "--plan", str(new))
    assert "what-if" in readable.stdout and "evaluate.outcome" in readable.stdout
    assert "first at step warm-follow-up; sends changed: 3" in " ".join(readable.stdout.split())


async def test_replay_by_run_id_fetches_the_history_from_the_server(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    history, _ = await record(
        env,
        Scenario(
            "retried",
            actions=[sleep(4 * DAY), operator("retry", reason="provider back"), sleep(DAY)],
            fail_sends={"cold-follow-up": "smtp_timeout"},
        ),
    )
    # A database that does not hold the run: the history's own chain is compared.
    settings = cli_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}", env)
    result = await replay_cli(history.workflow_id, "--config", str(settings), "--json")
    assert result.exit_code == 0, result.output
    out = _json(result)
    assert out["identical"] is True
    assert "retry" in [e["action"] for s in out["steps"] for e in s["originalResult"]["entries"]]
    unknown = await replay_cli("no-such-run", "--config", str(settings))
    assert isinstance(unknown.exception, EngineError)
    assert unknown.exception.lines == ("unknown run 'no-such-run' for tenant 'default'",)


@workflow.defn(name="SomethingElse")
class SomethingElse:
    @workflow.run
    async def run(self) -> str:
        return "done"


async def test_bad_input_is_a_clear_error(env: WorkflowEnvironment, tmp_path: Path) -> None:
    missing = await replay_cli("--history", str(tmp_path / "nope.json"))
    assert isinstance(missing.exception, DocumentError)
    assert missing.exception.lines == (f"{tmp_path / 'nope.json'}: no such file",)
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"events": [')
    result = await replay_cli("--history", str(corrupt))
    assert isinstance(result.exception, DocumentError)
    assert "invalid JSON" in result.exception.lines[0]
    not_history = tmp_path / "plan.json"
    not_history.write_text('{"id": "x"}')
    result = await replay_cli("--history", str(not_history))
    assert isinstance(result.exception, DocumentError)
    assert "not a Temporal history" in result.exception.lines[0]

    async with Worker(
        env.client,
        task_queue="other",
        workflows=[SomethingElse],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await env.client.start_workflow(
            SomethingElse.run, id="something-else", task_queue="other"
        )
        await handle.result()
    other = tmp_path / "other.json"
    other.write_text((await plain_history(await handle.fetch_history())).to_json())
    result = await replay_cli("--history", str(other))
    assert isinstance(result.exception, DocumentError)
    assert "workflow type 'SomethingElse', not PlanRunWorkflow" in result.exception.lines[0]
    neither = await replay_cli()
    assert isinstance(neither.exception, EngineError)
