"""The benchmark harness, cheaply: its report files, and that scenario 1 compares like with like.

Not a timed test: the figures themselves come from ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import contracts as c
from bench.fakes import Call, bench_activities
from bench.handwritten import WORKFLOW_NAME as HAND_WRITTEN
from bench.handwritten import HandWrittenSalesWorkflow
from bench.overhead import (
    fresh_side,
    measure_batch,
    run_batch,
    run_input,
    summarize,
    variant_of,
)
from bench.report import rows, write_all
from bench.simulate_speed import instructions_per_step
from tests.integration.temporal_env import time_skipping_server_path
from workflows.plan_run import PlanRunWorkflow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


def _results() -> dict[str, object]:
    raw = {
        "per_round": {
            "dee": [
                {
                    "runs_per_second": 10.0,
                    "cpu_per_run": 0.05,
                    "server_cpu_per_run": 0.06,
                    "events": 57,
                }
            ],
            "handwritten": [
                {
                    "runs_per_second": 11.0,
                    "cpu_per_run": 0.04,
                    "server_cpu_per_run": 0.05,
                    "events": 57,
                }
            ],
            "handwritten_without_search_attributes": [
                {
                    "runs_per_second": 12.0,
                    "cpu_per_run": 0.04,
                    "server_cpu_per_run": 0.045,
                    "events": 54,
                }
            ],
        },
        "ratios": [10 / 11],
        "cpu_ratios": [1.25],
        "bare_ratios": [10 / 12],
    }
    breakdown = {"dee": {"a": 57}, "dee_without_search_attributes": {"a": 54},
                 "handwritten": {"a": 57},
                 "handwritten_without_search_attributes": {"a": 54}}  # fmt: skip
    return {
        "mode": "test",
        "when": "now",
        "overhead": {**summarize(raw, breakdown), "design": "paired, a core per side"},
        "event_latency": {
            "p50_ms": 10.0,
            "p90_ms": 20.0,
            "p99_ms": 60.0,
            "confirmed_by_query": {"p50_ms": 8.0, "p99_ms": 52.5},
            "met": {"p99": False},
        },
        "memory": {
            "runs": 10,
            "default_cache": {
                "rss_idle_mb": 100.0,
                "rss_with_runs_mb": 110.0,
                "kb_per_cached_run": 1024.0,
            },
            "all_cached": {
                "rss_idle_mb": 100.0,
                "rss_with_runs_mb": 110.0,
                "kb_per_cached_run": 1024.0,
            },
        },
        "skipped": {"audit_append": "PostgreSQL unreachable"},
    }


def test_the_report_writes_json_markdown_and_a_png(tmp_path: Path) -> None:
    results = _results()
    json_path, md_path, png_path = write_all(results, tmp_path)

    assert json.loads(json_path.read_text())["overhead"]["ratio_dee_to_handwritten"] == 0.909
    table = md_path.read_text()
    assert "| scenario | figure | value | target | met |" in table
    assert (
        "| 1 overhead | ratio, like for like (median of rounds) | 0.909 | >= 0.95 | **no** |"
        in table
    )
    assert "| 1 overhead | extra history events per step | 0.0 | <= 1 | yes |" in table
    # The Web UI's price stays in view: the engine against the bare hand-written workflow.
    assert (
        "| 1 overhead | ratio against the bare hand-written (no Web UI upserts) | 0.833 |" in table
    )
    assert "| 1 overhead | extra history events per step against it | 0.429 |" in table
    assert "| 4 event latency | p99 ms | 60.0 | <= 50 | **no** |" in table
    assert "| 4 event latency | confirmed by a state query, p50 / p99 ms | 8.0 / 52.5 |" in table
    assert "Skipped: audit_append: PostgreSQL unreachable" in table
    assert len(rows(results)) == 14  # nine overhead, three latency, two memory rows
    assert "| 1 overhead | server CPU s/run, engine / hand-written | 0.06 / 0.05 |" in table
    # Paired rounds give each side one core: the rate's label says so.
    assert "| 1 overhead | PlanRunWorkflow runs/s (a core each, side by side) | 10.0 |" in table
    assert png_path.read_bytes().startswith(PNG_SIGNATURE)
    assert png_path.stat().st_size > 10_000


async def test_the_hand_written_workflow_makes_the_same_activity_calls() -> None:
    calls: list[Call] = []
    queue = f"bench-{uuid.uuid4()}"
    seen: dict[str, list[Call]] = {}
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=time_skipping_server_path()
        ) as env,
        Worker(
            env.client,
            task_queue=queue,
            workflows=[PlanRunWorkflow, HandWrittenSalesWorkflow],
            activities=bench_activities(calls),
        ),
    ):
        for name in (c.WORKFLOW_NAME, HAND_WRITTEN):
            calls.clear()
            run_id = f"{name}-{uuid.uuid4().hex[:6]}"
            result = await env.client.execute_workflow(
                name,
                run_input(run_id, 1, search_attributes=False),
                id=run_id,
                task_queue=queue,
                result_type=c.RunResult,
            )
            assert (result.status, result.outcome) == ("COMPLETED", "called")
            seen[name] = list(calls)

    assert seen[c.WORKFLOW_NAME] == seen[HAND_WRITTEN]
    assert [step for name, step in seen[HAND_WRITTEN] if name.startswith("send")] == [
        "intro-email",
        "cold-email",
        "call",
    ]


async def _upserts(client: Client, run_id: str) -> list[dict[str, object]]:
    """The search attributes each upsert in a run's history set, decoded."""
    out = []
    async for event in client.get_workflow_handle(run_id).fetch_history_events():
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            out.append({k: json.loads(v.data) for k, v in fields.indexed_fields.items()})
    return out


async def test_the_like_for_like_baseline_upserts_what_the_engine_upserts() -> None:
    # Scenario 1's target compares the engine with the hand-written workflow making the
    # same Web UI upserts; the bare baseline makes none. On a dev server, where the
    # attributes are registered and written to its visibility store.
    upserts, found = {}, {}
    async with fresh_side() as side:
        for variant in ("dee", "handwritten", "handwritten_without_search_attributes"):
            workflow, attrs, _, _ = variant_of(variant)
            _, ids = await run_batch(side.client, workflow, side.queue, 1, search_attributes=attrs)
            upserts[variant] = await _upserts(side.client, ids[0])
            found[variant] = (
                await side.client.get_workflow_handle(ids[0]).describe()
            ).typed_search_attributes

    assert upserts["handwritten"] == upserts["dee"]
    # workflow.patched upserts the patch's version attribute first (the SDK's core does),
    # once per patch a new run asks at its start: since issue 23 two.
    durable, google = "durable-audit-and-send-ledger", "conditions-on-google-cel"
    assert upserts["dee"][:2] == [
        {"TemporalChangeVersion": [durable]},
        {"TemporalChangeVersion": [google, durable]},
    ]
    assert [(u["DeeStatus"], u["DeeStep"]) for u in upserts["dee"][2:]] == [
        ("WAITING", "wait-1"),
        ("WAITING", "wait-2"),
        ("COMPLETED", "end"),
    ]
    assert upserts["dee"][2]["DeeContactId"] == "c-0"
    assert upserts["handwritten_without_search_attributes"] == []
    assert found["handwritten"] == found["dee"]
    bare = found["handwritten_without_search_attributes"]
    assert [pair.key.name for pair in bare if pair.key.name.startswith("Dee")] == []


async def test_only_the_cache_off_variant_has_its_server_reread_the_cluster_metadata() -> None:
    # bench.search_attribute_cost sets DEE's dev server against one with the CLI's
    # default (its search-attribute cache off); a measured batch shows the difference.
    figures = {}
    for variant in ("dee", "dee_on_a_cache_off_server"):
        async with fresh_side(variant_of(variant).server) as side:
            figures[variant] = await measure_batch(side, variant, 2)
    # A fresh server fills each service's cache once; after that it answers from memory.
    assert figures["dee"]["metadata_reads_per_run"] < 5
    assert figures["dee_on_a_cache_off_server"]["metadata_reads_per_run"] > 10
    # 66: the conditions-on-google-cel marker and its upsert cost two (issue 23).
    assert figures["dee"]["events"] == figures["dee_on_a_cache_off_server"]["events"] == 66


def test_the_simulate_bench_counts_instructions_per_step_with_callgrind() -> None:
    # A count, not a timing: callgrind gives the same number on a busy or an idle host.
    # The process it counts simulates exactly the runs asked for (each event pattern
    # thrice: no event goes cold, an open warm, a reply ends at once through the
    # plan's exit rule, its wait cancelled) ...
    args = [sys.executable, "-m", "bench.simulate_speed", "--count-only", "9"]
    counted = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    assert counted.stdout.split() == ["steps", str(3 * (6 + 5 + 2))]
    # ... and what a step costs is what 30 more runs add to a process that simulates 30.
    per_step = instructions_per_step(30, warm=30)
    assert per_step is not None and 5_000 < per_step < 500_000, per_step


async def test_the_encrypted_variant_encrypts_every_payload_and_adds_no_history_event() -> None:
    # bench.codec_cost pairs dee_encrypted with dee: the same runs, only the payloads
    # encrypted by the client and the worker.
    encodings, events = {}, {}
    for variant in ("dee", "dee_encrypted"):
        workflow, attrs, server, codec = variant_of(variant)
        async with fresh_side(server, codec=codec) as side:
            _, ids = await run_batch(side.client, workflow, side.queue, 1, search_attributes=attrs)
            history = await side.client.get_workflow_handle(ids[0]).fetch_history()
            events[variant] = len(history.events)
            started = history.events[0].workflow_execution_started_event_attributes
            completed = history.events[-1].workflow_execution_completed_event_attributes
            encodings[variant] = {
                p.metadata["encoding"]
                for p in [*started.input.payloads, *completed.result.payloads]
            }
    assert encodings == {"dee": {b"json/plain"}, "dee_encrypted": {b"binary/encrypted"}}
    assert events["dee"] == events["dee_encrypted"]
