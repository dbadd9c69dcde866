"""``tests/interpreter`` stays pure: no processes, no scratch files, no clocks, no services.

Issue 20 moved the CLI tests to ``tests/cli``, the tests that start processes or write
files there too, and the population-sized checks to ``tests/bench_checks``, so that the
interpreter folder runs in seconds. This guard fails when such a test comes back.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE = ROOT / "tests" / "interpreter"

# Modules (and their submodules) a pure test has no use for: processes, scratch files,
# clocks and event loops, the benchmarks, and the services of the integration tests.
FORBIDDEN_MODULES = frozenset(
    {
        "aiosmtpd",
        "asyncio",
        "bench",
        "dee.cli",
        "multiprocessing",
        "shutil",
        "socket",
        "sqlalchemy",
        "subprocess",
        "tempfile",
        "temporalio",
        "time",
    }
)
# pytest fixtures that hand a test a scratch directory to write in
FORBIDDEN_FIXTURES = frozenset({"tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory"})


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN_MODULES)


def impurities(source: str, filename: str) -> list[str]:
    """``file:line what`` for every forbidden import and scratch-directory fixture."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [
                f"{filename}:{node.lineno} import {a.name}"
                for a in node.names
                if _forbidden(a.name)
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from dee import cli`` names the module in its alias
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(_forbidden(name) for name in names):
                found.append(f"{filename}:{node.lineno} from {node.module} import ...")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            found += [
                f"{filename}:{node.lineno} fixture {a.arg}"
                for a in args
                if a.arg in FORBIDDEN_FIXTURES
            ]
    return found


def test_the_guard_finds_processes_clocks_services_and_scratch_files() -> None:
    sample = (
        "import os, subprocess\n"
        "from time import perf_counter\n"
        "from dee import cli\n"
        "from bench.validate_speed import chain_document\n"
        "from dee.documents import read_document\n"
        "import temporalio.client\n"
        "def test_a(tmp_path): ...\n"
        "async def test_b(x, *, tmpdir): ...\n"
    )
    assert impurities(sample, "s.py") == [
        "s.py:1 import subprocess",
        "s.py:2 from time import ...",
        "s.py:3 from dee import ...",
        "s.py:4 from bench.validate_speed import ...",
        "s.py:6 import temporalio.client",
        "s.py:7 fixture tmp_path",
        "s.py:8 fixture tmpdir",
    ]
    assert impurities("import timeit\nfrom dee.content import load_registry\n", "s.py") == []


def test_the_interpreter_tests_start_no_process_and_touch_no_clock_service_or_file() -> None:
    files = sorted(PURE.rglob("*.py"))
    assert any(path.name == "test_machine.py" for path in files)
    found = [
        hit for path in files for hit in impurities(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == []
