"""No clock reads in ``workflows/`` except ``workflow.now()``.

``workflows`` is passed through Temporal's sandbox (``dee/sandbox.py``), so the
sandbox no longer refuses ``datetime.now()`` there at run time. The import-linter
contract forbids ``time``, ``random``, ``uuid`` and ``os`` in the package but must
allow ``datetime`` (``timedelta``, ``UTC``); this test refuses its clock reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCK_READS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter"}


def clock_reads(source: str, filename: str) -> list[str]:
    """``file:line call`` for every clock read that is not ``workflow.now()``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = node.func.value
        if node.func.attr in CLOCK_READS and not (
            isinstance(receiver, ast.Name) and receiver.id == "workflow"
        ):
            found.append(f"{filename}:{node.lineno} {ast.unparse(node.func)}()")
    return found


def test_the_guard_finds_clock_reads() -> None:
    sample = "from datetime import datetime\nx = datetime.now()\ny = workflow.now()\n"
    assert clock_reads(sample, "sample.py") == ["sample.py:2 datetime.now()"]
    assert clock_reads("import datetime\ndatetime.date.today()\n", "s.py") == [
        "s.py:2 datetime.date.today()"
    ]


def test_workflows_read_time_only_from_temporal() -> None:
    files = sorted((ROOT / "workflows").rglob("*.py"))
    assert files, "no workflow modules found"
    found = [
        hit for path in files for hit in clock_reads(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == []


def test_the_interpreter_reads_no_clock() -> None:
    """``interpreter.local_time`` may import ``datetime`` (calendar arithmetic for local
    times; import-linter allows that one module): it, and every other interpreter module,
    must never read the clock with it."""
    files = sorted((ROOT / "interpreter").rglob("*.py"))
    assert any(path.name == "local_time.py" for path in files)
    found = [
        hit for path in files for hit in clock_reads(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == []
