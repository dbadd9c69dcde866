"""Both verifiers on hostile files: a clear message naming the file and line, no traceback.

An export or a checkpoint file comes from wherever the auditor was handed it; JSON
nested deeper than Python's recursion limit must be refused like any other bad line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from storage_helpers import load_verifier, make_chain
from test_storage_cli import _no_traceback, dee

from adapters.storage import CheckpointSigner, Database

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOOL_PATH = Path(load_verifier().__file__)
DEEP = "[" * 200_000 + "]" * 200_000 + "\n"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL_PATH), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("where", ["entries", "checkpoints"])
async def test_the_standalone_verifier_names_deeply_nested_json(tmp_path: Path, where: str) -> None:
    key = tmp_path / "key.pem"
    key.write_text(CheckpointSigner(Ed25519PrivateKey.generate()).public_pem(), encoding="ascii")
    deep, empty = tmp_path / "deep.jsonl", tmp_path / "empty.jsonl"
    deep.write_text(DEEP, encoding="utf-8")
    empty.write_text("", encoding="utf-8")
    entries, checkpoints = (deep, empty) if where == "entries" else (empty, deep)

    result = _tool("--public-key", str(key), "--checkpoints", str(checkpoints), str(entries))

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert f"{deep}:1: not valid JSON: nested too deeply" in result.stderr, result.stderr


async def test_dee_audit_verify_names_a_deeply_nested_checkpoint_export(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP, encoding="utf-8")

    result = dee(cli_env, tmp_path, "audit", "verify", "--all", "--checkpoints", str(deep))

    _no_traceback(result)
    assert result.returncode == 1 and f"{deep}:1: not valid JSON" in result.stderr, result.stderr


async def test_the_standalone_verifier_warns_that_without_a_key_ok_means_only_linked(
    tmp_path: Path,
) -> None:
    export = tmp_path / "run.jsonl"
    entries = make_chain("run-cut", 5)[:3]  # a truncated tail still links
    export.write_text("".join(json.dumps(e.as_dict()) + "\n" for e in entries), encoding="utf-8")

    result = _tool(str(export))

    assert result.returncode == 0 and "ok run run-cut" in result.stdout
    assert "warning: no --public-key" in result.stderr and "truncated tail" in result.stderr
