"""``dee codec-key`` and ``dee codec-server`` as a user runs them, and bad keys refused
cleanly by every command that would talk to Temporal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.codec import KeyRing
from dee.devserver import free_port
from tests.integration.inprocess import dee_in_process

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    return {**env, "DEE_DATA_DIR": str(tmp_path), "DEE_TEMPORAL_ADDRESS": "127.0.0.1:9", **extra}


def _dee(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dee", *args], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_codec_key_prints_a_usable_entry_and_refuses_a_bad_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _dee(_env(tmp_path), "codec-key", "2027-01")
    assert made.returncode == 0, made.stderr
    ring = KeyRing.from_text(made.stdout, source="stdout")
    assert ring.ids == ("2027-01",) and len(ring.newest[1]) == 32
    bad = dee_in_process(monkeypatch, _env(tmp_path), ROOT, ["codec-key", "no spaces/allowed"])
    assert bad.returncode == 1
    assert (
        bad.stderr.startswith("error: key id 'no spaces/allowed'") and "Traceback" not in bad.stderr
    )


def test_a_malformed_key_stops_every_temporal_command_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, DEE_CODEC_KEYS="k1:tooshort")
    for args in (("worker",), ("codec-server",), ("run", "status", "r-1"), ("replay", "r-1")):
        # The servers as a subprocess (one that did start would stop at its timeout), the
        # one-shot commands in-process.
        if args[0] in {"worker", "codec-server"}:
            done = _dee(env, *args)
        else:
            done = dee_in_process(monkeypatch, env, ROOT, args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "codec.keys: key 'k1' is" in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and "tooshort" not in done.stderr
    assert not (tmp_path / "codec-keys").exists()


def test_codec_server_generates_and_prints_a_token_when_none_is_configured(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dee", "codec-server", "--port", str(port)],
        env=_env(tmp_path), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first, second = process.stdout.readline(), process.stdout.readline()
        assert f"DEE codec server on http://127.0.0.1:{port}" in first
        found = re.search(r"token \(generated; set codec.serverToken to keep one\): (\S+)", second)
        assert found is not None, second
        token = found.group(1)
        body = {"payloads": []}
        url = f"http://127.0.0.1:{port}/decode"
        for _ in range(100):  # the line is printed before uvicorn binds
            try:
                ok = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            raise AssertionError("the codec server never answered")
        assert ok.status_code == 200 and ok.json() == {"payloads": []}
        assert httpx.post(url, json=body).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)
