"""The Temporal runtime that exports metrics, and DEE's metrics recorded outside activities.

One Prometheus endpoint per process: the SDK's runtime metrics (``temporal_*``) and
DEE's own (``dee_*``) are both created on the runtime's meter, so one scrape has both
and no second metrics library is needed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from activities.metrics import ACTIVITY_RETRIES, AUDIT_PERSIST, POLICY_DECISIONS, SENDS
from adapters.storage import RunStore, StorageError
from dee.config_observability import ObservabilityConfig
from workflows.run_details import RUNS_ENTERED

EVENT_INGEST: Final = "dee_event_ingest_seconds"
FAILED_WAITING: Final = "dee_runs_failed_waiting"
# Every metric DEE itself exports (the dashboard test checks its queries against these).
DEE_METRICS: Final = (
    SENDS,
    POLICY_DECISIONS,
    RUNS_ENTERED,
    FAILED_WAITING,
    EVENT_INGEST,
    AUDIT_PERSIST,
    ACTIVITY_RETRIES,
)
# Seconds: persists take milliseconds, an ingest waits for the run's audit commit.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
log = logging.getLogger("dee.observability")


def telemetry_runtime(config: ObservabilityConfig) -> Runtime | None:
    """A runtime serving Prometheus on ``metrics_address`` and, with JSON logs, passing
    the SDK core's own log lines to Python's ``logging`` (else the core prints them to
    stderr in its own text format); None when neither is asked for.

    Raises:
        ValueError: the address cannot be bound (in use, not local).
    """
    json_logs = config.log_format == "json"
    if config.metrics_address is None and not json_logs:
        return None
    prometheus = None
    if config.metrics_address is not None:
        prometheus = PrometheusConfig(
            bind_address=config.metrics_address,
            durations_as_seconds=True,
            histogram_bucket_overrides={EVENT_INGEST: _BUCKETS, AUDIT_PERSIST: _BUCKETS},
        )
    logs = LoggingConfig.default
    if json_logs:
        core = logging.getLogger("temporalio.core")
        logs = LoggingConfig(filter=logs.filter, forwarding=LogForwardingConfig(logger=core))
    return Runtime(telemetry=TelemetryConfig(logging=logs, metrics=prometheus))


def record_ingest(client: Client, seconds: float, outcome: str) -> None:
    """Record one event's ingest latency on the meter of ``client``'s runtime."""
    runtime = client.service_client.config.runtime or Runtime.default()
    hist = runtime.metric_meter.create_histogram_float(
        EVENT_INGEST, "event ingest latency, until the runs took it", unit="s"
    )
    hist.record(seconds, {"outcome": outcome})


class FailedRunsGauge:
    """``dee_runs_failed_waiting{tenant}``: FAILED runs in the run table, re-counted every
    ``every`` seconds.

    It reads the shared database, so every worker reports the same deployment-wide
    number (take ``max``, not ``sum``, across workers); it lags by at most ``every``.
    """

    def __init__(self, runtime: Runtime, runs: RunStore, every: float) -> None:
        self._gauge = runtime.metric_meter.create_gauge(
            FAILED_WAITING, "FAILED runs waiting for an operator (whole deployment)"
        )
        self._runs = runs
        self._every = every
        self._seen: set[str] = set()

    async def refresh(self) -> None:
        counts = await self._runs.count_by_tenant("FAILED")
        for tenant in self._seen - counts.keys():  # a tenant's last one was resolved
            self._gauge.set(0, {"tenant": tenant})
        for tenant, n in counts.items():
            self._gauge.set(n, {"tenant": tenant})
        self._seen |= counts.keys()

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except StorageError as exc:  # the gauge keeps its last value; the worker goes on
                log.warning("FAILED-runs gauge not refreshed: %s", type(exc).__name__)
            await asyncio.sleep(self._every)


__all__ = [
    "DEE_METRICS",
    "EVENT_INGEST",
    "FAILED_WAITING",
    "FailedRunsGauge",
    "record_ingest",
    "telemetry_runtime",
]
