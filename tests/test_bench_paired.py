"""``bench.paired``: both sides of a round at once, each pinned to a core of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import paired

PROBE = "tests.paired_probe"
TWO_CORES = len(os.sched_getaffinity(0)) >= 2


@pytest.mark.parametrize("swap", [False, True])
async def test_a_round_runs_both_sides_at_once_on_cores_of_their_own(
    tmp_path: Path, swap: bool
) -> None:
    assert TWO_CORES, "the bench machine has two cores; this test needs them too"
    got = await paired.pair(PROBE, "slow", "fast", 7, swap=swap, options={"folder": str(tmp_path)})

    first, second = sorted(os.sched_getaffinity(0))[:2]
    expected = (second, first) if swap else (first, second)
    assert (got["slow"]["core"], got["fast"]["core"]) == expected
    assert got["slow"]["size"] == got["fast"]["size"] == 7
    # Measured together: each began before the other ended.
    assert got["fast"]["begin"] < got["slow"]["end"]
    assert got["slow"]["begin"] < got["fast"]["end"]
    # The side that finished first kept its core busy until the other was done.
    fills = [p for p in tmp_path.iterdir() if p.name.startswith("fast-fill-")]
    assert len(fills) >= 3


async def test_a_side_that_cannot_set_up_fails_the_round_with_a_clear_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError, match="instead of 'ready'"):
        await paired.pair(PROBE, "broken", "fast", 1, swap=False, options={"folder": str(tmp_path)})


def test_cores_names_two_allowed_cores() -> None:
    cores = paired.cores()
    assert cores is not None
    assert len(cores) == 2
    assert set(cores) <= os.sched_getaffinity(0)


async def test_without_two_cores_the_sides_run_one_after_the_other_in_the_swapped_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paired, "cores", lambda: None)
    options = {"folder": str(tmp_path)}
    got = await paired.pair(PROBE, "fast", "slow", 1, swap=True, options=options)
    assert got["slow"]["end"] <= got["fast"]["begin"]  # b first when swapped
    got = await paired.pair(PROBE, "fast", "slow", 1, swap=False, options=options)
    assert got["fast"]["end"] <= got["slow"]["begin"]


async def test_a_pair_of_one_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="two different variants"):
        await paired.pair(PROBE, "fast", "fast", 1, swap=False)
