"""Issue 24 part 6: every ``--json`` command against real runs prints JSON on stdout with
one casing (camelCase: no key holds an underscore, save the user's own data), and
``dee runs list`` shows how each run ended: a completed run's outcome, a failed run's
failure, a canceled run's status.

The commands run in this process, in a thread (the worker shares this event loop);
``test_cli_runtime`` runs the installed script itself.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from temporalio.testing import WorkflowEnvironment

from dee.cli import main
from dee.config import EngineConfig
from dee.engine import Engine
from tests.integration.runtime.plans import one_email
from tests.integration.runtime.test_cli_runtime import ROOT, _dee_in_process
from tests.integration.waiting import until

# The user's own data (contact fields, variables, an event's payload) and the recorded
# audit detail are printed as given: their keys are theirs, not the CLI's.
USER_DATA = {"contact", "variables", "data", "detail", "opened"}
VARS = {"product": "DEE", "sender_name": "Sam"}
NOTICE = str(ROOT / "plans" / "notification.yaml")


# Commands whose output is not the CLI's data: servers, and outputs that are a format of
# their own (JSON Lines of the recorded entries, PEM, Mermaid, a JSON Schema, a key line).
NOT_DATA = {
    "audit export", "audit public-key", "codec-key", "codec-server", "demo", "plan graph",
    "plan schema", "server", "webhooks", "worker",
}  # fmt: skip


def commands() -> dict[str, bool]:
    """Every ``dee`` command (``run status``, ``start``): whether it takes ``--json``."""
    found: dict[str, bool] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found[" ".join(path)] = any("--json" in p.opts for p in command.params)

    walk(typer.main.get_command(main.app), ())
    return found


def test_every_data_command_takes_json() -> None:
    found = commands()
    assert set(found) >= NOT_DATA
    assert sorted(c for c, has in found.items() if not has and c not in NOT_DATA) == []


def keys_with_underscores(value: Any, where: str = "$") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if "_" in key:
                yield f"{where}.{key}"
            if key not in USER_DATA:
                yield from keys_with_underscores(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from keys_with_underscores(inner, f"{where}[{i}]")


async def test_every_json_command_on_real_runs(
    engine: Engine,
    env: WorkflowEnvironment,
    config: EngineConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outputs: dict[str, Any] = {}
    known = commands()

    async def dee(*args: str, code: int = 0) -> Any:
        done: subprocess.CompletedProcess[str] = await _dee_in_process(
            monkeypatch, config, env, *args
        )
        assert done.returncode == code, (args, done.stdout, done.stderr)
        if "--json" not in args:
            return done.stdout
        shown = json.loads(done.stdout)  # stdout is the JSON alone: messages go to stderr
        name = max((c for c in known if args[: c.count(" ") + 1] == tuple(c.split())), key=len)
        outputs[name] = shown
        return shown

    async def final(run_id: str, status: str) -> None:
        # Until it settles (ends, or waits), then exactly the status expected.
        settled = await until(
            lambda: engine.get_run(run_id),
            lambda r: r.status in ("COMPLETED", "FAILED", "CANCELED", "WAITING"),
            what=f"{run_id} settling",
        )
        assert settled.status == status, settled

    def file(name: str, value: Any) -> str:
        path = tmp_path / name
        path.write_text(value if isinstance(value, str) else json.dumps(value))
        return str(path)

    # A completed run, a failed one (its contact suppressed), and one the CLI cancels.
    await dee("suppress", "add", "no@example.com", "--reason", "complaint", "--json")
    done = await engine.execute(
        one_email("json-done"),
        contact={"id": "c-done", "email": "ok@example.com", "first_name": "Ok", "company": "K"},
        variables=VARS,
    )
    failed = await engine.execute(
        one_email("json-failed"),
        contact={"id": "c-fail", "email": "no@example.com", "first_name": "No", "company": "N"},
        variables=VARS,
    )
    resolved = await engine.execute(
        one_email("json-resolved"),
        contact={"id": "c-resolve", "email": "no@example.com", "first_name": "No", "company": "N"},
        variables=VARS,
    )
    for run_id, status in ((done.run_id, "COMPLETED"), (failed.run_id, "FAILED")):
        await final(run_id, status)
    await final(resolved.run_id, "FAILED")
    contact = file("contact.json", {"id": "c-cancel", "email": "c@example.com", "first_name": "C"})
    [started] = await dee("start", NOTICE, "--contact", contact, "--json")
    canceled = started["runId"]
    await final(canceled, "WAITING")
    await dee("event", "ingest", "--type", "email.opened", "--contact", "c-cancel",
              "--step", "notice", "--data", '{"user_agent": "x"}', "--json")  # fmt: skip
    await dee("run", "pause", canceled, "--json")
    await dee("run", "resume", canceled, "--json")
    await dee("run", "cancel", canceled, "--reason", "asked to stop", "--json")
    await dee("run", "retry", resolved.run_id, "--json")
    await final(resolved.run_id, "FAILED")  # still suppressed
    await dee("run", "resolve", resolved.run_id, "--end", "handled", "--json")
    await final(resolved.run_id, "COMPLETED")

    listed = {r["runId"]: r for r in await dee("runs", "list", "--json")}
    assert (listed[done.run_id]["status"], listed[done.run_id]["outcome"]) == ("COMPLETED", "sent")
    assert listed[resolved.run_id]["outcome"] == "handled"
    lost = listed[failed.run_id]
    assert (lost["status"], lost["outcome"], lost["failure"]["stepId"]) == ("FAILED", None, "mail")
    assert "suppression" in lost["failure"]["reason"]
    assert (listed[canceled]["status"], listed[canceled]["outcome"]) == ("CANCELED", None)
    monkeypatch.setenv("COLUMNS", "300")  # one line per run: the table wraps at 80 columns
    table = await dee("runs", "list")
    row = {line.split()[1]: line for line in table.splitlines() if "│ " in line}
    assert "sent" in row[done.run_id] and "failed at mail" in row[failed.run_id]
    assert "CANCELED" in row[canceled] and "handled" in row[resolved.run_id]

    status = await dee("run", "status", failed.run_id, "--json")
    assert status["failure"]["stepId"] == "mail" and status["currentStep"] == "mail"
    timeline = await dee("run", "timeline", failed.run_id, "--json")
    assert {"stepId", "prevHash"} <= set(timeline[0])
    verified = await dee("audit", "verify", "--all", "--json")
    assert verified["ok"] is True
    assert {r["runId"] for r in verified["runs"]} == {done.run_id, failed.run_id,
                                                     resolved.run_id, canceled}  # fmt: skip
    one = await dee("audit", "verify", done.run_id, "--json")
    assert [(r["runId"], r["ok"], r["closed"]) for r in one["runs"]] == [(done.run_id, True, True)]
    await dee("replay", done.run_id, "--json")

    await dee("consent", "grant", "c-gone", "--channel", "voice", "--source", "form",
              "--wording", "v1", "--json")  # fmt: skip
    await dee("consent", "revoke", "c-gone", "--channel", "voice", "--source", "api", "--json")
    await dee("suppress", "list", "--json")
    await dee("suppress", "remove", "no@example.com", "--json")
    budget = await dee("budget", "set", "b1", "--from", "2026-01-01", "--to", "2026-12-31",
                       "--limit", "250.00", "--json")  # fmt: skip
    assert (budget["periodStart"], budget["limit"]) == ("2026-01-01", "250")
    assert await dee("limits", "set", "--channel", "email", "--daily", "5", "--json") == {
        "tenant": "default", "channel": "email", "daily": 5,
    }  # fmt: skip
    erased = await dee("contact", "erase", "c-gone", "--json")  # no runs, its consent kept
    assert erased["contactId"] == "c-gone"
    await dee("contact", "enroll", "c-gone", "--json")

    [checked] = await dee("plan", "validate", NOTICE, "--json")
    assert (checked["ok"], checked["planId"], checked["problems"]) == (
        True, "account-notification", [],
    )  # fmt: skip
    registered = await dee("plan", "register", NOTICE, "--json")
    # `dee start` stored it already: the same body again changes nothing.
    assert (registered["planId"], registered["stored"]) == ("account-notification", False)
    await dee("plan", "simulate", NOTICE, "--contact", contact, "--json")
    await dee("policy", "explain", "--contact", contact, "--channel", "email", "--json")
    ledger = file("dialer.csv", "contact_id,channel,at\nc1,voice,2025-06-09T10:00:00Z\n")
    imported = await dee("policy", "ledger", "import", ledger, "--tenant", "acme", "--json")
    assert (imported["added"], imported["already"]) == (1, 0)
    migrated = await dee("db", "migrate", "--json")
    assert migrated["revision"] and migrated["applicationDatabase"] is None
    archived = await dee("audit", "archive", "--days", "3650",
                         "--to", (tmp_path / "archive").as_uri(), "--json")  # fmt: skip
    assert (archived["entries"], archived["refused"]) == (0, [])
    assert await dee("audit", "checkpoints", "adopt", "--json") == {"signed": 0, "refused": []}
    exported = await dee("audit", "checkpoints", "export", "--to", str(tmp_path), "--json")
    assert exported["checkpoints"] > 0

    # Bulk actions' dry runs (no --yes): the count and a sample, nothing acted on.
    for action, extra in (
        ("retry", ()),
        ("pause", ()),
        ("resume", ()),
        ("cancel", ("--reason", "dry")),
        ("resolve", ("--end", "handled")),
    ):
        dry = await dee("runs", action, "--status", "FAILED", *extra, "--json")
        assert (dry["dryRun"], dry["count"]) == (True, 1), dry  # the failed run
    # Every command that takes --json ran (``db upgrade`` is ``db migrate``'s old name).
    assert sorted(outputs) == sorted(c for c, has in known.items() if has and c != "db upgrade")
    bad = {name: found for name, out in outputs.items() if (found := [*keys_with_underscores(out)])}
    assert bad == {}
    # The user's own keys are theirs: the event's payload and the contact keep theirs.
    ingested = next(e for e in timeline_of(await dee("run", "timeline", canceled, "--json")))
    assert ingested["detail"]["data"] == {"user_agent": "x"}


def timeline_of(entries: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (e for e in entries if e["action"] == "event")


async def test_bad_input_with_json_is_one_clear_error(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    async def dee(*args: str) -> subprocess.CompletedProcess[str]:
        return await _dee_in_process(monkeypatch, config, env, *args)

    unknown = await dee("run", "status", "run-missing", "--json")
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr == "error: unknown run 'run-missing' for tenant 'default'\n"
    neither = await dee("audit", "verify", "--json")
    assert (neither.returncode, neither.stdout, neither.stderr) == (
        1, "", "error: give either RUN_ID or --all\n",
    )  # fmt: skip
    missing = await dee("audit", "verify", "run-missing", "--json")
    assert missing.returncode == 1 and "run-missing" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nversion: 1\nsteps: [{type: nope}]\n")
    checked = await dee("plan", "validate", str(broken), NOTICE, "--json")
    assert checked.returncode == 1 and checked.stderr.startswith(f"error: {broken}")
    first, second = json.loads(checked.stdout)  # the JSON still says which file failed
    assert (first["ok"], second["ok"]) == (False, True) and first["problems"]
    listed = await dee("runs", "list", "--limit", "x", "--json")
    assert listed.returncode == 2 and listed.stdout == "" and "--limit" in listed.stderr
