"""A real SMTP server (aiosmtpd) for the channel tests, plus ports that misbehave.

The server runs in aiosmtpd's own thread and loop, as a separate mail system would.
Recipients whose local part names a behaviour make the server refuse them, so one
server covers the happy path and the refusal paths.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.integration.mailsink import HOST, SmtpServer, running_mail_sink


@pytest.fixture(scope="module")
def _smtp_controller() -> Iterator[SmtpServer]:
    with running_mail_sink() as server:
        yield server


@pytest.fixture
def smtp_server(_smtp_controller: SmtpServer) -> SmtpServer:
    """The running server, with no mail received yet by this test."""
    _smtp_controller.handler.received.clear()
    return _smtp_controller


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]
