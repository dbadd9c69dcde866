"""Webhook requests, with valid, missing and wrong credentials and mutated bodies, to the
receiver over a real database and Temporal server: a 2xx or a 4xx with a JSON error,
never a 5xx, within the cap, and a 4xx leaves no row and no event behind (issue 18).
Issue 18's webhook reproductions run here too."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from temporalio.testing import WorkflowEnvironment

from bench.fuzzing.calls import INBOUND, POSTMARK
from bench.fuzzing.seeds import Seed, seeds_for
from bench.fuzzing.strategies import STRATEGIES
from bench.fuzzing.targets import expectation_met
from bench.fuzzing.webhooks import RUNS, WebhookWorld
from tests.integration.temporal_env import time_skipping_server_path

from .helpers import ISOLATED_CAP, bounded

SEEDS = seeds_for("webhook")


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebhookWorld]:
    # A click the receiver cannot record is logged with its traceback, by design, and the
    # form parser logs every malformed multipart body.
    # Restored afterwards: a later test reads the receiver's log lines.
    quieted = {name: logging.getLogger(name) for name in ("dee.webhooks", "python_multipart")}
    levels = {name: logger.level for name, logger in quieted.items()}
    for logger in quieted.values():
        logger.setLevel(logging.CRITICAL)
    try:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=time_skipping_server_path()
        ) as env:
            world = await WebhookWorld.open(env.client, Path(tmp_path_factory.mktemp("webhooks")))
            try:
                yield world
            finally:
                await world.close()
    finally:
        for name, logger in quieted.items():
            logger.setLevel(levels[name])


@bounded(50)
@given(case=STRATEGIES["webhook"])
async def test_a_hostile_request_is_answered_2xx_or_4xx_and_a_refusal_leaves_nothing(
    world: WebhookWorld, case: dict[str, Any]
) -> None:
    verdict = await world.judge(case, ISOLATED_CAP)
    assert verdict.ok, verdict


@pytest.mark.parametrize("seed", SEEDS, ids=[f"item{s.item}-{s.name}" for s in SEEDS])
async def test_an_issue_18_webhook_reproduction_is_refused(world: WebhookWorld, seed: Seed) -> None:
    verdict = expectation_met(seed, await world.judge(seed.case, ISOLATED_CAP))
    assert verdict.ok, verdict


GENUINE = {
    "open": {"method": "GET", "query": {"url": ""}, "body": b""},
    "click": {"method": "GET", "query": {"url": "https://example.com/"}, "body": b""},
    "inbound": {"body": json.dumps(INBOUND).encode(), "content_type": "application/json"},
    "postmark": {
        "body": json.dumps({**POSTMARK, "RecordType": "Delivery"}).encode(),
        "content_type": "application/json",
    },
    "twilio": {"form": {"CallSid": "CA9", "CallStatus": "completed"}, "body": b""},
    "vonage": {"body": json.dumps({"uuid": "u-9", "status": "completed"}).encode(),
               "content_type": "application/json"},
}  # fmt: skip


@pytest.mark.parametrize("route", sorted(GENUINE))
async def test_a_genuine_request_of_each_route_reaches_its_run(
    world: WebhookWorld, route: str
) -> None:
    """The harness itself: with valid credentials each route's request is taken and its
    run's history grows (else the refusals above could be the harness's own doing). On
    the second run, which the fuzzed requests leave alone: the first may have had these
    very events already, and a duplicate is taken without a new history event."""
    case = {"route": route, "auth": "valid", "run": "second", "content_type": "", **GENUINE[route]}
    if route == "twilio":
        case["content_type"] = "application/x-www-form-urlencoded"
    before = await world.history_lengths()
    verdict = await world.judge(case, ISOLATED_CAP)
    assert verdict.outcome == "accepted", verdict
    after = await world.history_lengths()
    assert after[RUNS[1]] > before[RUNS[1]], (before, after)
    assert after[RUNS[0]] == before[RUNS[0]]
    wrong = await world.judge({**case, "auth": "wrong"}, ISOLATED_CAP)
    assert wrong.outcome == "refused" and wrong.detail.startswith("403"), wrong
