"""Property (c) of ``tests/interpreter/test_properties.py``, in fresh interpreters.

A simulation's trace and hash chain are the same in processes with different
``PYTHONHASHSEED`` as in this one. It starts subprocesses, so it lives here rather
than in the pure ``tests/interpreter`` folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter import GENESIS_HASH
from tests.interpreter.strategies import DEFAULT_STEP_BUDGET, RunCase, run_cases
from tests.interpreter.test_properties import REPO, SALES, run

# --- (c) determinism across processes ---------------------------------------------------

# Runs in a fresh interpreter: reads cases as JSON on stdin, prints for each case the
# canonical (RFC 8785) JSON of its trace and the head of its hash chain, one per line.
HELPER = r"""
import json
import sys

import rfc8785

import interpreter as core


def render(cases):
    out = []
    for case in cases:
        plan = core.parse_plan(case["plan"], source="case")
        events = core.parse_events(case["events"], source="events")
        trace = core.simulate(
            plan,
            case["contact"],
            events,
            variables=case["variables"],
            config=core.MachineConfig(step_budget=case["stepBudget"]),
        )
        chained = core.chain(case["runId"], trace.entries)
        head = chained[-1].hash if chained else core.GENESIS_HASH
        out.append(bytes(rfc8785.dumps(trace.as_dict())) + b"\n" + head.encode() + b"\n")
    return b"".join(out)


if __name__ == "__main__":
    sys.stdout.buffer.write(render(json.load(sys.stdin)))
"""


def _render_in_process(cases: list[dict[str, Any]]) -> bytes:
    namespace: dict[str, Any] = {"__name__": "determinism_helper"}
    exec(compile(HELPER, "determinism_helper", "exec"), namespace)
    return bytes(namespace["render"](cases))


def _render_in_subprocesses(cases: list[dict[str, Any]], seeds: tuple[str, ...]) -> list[bytes]:
    payload = json.dumps(cases).encode()
    procs = []
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", HELPER],
                cwd=REPO,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = []
    for proc in procs:
        out, err = proc.communicate(payload, timeout=60)
        assert proc.returncode == 0, err.decode()
        outputs.append(out)
    return outputs


def _sales_case() -> dict[str, Any]:
    return {
        "runId": "run-sales",
        "plan": yaml.safe_load(SALES.read_text()),
        "contact": {"id": "c-1", "tier": "gold"},
        "variables": {"x": 4},
        "events": [
            {"type": "email.opened", "tick": 60, "id": "ev-1", "stepId": "intro-email"},
            {"type": "email.opened", "tick": 61, "id": "ev-1", "stepId": "intro-email"},
            {"type": "crm.note", "tick": 302400, "data": {"b": 1.5, "a": [1, "x"]}},
        ],
        "stepBudget": DEFAULT_STEP_BUDGET,
    }


@settings(max_examples=1)
@given(st.lists(run_cases(), min_size=4, max_size=6))
def test_traces_and_hashes_are_identical_across_processes(batch: list[RunCase]) -> None:
    cases = [_sales_case()] + [c.to_json(f"run-{i}") for i, c in enumerate(batch)]
    cases = json.loads(json.dumps(cases))  # exactly what the subprocesses receive
    with_seed_1, with_seed_999 = _render_in_subprocesses(cases, ("1", "999"))
    assert with_seed_1 == with_seed_999
    assert with_seed_1 == _render_in_process(cases)
    lines = with_seed_1.splitlines()
    assert len(lines) == 2 * len(cases)
    for i, case in enumerate(batch, start=1):
        trace = json.loads(lines[2 * i])
        assert trace == run(case).as_dict()
        assert len(lines[2 * i + 1]) == 64
        assert lines[2 * i + 1] != GENESIS_HASH.encode()
