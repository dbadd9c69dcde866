"""What the fuzz tests share: the per-input cap and the Hypothesis settings.

Derandomized (the same inputs on every run, no example database) and without
shrinking, so a failure reproduces with the same input and a hanging input costs one
cap, not one per shrinking step.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

# Generous against a loaded CI machine; the long run (``make fuzz``) uses 5 s.
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
