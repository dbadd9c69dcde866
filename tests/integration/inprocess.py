"""``dee`` run in this process through its real entry function (``dee.cli.main.run``).

A bad-input case fails in argument parsing or before the first query: a subprocess
proves nothing more there than the installed script starting, which each CLI test file
still proves with its real-subprocess tests, and costs a 1.5 s interpreter start-up.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from dee.cli.main import run


def dee_in_process(
    monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str], cwd: Path, args: Sequence[str]
) -> subprocess.CompletedProcess[str]:
    """``dee *args`` with ``env``'s ``DEE_*`` settings (and no others) in ``cwd``: the exit
    code and output a user would see; a traceback is always a failure."""
    with monkeypatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("DEE_")]:
            patch.delenv(name)
        for name, value in env.items():
            if name.startswith("DEE_"):
                patch.setenv(name, value)
        patch.chdir(cwd)
        out, err = io.StringIO(), io.StringIO()
        code: object = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run(list(args))
            except SystemExit as exc:
                code = exc.code
    assert "Traceback" not in err.getvalue(), err.getvalue()
    assert isinstance(code, int | None), code
    return subprocess.CompletedProcess(list(args), code or 0, out.getvalue(), err.getvalue())
