"""How long a condition at the evaluation cost limit takes: the calibration of
``interpreter.cel_limits.COST`` (issue 18, item 4).

For each shape a plan may write — nested comprehensions over data, concatenation,
comparisons of text inside a loop — the data is grown until the cost estimate
reaches the limit, and the evaluation is timed there (best of a few). The figure to
watch is the worst time at the limit: it must stay far below Temporal's two-second
deadlock detector, since conditions run inside a workflow task.

    python -m bench.condition_cost

Prints one line per shape; nothing is asserted (timings are this machine's).
"""

from __future__ import annotations

import time
from typing import Any

from interpreter import cel_runtime
from interpreter.cel_limits import COST
from interpreter.legacy_cel.cost import data_bound, estimate
from interpreter.legacy_cel.strict import left_to_right
from interpreter.legacy_cel.syntax import parse

cel = cel_runtime.load()

SHAPES: dict[str, tuple[str, Any]] = {
    "two nested alls over a list": (
        "(vars.L + []).all(a, (vars.L + []).all(b, a + b >= 0))",
        lambda n: {"L": list(range(n))},
    ),
    "two nested alls with a constant body": (
        "(vars.L + []).all(a, (vars.L + []).all(b, true))",
        lambda n: {"L": list(range(n))},
    ),
    "exists over text compared in a loop": (
        '(vars.L + []).exists(s, s == vars.t + "x")',
        lambda n: {"L": ["a" * 200] * n, "t": "a" * 200},
    ),
    "long text compared in a loop": (
        "(vars.L + []).exists(s, s == vars.t)",
        lambda n: {"L": ["a" * 100_000] * n, "t": "a" * 100_000},
    ),
    "map building lists": (
        "(vars.L + []).map(a, vars.L + vars.L).size() > 0",
        lambda n: {"L": list(range(n))},
    ),
    "membership in a loop": (
        "(vars.L + []).all(a, a in vars.L)",
        lambda n: {"L": list(range(n))},
    ),
    "a field selected in a loop": (
        "(vars.L + []).all(a, vars.L.size() > 0)",
        lambda n: {"L": list(range(n))},
    ),
    "map of scalars": (
        "(vars.L + []).map(a, a * 2).size() > 0",
        lambda n: {"L": list(range(n))},
    ),
    "filter of lists": (
        "(vars.N + []).filter(a, a.size() > 0).size() > 0",
        lambda n: {"N": [list(range(50))] * n},
    ),
    "exists over lists": (
        "(vars.N + []).exists(a, a.size() == 0)",
        lambda n: {"N": [list(range(50))] * n},
    ),
}


def _at_limit(source: str, make: Any) -> tuple[int, int]:
    tree = parse(source)
    n = 1
    while estimate(tree, {"vars": data_bound(make(n * 2))}).cost <= COST.value:
        n *= 2
    low, high = n, n * 2
    while high - low > 1:
        middle = (low + high) // 2
        if estimate(tree, {"vars": data_bound(make(middle))}).cost <= COST.value:
            low = middle
        else:
            high = middle
    return low, estimate(tree, {"vars": data_bound(make(low))}).cost


def main() -> None:
    for name, (source, make) in SHAPES.items():
        n, cost = _at_limit(source, make)
        program = cel.compile(left_to_right(parse(source)))
        context = cel.Context(variables={"vars": make(n)})
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            program.execute(context)
            best = min(best, time.perf_counter() - start)
        print(
            f"{name:40} n={n:6}  {cost:7} units  {best * 1000:7.2f} ms  "
            f"{best / cost * 1e6:6.3f} µs/unit"
        )


if __name__ == "__main__":
    main()
