"""Tracing: the SDK's OpenTelemetry interceptor, when an OTLP endpoint is configured.

OpenTelemetry is an optional extra (``pip install 'dee[tracing]'``): a worker with no
endpoint configured never imports it, and one with an endpoint but without the packages
is refused at start-up with the command that installs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dee.config_observability import ObservabilityConfig
from dee.errors import EngineError


class TracingUnavailable(EngineError):
    """An OTLP endpoint is configured but the OpenTelemetry packages are not installed."""


@dataclass(frozen=True)
class Tracing:
    """The worker's interceptors and the span pipeline behind them."""

    interceptors: list[Any]
    provider: Any = None  # opentelemetry's TracerProvider; None when tracing is off

    def shutdown(self) -> None:
        """Export the spans still buffered and stop (at the worker's exit)."""
        if self.provider is not None:
            self.provider.shutdown()


def tracing_for(config: ObservabilityConfig) -> Tracing:
    """The SDK's ``TracingInterceptor`` exporting spans over OTLP/HTTP to
    ``otlp_endpoint``, or no interceptor when tracing is off. The provider is the
    worker's own, not the process-wide one, so two workers in one process (tests, the
    demo) each export to their own endpoint.

    Raises:
        TracingUnavailable: the packages are missing.
    """
    if config.otlp_endpoint is None:
        return Tracing([])
    try:
        # Imported only here: most workers trace nothing and need not load OpenTelemetry.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
        from temporalio.contrib.opentelemetry import TracingInterceptor  # noqa: PLC0415
    except ImportError as exc:
        raise TracingUnavailable(
            [
                f"observability.otlpEndpoint is set but OpenTelemetry is not installed "
                f"({exc.name}): pip install 'dee[tracing]', or unset the endpoint"
            ]
        ) from None
    endpoint = config.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": "dee-worker"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    # Runs start from the Engine, the CLI or a receiver, none of which traces: without
    # ``always_create_workflow_spans`` a workflow would make no span of its own. A span
    # made again after a replay may lack its parent (the SDK's caveat).
    tracer = provider.get_tracer("dee")
    return Tracing([TracingInterceptor(tracer, always_create_workflow_spans=True)], provider)


__all__ = ["Tracing", "TracingUnavailable", "tracing_for"]
