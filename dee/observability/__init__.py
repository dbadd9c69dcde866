"""Observability of DEE's processes: Prometheus metrics, JSON logs, tracing.

Boundary: this package configures the process (the Temporal runtime's telemetry, the
``logging`` handlers, the tracing interceptor) and keeps the worker's one periodic
metric (FAILED runs waiting for an operator). What is counted is counted where it
happens: sends and policy decisions in ``activities.metrics``, runs entering a status in
``workflows.run_details``, event-ingest latency in ``dee.events.ingest``. The metric
names, all of them, are ``DEE_METRICS`` (docs/observability.md).
"""

from __future__ import annotations

from dee.observability.logs import JsonFormatter, configure_logging
from dee.observability.metrics import (
    DEE_METRICS,
    EVENT_INGEST,
    FAILED_WAITING,
    FailedRunsGauge,
    record_ingest,
    telemetry_runtime,
)
from dee.observability.process import observed_process
from dee.observability.tracing import Tracing, TracingUnavailable, tracing_for

__all__ = [
    "DEE_METRICS",
    "EVENT_INGEST",
    "FAILED_WAITING",
    "FailedRunsGauge",
    "JsonFormatter",
    "Tracing",
    "TracingUnavailable",
    "configure_logging",
    "observed_process",
    "record_ingest",
    "telemetry_runtime",
    "tracing_for",
]
