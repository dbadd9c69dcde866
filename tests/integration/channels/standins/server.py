"""A small real HTTP server in its own thread, the base of the provider stand-ins.

Each stand-in is a ``http.server`` handler that checks requests the way the
provider's API does (path, method, auth, content type, body) and answers with the
provider's status codes and error bodies. The server runs in a thread, so the
adapter under test talks to it over a real socket like it would to the provider.
Every request is recorded; ``outage`` and ``delay`` make the next answers fail.
A delayed request still takes effect after its client gave up, as a provider's would;
``reset`` waits for such stragglers, so one test's late request never lands in the next.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

HOST = "127.0.0.1"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """What the stand-in does beyond validating: simulated outages and slowness."""

    outage: int | None = None  # answer every request with this 5xx status
    delay: float = 0.0  # seconds to wait before answering
    requests: list[Recorded] = field(default_factory=list)
    _in_flight: int = field(default=0, repr=False)
    _idle: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def reset(self) -> None:
        self.wait_idle()
        self.outage = None
        self.delay = 0.0
        self.requests.clear()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every request received so far has been handled and answered."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} requests still in flight")

    def started(self) -> None:
        with self._idle:
            self._in_flight += 1

    def finished(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()


class Answer(Exception):
    """Raised by a stand-in's validation to end the request with this answer."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class StandInHandler(BaseHTTPRequestHandler):
    behaviour: ClassVar[Behaviour]

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self.behaviour.started()
        try:
            self._serve_one()
        finally:
            self.behaviour.finished()

    def _serve_one(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
        self.behaviour.requests.append(recorded)
        if self.behaviour.delay:
            time.sleep(self.behaviour.delay)  # a provider that takes its time: under test
        try:
            if self.behaviour.outage is not None:
                raise Answer(self.behaviour.outage, self.outage_body(self.behaviour.outage))
            status, answer = self.handle_request(recorded)
        except Answer as exc:
            status, answer = exc.status, exc.body
        payload = b"" if status == 204 else json.dumps(answer).encode()  # 204 has no body
        try:
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
            pass

    def handle_request(self, request: Recorded) -> tuple[int, Any]:
        raise NotImplementedError

    def outage_body(self, status: int) -> Any:
        return {"message": "Service Unavailable", "status": status}


@contextmanager
def serving(handler: type[StandInHandler]) -> Iterator[str]:
    """Run ``handler`` on a free port; yields the base URL."""
    server = ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=handler.__name__, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
