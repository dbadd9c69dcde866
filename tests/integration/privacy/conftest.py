"""The privacy suite runs real runs through the webhook suite's stack: the
time-skipping server, the mail sink, the Twilio stand-in, the engine with its worker
and the receiver under uvicorn (``tests/integration/webhooks/conftest.py``)."""

from tests.integration.webhooks.conftest import config, engine, port, receiver, twilio

__all__ = ["config", "engine", "port", "receiver", "twilio"]
