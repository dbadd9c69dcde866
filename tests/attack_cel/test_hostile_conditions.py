"""Hostile conditions and data never crash the process that evaluates them, and give
the same answer and the same error text in two fresh processes: an error's text goes
into the audit chain and the history, so text that embedded an address or a hash order
would make a replay diverge (issue 23)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.attack_cel.hostile import CONDITIONS

ROOT = Path(__file__).resolve().parents[2]


def _child() -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.attack_cel.hostile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # A negative return code is a signal: the library crashed the process.
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_no_hostile_condition_crashes_and_two_processes_agree() -> None:
    first, second = _child(), _child()
    assert [when for when, _ in first] == CONDITIONS
    assert first == second
    said = dict(first)
    assert said["(" * 32 + "true" + ")" * 32] == "held: True"  # the library's edge
    assert "nesting limit of 32 levels" in said["(" * 33 + "true" + ")" * 33]
    assert said["-(-9223372036854775808) == 0"] == "failed: integer overflow"
    assert said["[1,2,3].all(e, 6/(2-e)==6) == false"] == "held: True"
    assert said["contact.missing == 1"] == "failed: missing field contact.missing"
    # The library quotes the whole key (the run's data): cut, its length stated.
    assert said["contact.a[contact.s] == 1"].endswith("xxx\u2026 (325 characters)")
    # Before: a segmentation fault, and a SystemError naming a memory address.
    assert said["dyn({1: optional.of(2)})"] == (
        "failed: evaluated to dict {1: optional.of(2)}, not a boolean"
    )
    assert said["dyn([optional.none()])"] == (
        "failed: evaluated to list [optional.none()], not a boolean"
    )
    # A map's keys in order: the library's order changes from one process to the next.
    assert said["dyn({'x': [optional.of([1])], 'y': {true: optional.none()}})"] == (
        "failed: evaluated to dict {'x': [optional.of([1])], 'y': {True: optional.none()}}, "
        "not a boolean"
    )
    held = [when for when, what in first if what.startswith("held")]
    assert len(held) >= 10  # not all refused: evaluation itself was attacked
