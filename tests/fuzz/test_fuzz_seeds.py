"""Issue 18's reproductions, each held to what the issue demands: ``refused`` (a typed
error, exit 1), or ``any`` (taken or refused, typed, bounded, nothing half-written).

The webhook seeds run in ``test_fuzz_webhooks``.
"""

from __future__ import annotations

import pytest

from bench.fuzzing.isolation import Isolated
from bench.fuzzing.seeds import ISSUE_SEEDS, Seed
from bench.fuzzing.targets import expectation_met

SEEDS = [s for s in ISSUE_SEEDS if s.target != "webhook"]


@pytest.mark.parametrize("seed", SEEDS, ids=[f"item{s.item}-{s.name}" for s in SEEDS])
def test_an_issue_18_reproduction_gets_what_the_issue_demands(
    isolated: Isolated, seed: Seed
) -> None:
    verdict = expectation_met(seed, isolated.run(seed.target, seed.case))
    assert verdict.ok, verdict
