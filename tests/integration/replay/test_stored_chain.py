"""Replaying a run against its stored audit chain (what ``Engine.replay`` compares)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from dee.errors import DocumentError
from dee.replay.comparison import replay_run
from dee.replay.from_audit import with_stored_chain
from dee.replay.from_history import decode_history
from tests.integration.replay.recording import DAY, Scenario, event, record, sleep

HISTORIES = Path(__file__).resolve().parents[2] / "histories"


async def test_a_tampered_audit_row_is_a_diff_at_its_step_and_field(
    env: WorkflowEnvironment,
) -> None:
    opened = Scenario(
        "stored",
        actions=[sleep(3_600), event("o-1", "email.opened", "intro-email"), sleep(4 * DAY)],
    )
    history, stored = await record(env, opened)
    run = await decode_history(history)
    assert replay_run(with_stored_chain(run, stored), workflow_code=True).identical

    tampered = copy.deepcopy(stored)
    tampered[-1]["outcome"] = "replied"  # the end step's outcome, rewritten in the table
    result = replay_run(with_stored_chain(run, tampered), workflow_code=True)
    assert not result.identical
    diffs = [(d.step, d.field, d.expected, d.actual) for d in result.diffs]
    assert diffs[0] == ("end-followed-up", "end.outcome", "replied", "followed-up")
    assert {d[1] for d in diffs} == {"end.outcome", "end.hash", "end.workflow"}
    assert [s.id for s in result.steps if not s.identical] == ["end-followed-up"]


def _load(name: str) -> WorkflowHistory:
    path = HISTORIES / name
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


async def test_a_continued_run_replays_from_its_start_against_the_whole_chain() -> None:
    first = await decode_history(_load("continue-as-new-1.json"))
    latest = await decode_history(_load("continue-as-new-2.json"))
    assert latest.run_input.state is not None  # the history begins mid-run
    assert replay_run(latest).identical  # from the carried state
    whole = sorted(first.entries + latest.entries, key=lambda e: int(e["seq"]))
    assert [e["seq"] for e in whole] == list(range(1, len(whole) + 1))
    result = replay_run(with_stored_chain(latest, whole))
    assert result.identical
    assert result.steps[1].id == "first" and result.steps[-1].id == "done"


async def test_a_stored_chain_whose_head_was_archived_is_refused_by_name() -> None:
    run = await decode_history(_load("sales-opened.json"))

    with pytest.raises(DocumentError, match=r"stored audit chain starts at seq 3 \(older"):
        with_stored_chain(run, run.entries[2:])
