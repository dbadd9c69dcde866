"""Setting a DEE process up to be observed: its log handler, its metrics endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.runtime import Runtime

from dee.config import EngineConfig
from dee.errors import EngineError
from dee.observability.logs import configure_logging
from dee.observability.metrics import telemetry_runtime


@contextmanager
def observed_process(config: EngineConfig, *, logs: bool = True) -> Iterator[logging.Logger]:
    """Within the block: the root logger in ``config``'s format and level (with ``logs``),
    and the metrics runtime as the process's default, so every client connected in it
    exports on ``observability.metricsAddress``. Yields the ``dee`` logger.

    The root logger is put back on exit: a command run in-process (the tests, an
    embedding application) leaves no handler behind writing to a stream it no longer owns.

    Raises:
        EngineError: the endpoint cannot be served (the port is taken, the host is not
            local), naming the address.
    """
    obs = config.observability
    try:
        runtime = telemetry_runtime(obs)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(
            [f"observability.metricsAddress {obs.metrics_address}: cannot serve metrics ({exc})"]
        ) from None
    if runtime is not None:
        Runtime.set_default(runtime, error_if_already_set=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    if logs:
        configure_logging(obs)
    try:
        yield logging.getLogger("dee")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


__all__ = ["observed_process"]
