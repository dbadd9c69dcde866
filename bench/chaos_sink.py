"""A real SMTP server (aiosmtpd) that holds each message a moment before answering.

The hold is the window a crash hits in production: the provider has the message, the
sender does not yet know. Every accepted message is kept with its Message-ID and the
run and step headers DEE sets, so a chaos run can count duplicates and match each
delivered message with what the run recorded. ``holding`` is set while a message sits
in the window, for a chaos loop that wants to kill a worker exactly then.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dee.devserver import free_port


@dataclass(frozen=True)
class Accepted:
    message_id: str
    run_id: str
    step_id: str


@dataclass
class HoldingSink:
    """Accepts every message after ``hold_seconds``; thread-safe to read."""

    hold_seconds: float
    accepted: list[Accepted] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_window: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())
        with self._lock:
            self._in_window += 1
            self.holding.set()
        try:
            await asyncio.sleep(self.hold_seconds)
            with self._lock:  # accepted: the provider has it, whatever happens next
                self.accepted.append(
                    Accepted(
                        str(parsed.get("Message-ID", "")),
                        str(parsed.get("X-DEE-Run", "")),
                        str(parsed.get("X-DEE-Step", "")),
                    )
                )
        finally:
            with self._lock:
                self._in_window -= 1
                if self._in_window == 0:
                    self.holding.clear()
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Accepted]:
        with self._lock:
            return list(self.accepted)

    def duplicates(self) -> dict[str, int]:
        """Message-IDs accepted more than once, with their counts."""
        counts = Counter(a.message_id for a in self.snapshot())
        return {mid: n for mid, n in counts.items() if n > 1}


@contextmanager
def holding_sink(hold_seconds: float) -> Iterator[tuple[HoldingSink, int]]:
    """The sink on a loopback port for the duration of the block: ``(sink, port)``."""
    sink = HoldingSink(hold_seconds)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


def accepted_by_run(accepted: list[Accepted]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for a in accepted:
        out.setdefault(a.run_id, []).append(a)
    return out


__all__ = ["Accepted", "HoldingSink", "accepted_by_run", "holding_sink"]
