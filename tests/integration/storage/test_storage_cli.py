"""The ``dee db``, ``dee audit`` and ``dee run timeline`` commands, run as a user would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from storage_helpers import load_verifier, make_chain, tamper, unique

from adapters.storage import AuditStore, Database
from adapters.storage.migrations import HEAD_REVISION
from dee.devserver import free_port
from interpreter.chain import chain
from interpreter.trace import RUN_SCOPE, TraceEntry
from tests.integration.inprocess import dee_in_process


def dee(env: Mapping[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dee", *args],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        check=False,
        timeout=120,
    )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


async def test_verify_export_and_timeline(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    store = AuditStore(database)
    run_id = unique()
    entries = chain(
        run_id,
        [
            TraceEntry(0, "welcome-email", "send_email", "delivered", {"template": "t1"}),
            TraceEntry(259200, "wait-3-days", "wait", "completed"),
            TraceEntry(259200, "check-open", "evaluate", "branch:no"),
            TraceEntry(259200, RUN_SCOPE, "complete", "COMPLETED"),
        ],
    )
    await store.append(entries)
    out = tmp_path / "export.jsonl"

    upgraded = dee(cli_env, tmp_path, "db", "migrate")
    verified = dee(cli_env, tmp_path, "audit", "verify", run_id)
    verified_all = dee(cli_env, tmp_path, "audit", "verify", "--all")
    exported = dee(cli_env, tmp_path, "audit", "export", run_id, "--out", str(out))
    timeline = dee(cli_env, tmp_path, "run", "timeline", run_id)
    timeline_json = dee(cli_env, tmp_path, "run", "timeline", run_id, "--json")

    assert re.fullmatch(rf"database .* schema at revision {HEAD_REVISION}\n", upgraded.stdout)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == f"run {run_id}: ok, 4 entries (seq 1..4)\n"
    assert verified_all.stdout == verified.stdout
    assert exported.stdout == f"exported 4 entries of run {run_id} to {out}\n"
    assert load_verifier().main([str(out)]) == 0
    assert timeline.stdout.splitlines() == [
        f"[tick 0]      step:welcome-email → action:send_email → outcome:delivered "
        f"hash:{entries[0].hash[:4]}...",
        f"[tick 259200] step:wait-3-days   → action:wait       → outcome:completed "
        f"hash:{entries[1].hash[:4]}...",
        f"[tick 259200] step:check-open    → action:evaluate   → outcome:branch:no "
        f"hash:{entries[2].hash[:4]}...",
        f"[tick 259200] run:{run_id} → action:complete   → outcome:COMPLETED "
        f"hash:{entries[3].hash[:4]}...",
    ]
    records = json.loads(timeline_json.stdout)
    assert [r["hash"] for r in records] == [e.hash for e in entries]
    assert set(records[0]) == {
        "seq", "tick", "recordedAt", "stepId", "action", "outcome", "detail", "prevHash", "hash",
    }  # fmt: skip


async def test_a_tampered_chain_fails_verify_naming_the_entry(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    store = AuditStore(database)
    good, bad = unique("good"), unique("bad")
    await store.append([*make_chain(good, 3), *make_chain(bad, 5)])
    await tamper(
        database, "UPDATE audit_entries SET outcome = 'x' WHERE run_id = :r AND seq = 4", r=bad
    )

    one = dee(cli_env, tmp_path, "audit", "verify", bad)
    every = dee(cli_env, tmp_path, "audit", "verify", "--all")

    assert one.returncode == 1 and one.stdout == ""
    assert one.stderr.startswith(f"error: run {bad}: entry seq 4: hash is '")
    assert every.returncode == 1
    assert every.stdout == f"run {good}: ok, 3 entries (seq 1..3)\n"
    assert every.stderr == one.stderr
    _no_traceback(every)
    # --json: the same exit status and stderr; stdout is the report of both runs.
    as_json = dee(cli_env, tmp_path, "audit", "verify", "--all", "--json")
    assert (as_json.returncode, as_json.stderr) == (1, one.stderr)
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    by_run = {r["runId"]: r for r in report["runs"]}
    assert (by_run[good]["ok"], by_run[good]["entries"], by_run[good]["problems"]) == (True, 3, [])
    assert (by_run[bad]["ok"], by_run[bad]["entries"]) == (False, 3)  # seq 1..3 verify
    assert by_run[bad]["problems"] == [one.stderr.removeprefix("error: ").rstrip("\n")]


def test_bad_input_gets_one_clear_line(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process: the tests above and below run the real script for each command.
    def dee(env: Mapping[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return dee_in_process(monkeypatch, env, cwd, args)

    out = tmp_path / "never.jsonl"
    unreachable = {**cli_env, "DEE_DATABASE_URL": f"postgresql://127.0.0.1:{free_port()}/x"}

    unknown = dee(cli_env, tmp_path, "audit", "export", "no-such-run", "--out", str(out))
    no_timeline = dee(cli_env, tmp_path, "run", "timeline", "no-such-run")
    neither = dee(cli_env, tmp_path, "audit", "verify")
    offline = dee(unreachable, tmp_path, "audit", "verify", "--all")
    unconfigured = dee(cli_env, tmp_path, "audit", "archive")

    for result in (unknown, no_timeline, neither, offline, unconfigured):
        assert result.returncode == 1
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
        _no_traceback(result)
    assert "unknown run 'no-such-run'" in unknown.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert "unknown run 'no-such-run'" in no_timeline.stderr
    assert "give either RUN_ID or --all" in neither.stderr
    assert "cannot reach the database at postgresql+asyncpg://127.0.0.1:" in offline.stderr
    assert "audit retention is not configured" in unconfigured.stderr


async def test_archive_command_uses_configured_retention(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    await AuditStore(database).append(make_chain(unique(), 3))
    archive_dir = tmp_path / "archive"
    env = {
        **cli_env,
        "DEE_AUDIT_RETENTION_DAYS": "30",
        "DEE_AUDIT_ARCHIVE_TO": archive_dir.as_uri(),
    }

    result = dee(env, tmp_path, "audit", "archive")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("archived 0 entries of 0 runs recorded before ")
    assert result.stdout.rstrip().endswith(f"to {archive_dir.as_uri()}")
