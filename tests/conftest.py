"""Byte-compile DEE's sources once, before the suite starts.

Hundreds of tests start ``dee`` (or another Python process of this tree) as a user
would. Where the host sets ``PYTHONDONTWRITEBYTECODE`` (CI's machines and this one do),
no process leaves its byte code behind, so each would compile every DEE module it
imports anew (about 0.2 s of each start). Compiled here once, every child reads the
byte code; a source edited since is compiled again, as always (``make bench`` does the
same for its processes).
"""

from __future__ import annotations

import compileall
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("activities", "adapters", "bench", "dee", "interpreter", "workflows", "tests")


def pytest_sessionstart(session: pytest.Session) -> None:
    for name in SOURCES:
        # A module that does not compile fails its own tests; nothing to report here.
        compileall.compile_dir(ROOT / name, quiet=2)
    for module in ("worker.py", "starter.py"):
        compileall.compile_file(ROOT / module, quiet=2)
