"""The finding behind the rule on comprehensions over maps: the library's map order is
not deterministic across processes, whatever ``PYTHONHASHSEED`` says."""

from __future__ import annotations

import os
import subprocess
import sys

# The same map, built in the same insertion order, listed by ``map()`` (the condition
# compiled without DEE's rules: the library alone).
_PROGRAM = """
from interpreter.cel_env import ENV
keys = ["alpha", "b", "c", "delta", "e", "f1", "zz", "y", "q", "long-key-name"]
listed = ENV.compile("contact.map(k, k)").eval(data={"contact": {k: 1 for k in keys}})
print(",".join(listed.plain_value()))
"""


def _listed(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_map_order_differs_between_processes_with_one_hash_seed() -> None:
    # Ten keys have 3.6 million orders: equal lists in all five processes would mean
    # the order is fixed, and the rule could be lifted (docs/conditions.md).
    orders = {_listed(0) for _ in range(5)}
    assert len(orders) > 1
