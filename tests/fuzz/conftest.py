"""The bounded fuzz suite: every target of ``bench.fuzzing``, a few dozen inputs each.

Derandomized (the same inputs on every run, no example database) and without
shrinking, so a failure reproduces with the same input and a hanging input costs
one cap, not one per shrinking step. Each input runs in a child process under a cap
(``ISOLATED_CAP``, generous against a loaded CI machine; the long run, ``make fuzz``,
uses 5 s). ``bench/fuzz.py`` runs the same targets with thousands of inputs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from bench.fuzzing.isolation import Isolated

ISOLATED_CAP = 10.0


def bounded(examples: int) -> settings:
    """The suite's settings for a target: ``examples`` derandomized inputs."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
        print_blob=True,
    )


@pytest.fixture(scope="session")
def isolated() -> Iterator[Isolated]:
    """One child process for the suite (replaced when an input hangs or kills it)."""
    with Isolated(ISOLATED_CAP) as child:
        yield child
