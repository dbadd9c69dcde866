"""Hostile ``dee`` command lines and files: exit 0, or ``error:`` lines on stderr and no
traceback, within the cap, and a refusal stores nothing (issue 18). No Temporal server
listens, so a start that gets past its checks is refused as unable to reach it."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from bench.fuzzing.isolation import Isolated
from bench.fuzzing.strategies import STRATEGIES

from .helpers import bounded


@bounded(30)
@given(case=STRATEGIES["cli"])
def test_a_hostile_command_line_exits_cleanly_and_a_refusal_stores_nothing(
    isolated: Isolated, case: dict[str, Any]
) -> None:
    verdict = isolated.run("cli", case)
    assert verdict.ok, verdict
