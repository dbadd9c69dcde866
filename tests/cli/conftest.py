"""The Hypothesis profiles of ``tests/interpreter`` ("ci", "dev", "thorough") hold here too.

Some of these tests moved out of ``tests/interpreter`` (they start processes or write
files) and still draw from its strategies; run alone, they must get the same settings.
"""

from __future__ import annotations

import tests.interpreter.conftest  # noqa: F401  (registers and loads the profiles)
