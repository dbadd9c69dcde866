"""``dee server`` stopped as a service manager stops it (SIGTERM) or as Ctrl-C does
(SIGINT) stops its dev server child too: the ``temporal`` process is gone and nothing
is left listening on the ports it took. Killed outright (SIGKILL), it cannot clean up:
the child then gets SIGTERM from the kernel (PR_SET_PDEATHSIG) and exits as well. Its
Web UI decodes through the codec server ``--ui-codec-endpoint`` names."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from dee.devserver import free_port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie no one has reaped yet (an orphan's
    reaper in a container may never do it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def _dee_server(*extra: str) -> Iterator[tuple[subprocess.Popen[str], int, int, int]]:
    """A real ``dee server`` started as a shell starts a background job: with SIGINT
    ignored (``trap '' INT``), which is how the old SIGTERM-raises-SIGINT handler came
    to leave its child running. Yields it, its ``temporal`` child's pid and both ports."""
    port, ui_port = free_port(), free_port()
    dee = [sys.executable, "-m", "dee", "server", "--port", str(port), "--ui-port", str(ui_port)]
    script = "trap '' INT; exec \"$@\""
    args = ["sh", "-c", script, "sh", *dee, *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = None
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once the frontend answers
        assert first.startswith(f"Temporal dev server at 127.0.0.1:{port}"), first
        assert _listening(port)
        (child,) = _children(proc.pid)
        yield proc, child, port, ui_port
    finally:
        proc.kill()
        proc.wait()
        if child is not None and _alive(child):  # a failed test must not leave it behind
            os.kill(child, signal.SIGKILL)


def test_sigterm_stops_the_dev_server_it_started() -> None:
    codec = f"http://127.0.0.1:{free_port()}/a-token"
    with _dee_server("--ui-codec-endpoint", codec) as (proc, child, port, ui_port):
        # The Web UI decodes through the codec server it was given.
        settings = httpx.get(f"http://127.0.0.1:{ui_port}/api/v1/settings", timeout=30)
        assert settings.json()["Codec"]["Endpoint"] == codec
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped")
    assert not _alive(child), f"dee server exited but its temporal child {child} runs on"
    assert not _listening(port) and not _listening(ui_port)


def test_a_killed_dee_server_does_not_leave_its_child_running() -> None:
    with _dee_server() as (proc, child, port, _):
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert _gone_within(child, 30), f"temporal child {child} outlived a SIGKILLed dee server"
    assert not _listening(port)


def test_a_dev_server_that_dies_is_an_error_not_a_clean_stop() -> None:
    with _dee_server() as (proc, child, _, _):
        os.kill(child, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "the Temporal dev server exited with status -9" in err, err
    assert "Traceback" not in err and "stopped" not in out
