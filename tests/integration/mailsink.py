"""A real SMTP server (aiosmtpd) that collects what it accepts, shared by integration tests.

The server runs in aiosmtpd's own thread and loop, as a separate mail system would.
Recipients whose local part names a behaviour make the server refuse them, so one
server covers the happy path and the refusal paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dee.devserver import free_port

HOST = "127.0.0.1"
SLOW_SECONDS = 2.0


class CollectingHandler:
    """Keeps every accepted envelope; ``nobody@``, ``busy@`` and ``spamtrap@`` are refused,
    ``slow@`` is accepted after ``SLOW_SECONDS``."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        local = address.split("@", 1)[0]
        if local == "nobody":
            return "550 No such user"
        if local == "busy":
            return "451 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if any(rcpt.startswith("spamtrap@") for rcpt in envelope.rcpt_tos):
            return "554 Message rejected as spam"
        if any(rcpt.startswith("slow@") for rcpt in envelope.rcpt_tos):
            await asyncio.sleep(SLOW_SECONDS)  # a provider that takes its time
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: CollectingHandler = field(repr=False)

    @property
    def received(self) -> list[Envelope]:
        return self.handler.received


@contextmanager
def running_mail_sink() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback for the duration of the block."""
    handler = CollectingHandler()
    # aiosmtpd's Controller probes its own port after starting, so it cannot be given
    # port 0: take one the kernel just handed out.
    controller = Controller(handler, hostname=HOST, port=free_port())
    controller.start()
    try:
        yield SmtpServer(HOST, controller.port, handler)
    finally:
        controller.stop()
