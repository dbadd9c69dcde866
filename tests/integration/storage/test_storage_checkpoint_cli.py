"""``dee audit public-key``, ``dee audit checkpoints export`` and ``dee audit verify``'s
key and export options, run as a user would; every bad input is a clear error."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from storage_helpers import make_chain, unique
from test_storage_checkpoints import superuser
from test_storage_cli import _no_traceback, dee

from adapters.storage import (
    AuditStore,
    CheckpointError,
    CheckpointSigner,
    Database,
    load_signing_key,
)
from tests.integration.inprocess import dee_in_process


def _key_file(env: Mapping[str, str]) -> Path:
    return Path(env["DEE_DATA_DIR"]) / "audit-signing-key.pem"


async def _signed(database: Database, env: Mapping[str, str], run_id: str) -> None:
    signer = load_signing_key(_key_file(env), create=True)
    store = AuditStore(database, signer=signer)
    entries = make_chain(run_id, 6)
    await store.append(entries[:3])
    await store.append(entries[3:])


async def test_public_key_generates_the_embedded_key_once(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    first = dee(cli_env, tmp_path, "audit", "public-key")
    again = dee(cli_env, tmp_path, "audit", "public-key")

    assert first.returncode == 0 and first.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert again.stdout == first.stdout
    assert stat.S_IMODE(_key_file(cli_env).stat().st_mode) == 0o600
    assert "PRIVATE" not in first.stdout


def test_a_configured_key_file_is_never_generated(
    cli_env: Mapping[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = {**cli_env, "DEE_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "absent.pem")}
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    broken = {**cli_env, "DEE_AUDIT_SIGNING_KEY_FILE": str(garbage)}

    for env, words in ((missing, "does not exist"), (broken, "cannot load it")):
        result = dee_in_process(monkeypatch, env, tmp_path, ["audit", "public-key"])
        _no_traceback(result)
        assert result.returncode == 1 and words in result.stderr, result.stderr
    assert not (tmp_path / "absent.pem").exists()
    with pytest.raises(CheckpointError, match="cannot load it"):
        load_signing_key(garbage, create=False)


async def test_verify_with_a_wrong_key_refuses_and_without_one_warns(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    run_id = unique()
    await _signed(database, cli_env, run_id)
    wrong = tmp_path / "wrong.pem"
    wrong.write_text(CheckpointSigner(Ed25519PrivateKey.generate()).public_pem())

    good = dee(cli_env, tmp_path, "audit", "verify", run_id)
    refused = dee(cli_env, tmp_path, "audit", "verify", run_id, "--public-key", str(wrong))
    _key_file(cli_env).rename(tmp_path / "moved.pem")
    unkeyed = dee(cli_env, tmp_path, "audit", "verify", run_id)

    assert good.returncode == 0 and "signed through seq 6 (2 checkpoints)" in good.stdout, good
    _no_traceback(refused)
    assert refused.returncode == 1
    assert f"run {run_id}: entry seq 3: checkpoint 1 (seq 3) is forged" in refused.stderr
    assert unkeyed.returncode == 0 and "signed checkpoints were not checked" in unkeyed.stderr


async def test_export_writes_new_read_only_files_and_verify_trusts_them(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = unique()
    await _signed(database, cli_env, run_id)
    target = tmp_path / "cps.jsonl"

    first = dee(cli_env, tmp_path, "audit", "checkpoints", "export", "--to", str(target))
    # The refusals in-process (in a thread: the command runs its own event loop).
    again, nowhere = [
        await asyncio.to_thread(
            dee_in_process, monkeypatch, cli_env, tmp_path, ["audit", "checkpoints", *args]
        )
        for args in (["export", "--to", str(target)], ["export", "--to", "no/such/f"])
    ]

    assert first.returncode == 0 and "exported 2 checkpoints" in first.stdout, first
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert len(target.read_text().splitlines()) == 2
    for result, words in ((again, "exists"), (nowhere, "does not exist")):
        _no_traceback(result)
        assert result.returncode == 1 and words in result.stderr, result.stderr

    async with superuser(database) as conn:
        await conn.execute(text("DELETE FROM audit_entries WHERE run_id = :r"), {"r": run_id})
        await conn.execute(text("DELETE FROM audit_checkpoints WHERE run_id = :r"), {"r": run_id})
    blind = dee(cli_env, tmp_path, "audit", "verify", "--all")
    caught = dee(cli_env, tmp_path, "audit", "verify", "--all", "--checkpoints", str(target))

    assert blind.returncode == 0  # nothing left in the database to contradict
    assert caught.returncode == 1, caught
    assert f"run {run_id}: entry seq 1: entries seq 1..6 are missing" in caught.stderr
    assert f"run {run_id}: entry seq 3: checkpoint 1 (seq 3) is in the export" in caught.stderr


def test_a_malformed_checkpoint_export_is_named(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "dee-audit-checkpoint/1", "n": "1"}\n')

    args = ["audit", "verify", "--all", "--checkpoints", str(bad)]
    result = dee_in_process(monkeypatch, cli_env, tmp_path, args)

    _no_traceback(result)
    assert result.returncode == 1 and f"{bad}:1: field" in result.stderr, result.stderr


async def test_adopt_signs_runs_recorded_before_checkpoints_but_not_broken_ones(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    legacy, broken, signed = unique("legacy"), unique("broken"), unique("signed")
    await AuditStore(database).append(make_chain(legacy, 5))  # as before revision 0010
    await AuditStore(database).append(make_chain(broken, 5))
    await _signed(database, cli_env, signed)
    async with superuser(database) as conn:
        await conn.execute(
            text("UPDATE audit_entries SET outcome = 'x' WHERE run_id = :r AND seq = 2"),
            {"r": broken},
        )
    before = dee(cli_env, tmp_path, "audit", "verify", legacy)

    adopted = dee(cli_env, tmp_path, "audit", "checkpoints", "adopt")
    again = dee(cli_env, tmp_path, "audit", "checkpoints", "adopt")
    after = dee(cli_env, tmp_path, "audit", "verify", legacy)

    assert before.returncode == 1 and "no signed checkpoint covers this run" in before.stderr
    _no_traceback(adopted)
    assert adopted.returncode == 1, adopted
    assert "signed the heads of 1 runs" in adopted.stdout
    assert f"not signed, the chain does not verify: run {broken}: entry seq 2" in adopted.stderr
    assert "signed the heads of 0 runs" in again.stdout  # the legacy run is signed now
    assert after.returncode == 0 and "signed through seq 5 (1 checkpoints)" in after.stdout
