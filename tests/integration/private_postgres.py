"""A PostgreSQL server of the test's own (initdb in a temporary folder, its own port),
for outage tests: it can be stopped and started again without touching the shared one.

Needs the server binaries (``pg_ctl``, ``initdb``) that the machine's PostgreSQL
installs; run as root, the cluster belongs to the ``postgres`` user, as initdb requires.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dee.devserver import free_port


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    raise RuntimeError(f"{name} not found: the PostgreSQL server binaries are not installed")


@dataclass
class PrivatePostgres:
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        _as_owner([_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args])

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        """An abrupt stop, as a crash or an outage: connections are cut."""
        self._ctl("-m", "immediate", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _as_owner(command: list[str]) -> None:
    if os.geteuid() == 0:  # initdb and the server refuse to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    folder = Path(tempfile.mkdtemp(prefix="dee-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    try:
        _as_owner([_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"])
        server = PrivatePostgres(data, free_port())
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
