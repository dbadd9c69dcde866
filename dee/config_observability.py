"""The ``observability`` settings section of ``EngineConfig`` (``dee.config``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dee.config_sections import _Section

_LISTEN = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$"


class ObservabilityConfig(_Section):
    """Metrics, logs and tracing of a DEE process (docs/observability.md).

    ``metrics_address`` (``host:port``) turns on the Prometheus endpoint; unset, no port
    is opened: two workers on one host would otherwise clash on a fixed default, and a
    listening socket nobody asked for is a surprise. ``otlp_endpoint`` turns on tracing
    (needs the ``tracing`` extra). ``failed_refresh_seconds``: how often the worker
    re-counts the FAILED runs waiting for an operator.
    """

    metrics_address: str | None = Field(default=None, pattern=_LISTEN)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    otlp_endpoint: str | None = None
    failed_refresh_seconds: float = Field(default=30.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _port_in_range(self) -> ObservabilityConfig:
        if self.metrics_address is not None:
            port = int(self.metrics_address.rsplit(":", 1)[1])
            if not 1 <= port <= 65535:
                raise ValueError(f"metricsAddress port {port} is not between 1 and 65535")
        return self
