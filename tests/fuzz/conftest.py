"""The bounded fuzz suite: every target of ``bench.fuzzing``, a few dozen inputs each,
each input in a child process under a cap (``helpers``). ``bench/fuzz.py`` (``make
fuzz``) runs the same targets with thousands of inputs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.fuzzing.isolation import Isolated

from .helpers import ISOLATED_CAP


@pytest.fixture(scope="session")
def isolated() -> Iterator[Isolated]:
    """One child process for the suite (replaced when an input hangs or kills it)."""
    with Isolated(ISOLATED_CAP) as child:
        yield child
