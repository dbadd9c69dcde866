"""Setting a DEE process up to be observed: its log handler, its metrics endpoint."""

from __future__ import annotations

import logging

from temporalio.runtime import Runtime

from dee.config import EngineConfig
from dee.errors import EngineError
from dee.observability.logs import configure_logging
from dee.observability.metrics import telemetry_runtime


def observed_process(config: EngineConfig) -> logging.Logger:
    """Configure logging, then make the metrics runtime the process's default, so every
    client connected after this exports on ``observability.metricsAddress``.

    Returns the ``dee`` logger. Raises ``EngineError`` naming the address when the
    endpoint cannot be served (the port is taken, the host is not local).
    """
    obs = config.observability
    configure_logging(obs)
    try:
        runtime = telemetry_runtime(obs)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(
            [f"observability.metricsAddress {obs.metrics_address}: cannot serve metrics ({exc})"]
        ) from None
    if runtime is not None:
        Runtime.set_default(runtime, error_if_already_set=False)
    return logging.getLogger("dee")


__all__ = ["observed_process"]
