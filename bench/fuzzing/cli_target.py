"""The ``cli`` target: one ``dee`` command line, in-process, on a database of its own.

The command runs through ``dee.cli.main.run`` (what the ``dee`` script runs, minus
its final ``os._exit``), with the files it names in a fresh folder, a fresh copy of a
migrated SQLite database, and streams that behave like a pipe's: stdout encodes
strictly as UTF-8 and stderr with backslash escapes, as Python sets them up. Its
arguments pass through the file system encoding as a shell's would (no NUL; bytes
that are not UTF-8 arrive as surrogate escapes).

Judged: exit 0 is accepted; any other exit must explain itself on stderr (``error:``
lines, or click's usage error) without a traceback, and leave the database as it
found it, except for the runs a bulk start reports it started.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.fuzzing.targets import TEMPLATES, Context
from bench.fuzzing.verdict import Verdict

# Where no Temporal server listens: a start is then refused ("cannot reach Temporal").
NO_SERVER = "127.0.0.1:9"
_STARTED = re.compile(r"^error: started (\d+) of (\d+) runs:", re.MULTILINE)


def _template_database(ctx: Context) -> Path:
    """A migrated, empty database file, made once per process and copied per input."""

    def make() -> Path:
        import asyncio  # noqa: PLC0415

        from adapters.storage import open_database  # noqa: PLC0415

        path = ctx.scratch / "template.db"

        async def migrate() -> None:
            database = await open_database(f"sqlite+aiosqlite:///{path}")
            await database.dispose()

        asyncio.run(migrate())
        return path

    made: Path = ctx.extra("cli-database", make)
    return made


def warm_cli(ctx: Context) -> None:
    import dee.cli.main  # noqa: PLC0415 - what every call imports, loaded once
    import dee.cli.runs  # noqa: F401, PLC0415

    _template_database(ctx)


def row_counts(path: Path) -> dict[str, int]:
    """Rows per table (Alembic's own table aside)."""
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in names
            if name != "alembic_version"
        }


@dataclass
class Captured:
    """What a command wrote, filled in when it returns."""

    stdout: bytes = b""
    stderr: bytes = b""


@contextmanager
def _process_like(env: Mapping[str, str]) -> Iterator[Captured]:
    """Environment variables set and the standard streams replaced, for one call."""
    saved_env = {k: os.environ.get(k) for k in env}
    saved = (sys.stdin, sys.stdout, sys.stderr)
    out, err = io.BytesIO(), io.BytesIO()
    captured = Captured()
    os.environ.update(env)
    sys.stdin = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace")
    try:
        yield captured
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):  # a half-written line is judged from the bytes
                stream.flush()
        captured.stdout, captured.stderr = out.getvalue(), err.getvalue()
        sys.stdin, sys.stdout, sys.stderr = saved
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _argv(case: Mapping[str, Any], folder: Path) -> list[str]:
    # What a shell can pass: bytes without NUL, decoded as Python decodes sys.argv.
    raw = [a.replace("{dir}", str(folder)).replace("\x00", "") for a in case["argv"]]
    return [os.fsdecode(a.encode("utf-8", "surrogatepass")) for a in raw]


def run_cli(case: Mapping[str, Any], ctx: Context) -> Verdict:
    from dee.cli.main import run  # noqa: PLC0415 - imported in the child only

    folder = ctx.fresh_dir()
    for name, data in case["files"].items():
        (folder / name).write_bytes(data)
    database = folder / "dee.db"
    shutil.copy(_template_database(ctx), database)
    before = row_counts(database)
    files_before = set(os.listdir(folder))
    env = {
        "DEE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "DEE_TEMPLATES_DIR": str(TEMPLATES),
        "DEE_TEMPORAL_ADDRESS": str(ctx.settings.get("temporal_address") or NO_SERVER),
        "DEE_TASK_QUEUE": "fuzz-no-worker",
        "DEE_SEARCH_ATTRIBUTES": "false",
        "DEE_EVENT_ACK_TIMEOUT": "0.2",
        "DEE_DATA_DIR": str(folder),
        "COLUMNS": "120",
    }
    code: object = 0
    escaped = ""
    with _process_like(env) as captured:
        try:
            run(_argv(case, folder))
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:
            escaped = "".join(traceback.format_exception_only(exc)).strip()
    stderr = captured.stderr.decode("utf-8", "replace")
    if escaped:
        return Verdict("crash", f"raised out of the CLI: {escaped[:300]}")
    if "Traceback" in stderr:
        return Verdict("crash", f"traceback on stderr: {stderr[-400:]}")
    if code in (0, None):
        return Verdict("accepted", captured.stdout[:120].decode("utf-8", "replace"))
    stdout = captured.stdout.decode("utf-8", "replace")
    if code == 2 and stdout.lstrip().startswith("Usage:"):  # no command: the help, as click does
        return Verdict("refused", "exit 2: usage")
    if not isinstance(code, int) or not stderr.strip():
        return Verdict("crash", f"exit {code!r} without an error message")
    explained = any(
        line.startswith(("error: ", "Error: ", "aborted")) for line in stderr.splitlines()
    )
    if not explained:
        return Verdict("crash", f"exit {code} and stderr without error: {stderr[:300]}")
    left = _left_behind(before, row_counts(database), stderr)
    for name in set(os.listdir(folder)) - files_before:
        if not name.startswith("dee.db"):  # SQLite's journal comes and goes
            left[f"file {name}"] = 1
    if left:
        return Verdict("half_written", f"exit {code} yet stored {left}: {stderr[:200]}")
    return Verdict("refused", f"exit {code}: {stderr.strip()[:300]}")


def _left_behind(before: dict[str, int], after: dict[str, int], stderr: str) -> dict[str, int]:
    """Rows a refused command added, less what it says it did (a partial bulk start)."""
    added = {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)}
    found = _STARTED.search(stderr)
    if found is not None:  # a bulk start registers its plan, then starts what it can
        if added.get("runs") == int(found.group(1)):
            added.pop("runs")
        if added.get("plans") == 1:
            added.pop("plans")
    return added
