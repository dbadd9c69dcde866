"""Bulk operator actions on real processes (dev server, the worker DEE ships, a real
SMTP relay): a wave of FAILED runs after a relay outage, looked at with a dry run, then
retried with ``dee runs retry --yes``; each run retried once and audited on its chain."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path

import pytest

from dee.config import EngineConfig
from dee.connection import connect
from dee.engine import Engine
from dee.errors import EngineError
from dee.runs.bulk import BulkRequest
from dee.runs.run_filter import RunFilter
from tests.integration.bulk.wave import ROOT, OutageSink, failed_wave, settings_file
from tests.integration.inprocess import dee_in_process
from tests.integration.waiting import until

WAVE = 30  # the 200 and 1,000 are bench.bulk_actions


async def _retries(engine: Engine, run_id: str) -> list[dict[str, object]]:
    return [
        dict(e.detail)
        for e in await engine.get_timeline(run_id)
        if (e.action, e.outcome) == ("retry", "accepted")
    ]


async def _retried(engine: Engine, run_id: str) -> list[dict[str, object]]:
    """The run's retry entries once it has one: the entry is persisted with the run's
    next audit flush, after the update answered."""
    return await until(
        functools.partial(_retries, engine, run_id),
        lambda found: len(found) >= 1,
        what=f"the retry entry of {run_id}",
    )


async def _dee(monkeypatch: pytest.MonkeyPatch, settings: Path, *args: str) -> tuple[int, str, str]:
    """``dee *args`` in this process, in a thread (the worker shares this event loop)."""
    done = await asyncio.to_thread(
        dee_in_process, monkeypatch, {"DEE_CONFIG": str(settings)}, ROOT, args
    )
    return done.returncode, done.stdout, done.stderr


async def test_a_dry_run_then_retry_yes_retries_each_failed_run_once(
    engine: Engine,
    config: EngineConfig,
    sink: OutageSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wave = await failed_wave(engine, WAVE, "bulk-a")
    others = await failed_wave(engine, 3, "bulk-b")  # another plan: outside the filter
    # Another tenant's run in the same database and namespace: never selected.
    # (started by an engine bound to globex: the default engine refuses another tenant)
    globex_engine = await Engine.connect(
        config.model_copy(update={"tenant": "globex"}), client=await connect(config)
    )
    globex = await failed_wave(globex_engine, 1, "bulk-a", tenant="globex")
    reader = {**dict.fromkeys(wave + others, engine), **dict.fromkeys(globex, globex_engine)}
    first = await engine.get_run(wave[0])
    assert first.failure is not None and first.current_step == "mail"
    settings = settings_file(config, tmp_path / "dee.yaml")
    select = ("--status", "FAILED", "--plan", "bulk-a", "--failure", "550")

    code, out, err = await _dee(monkeypatch, settings, "runs", "retry", *select)
    assert code == 0, err
    assert out.startswith(f"{WAVE} run(s) match status FAILED, plan bulk-a"), out
    assert "dry run, nothing done" in out and "... and 20 more" in out
    code, out, err = await _dee(monkeypatch, settings, "runs", "retry", *select, "--json")
    shown = json.loads(out)
    assert (shown["count"], shown["dryRun"], len(shown["sample"])) == (WAVE, True, 10)
    assert {s["runId"] for s in shown["sample"]} <= set(wave)
    assert {(s["status"], s["step"]) for s in shown["sample"]} == {("FAILED", "mail")}
    for run_id in wave + others + globex:  # the dry run changed nothing
        assert (await engine.runs.get(run_id)).status == "FAILED"
        assert await _retries(reader[run_id], run_id) == []

    sink.handler.refusing = False  # the relay is fixed
    code, out, err = await _dee(
        monkeypatch, settings, "runs", "retry", *select, "--yes", "--by", "ops",
        "--reason", "relay fixed", "--concurrency", "6",
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(line["runId"] for line in lines) == sorted(wave)
    assert all(line["action"] == "retry" and line["ok"] for line in lines), lines
    assert all(line["error"] is None for line in lines)
    assert f"retry: {WAVE} run(s) selected, {WAVE} done, 0 refused" in err
    for run_id in wave:
        found = await _retried(engine, run_id)
        assert [(d["by"], d["reason"]) for d in found] == [("ops", "relay fixed")]
    for run_id in others + globex:
        assert (await engine.runs.get(run_id)).status == "FAILED"
        assert await _retries(reader[run_id], run_id) == []
    await globex_engine.close()

    async def sent() -> int:
        return len(sink.handler.received)

    await until(sent, lambda n: n == WAVE, what=f"{WAVE} retried sends reaching the relay")

    # The same command again: nothing is failed any more, so nothing matches.
    code, out, err = await _dee(monkeypatch, settings, "runs", "retry", *select, "--yes")
    assert (code, out) == (0, ""), err
    assert "retry: 0 run(s) selected" in err


async def test_two_concurrent_bulk_retries_retry_no_run_twice(
    engine: Engine, sink: OutageSink
) -> None:
    wave = await failed_wave(engine, 12, "bulk-race")
    sink.handler.refusing = False
    where = RunFilter(status="FAILED", plan_id="bulk-race")
    request = BulkRequest(by="ops", reason="race")
    first, second = await asyncio.gather(
        engine.bulk("retry", where, request, dry_run=False, concurrency=8),
        engine.bulk("retry", where, request, dry_run=False, concurrency=8),
    )
    done = [o for o in (*first.outcomes, *second.outcomes) if o.ok]
    refused = first.failed + second.failed
    assert sorted(o.run_id for o in done) == sorted(wave)  # each run retried by one of them
    assert first.count + second.count > len(wave)  # they did overlap
    assert len(refused) == first.count + second.count - len(wave)
    for outcome in refused:
        assert outcome.error is not None
        assert f"run {outcome.run_id}: retry refused" in outcome.error, outcome.error
        assert "only a failed run can be retried" in outcome.error, outcome.error
    for run_id in wave:
        assert len(await _retried(engine, run_id)) == 1
    # The retried runs wait: pause them all by a visibility query, then resume them.
    paused = RunFilter(query="DeePlanId = 'bulk-race' AND DeeStep = 'pause'")
    await until(
        functools.partial(engine.bulk, "pause", paused),
        lambda found: found.count == len(wave),
        what="visibility listing the waiting runs at their pause step",
    )
    held = await engine.bulk("pause", paused, request, dry_run=False)
    assert [(o.ok, o.status) for o in held.outcomes] == [(True, "PAUSED")] * len(wave)
    again = await engine.bulk("pause", paused, request, dry_run=False)  # already paused
    assert all(not o.ok and "only a pending, running or waiting run" in (o.error or "")
               for o in again.outcomes), again.outcomes  # fmt: skip
    resumed = await engine.bulk("resume", paused, request, dry_run=False, concurrency=3)
    assert [(o.ok, o.status) for o in resumed.outcomes] == [(True, "WAITING")] * len(wave)


REFUSED = [
    ((), "an empty filter is refused"),
    (("--failure", "  "), "an empty filter is refused"),
    (("--status", "failed"), "status: 'failed' is not a run status"),
    (("--plan-version", "0"), "plan version: 0 is not a version"),
    (("--status", "FAILED", "--concurrency", "0", "--yes"), "concurrency: 0 is not between"),
    (("--status", "FAILED", "--limit", "-1"), "limit: -1 is not 1 or more"),
    (("--query", "DeeStatus = "), "query: Temporal refused it"),
    (("--status", "FAILED", "--by", "a b\nc"), "by:"),
]


@pytest.mark.parametrize(("args", "message"), REFUSED)
async def test_a_bad_filter_or_option_is_refused_naming_it(
    engine: Engine,
    config: EngineConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    settings = settings_file(config, tmp_path / "dee.yaml")
    code, out, err = await _dee(monkeypatch, settings, "runs", "retry", *args, "--yes")
    assert (code, out) == (1, "")
    assert err.startswith("error: runs retry: ") or "query" in err, err
    assert message in err, err


async def test_cancel_needs_a_reason_and_resolve_one_resolution(
    engine: Engine, config: EngineConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_file(config, tmp_path / "dee.yaml")
    code, _, err = await _dee(monkeypatch, settings, "runs", "cancel", "--status", "WAITING")
    assert code == 1 and "reason: a cancel needs a reason" in err, err
    code, _, err = await _dee(monkeypatch, settings, "runs", "resolve", "--status", "FAILED")
    assert code == 1 and "give exactly one of --skip-to" in err, err
    where = RunFilter(status="FAILED")
    with pytest.raises(EngineError, match="action 'explode' is not one of"):
        await engine.bulk("explode", where)  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="resend applies to retry only"):
        await engine.bulk("pause", where, BulkRequest(resend=True))
    with pytest.raises(EngineError, match="target: resolve skip needs a step"):
        await engine.bulk("resolve", where, BulkRequest(resolution="skip"))
