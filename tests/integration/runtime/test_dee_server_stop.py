"""``dee server`` stopped as a service manager stops it (SIGTERM) stops its dev server
too: nothing is left listening on the ports it took. Its Web UI decodes through the
codec server ``--ui-codec-endpoint`` names."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from dee.devserver import free_port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_dev_server_it_started(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    codec = f"http://127.0.0.1:{free_port()}/a-token"
    args = [sys.executable, "-m", "dee", "server", "--port", str(port), "--ui-port", str(ui_port)]
    args += ["--ui-codec-endpoint", codec]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once the frontend answers
        assert first.startswith(f"Temporal dev server at 127.0.0.1:{port}"), first
        assert _listening(port)
        # The Web UI decodes through the codec server it was given.
        settings = httpx.get(f"http://127.0.0.1:{ui_port}/api/v1/settings", timeout=30).json()
        assert settings["Codec"]["Endpoint"] == codec
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped")
    assert not _listening(port) and not _listening(ui_port)
