"""Hypothesis profiles for the interpreter tests: "ci" when ``CI`` is set, else "dev".

"ci" is derandomized (the same examples on every run, no example database), so a
CI failure reproduces locally with ``CI=1 pytest tests/interpreter``. Both keep the
folder well under 15 seconds. ``HYPOTHESIS_PROFILE`` picks a profile explicitly
("thorough" runs many more examples).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    # plans are built from many small draws; generating them is the slow part
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile(
    "ci", max_examples=60, derandomize=True, database=None, print_blob=True, **_COMMON
)
settings.register_profile("dev", max_examples=40, **_COMMON)
# a long hunt, by hand: HYPOTHESIS_PROFILE=thorough pytest tests/interpreter
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
