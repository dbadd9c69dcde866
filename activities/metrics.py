"""What the activities count: sends, policy decisions, audit persist latency, and the
context their log lines carry.

Recorded through ``activity.metric_meter()``: the worker's runtime exports them on its
Prometheus endpoint (``dee.observability``), and a runtime without metrics makes every
call here a no-op. Labels are bounded sets (channel, provider, outcome, policy name,
decision), never a run, a contact or a reason: a label per run would grow the scrape
without bound, and a reason can quote an address.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Final, TypeVar

from temporalio import activity

SENDS: Final = "dee_sends_total"
POLICY_DECISIONS: Final = "dee_policy_decisions_total"
AUDIT_PERSIST: Final = "dee_audit_persist_seconds"
ACTIVITY_RETRIES: Final = "dee_activity_retries_total"

# What the current activity works on: the JSON log lines read it (dee.observability.logs).
LOG_CONTEXT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "dee_log_context", default=None
)
log = logging.getLogger("dee.activities")
T = TypeVar("T")


def _in_activity() -> bool:
    return activity.in_activity()


def count_send(channel: str, provider: str, outcome: str) -> None:
    if _in_activity():
        meter = activity.metric_meter()
        counter = meter.create_counter(SENDS, "DEE sends by channel, provider and outcome")
        counter.add(1, {"channel": channel, "provider": provider, "outcome": outcome})


def count_policy(policy: str, decision: str) -> None:
    if _in_activity():
        meter = activity.metric_meter()
        counter = meter.create_counter(POLICY_DECISIONS, "policy gate decisions")
        counter.add(1, {"policy": policy, "decision": decision})


async def timed_persist(persist: Awaitable[T]) -> T:
    """Await an audit persist and record how long it took (failed attempts too)."""
    start = time.perf_counter()
    try:
        return await persist
    finally:
        if _in_activity():
            meter = activity.metric_meter()
            hist = meter.create_histogram_float(
                AUDIT_PERSIST, "audit batch persist latency", unit="s"
            )
            hist.record(time.perf_counter() - start)


@asynccontextmanager
async def logged(run_id: str, step_id: str | None, tenant: str) -> AsyncIterator[None]:
    """Log lines inside carry the run, step and tenant; a retried attempt is logged and
    counted (a retry is otherwise invisible until the run's history is read)."""
    token = LOG_CONTEXT.set({"run_id": run_id, "step": step_id or "", "tenant": tenant})
    try:
        if _in_activity():
            info = activity.info()
            if info.attempt > 1:
                log.warning("activity %s attempt %d (retry)", info.activity_type, info.attempt)
                meter = activity.metric_meter()
                counter = meter.create_counter(
                    ACTIVITY_RETRIES, "activity attempts after the first"
                )
                counter.add(1, {"activity": info.activity_type})
        yield
    finally:
        LOG_CONTEXT.reset(token)


def reason_code(reason: str | None) -> str:
    """The code before a reason's first colon: what a log line may say of a failure
    (the rest can quote a provider's message, and so an address)."""
    if not reason:
        return ""
    return reason.split(":", 1)[0][:80]


__all__ = [
    "ACTIVITY_RETRIES",
    "AUDIT_PERSIST",
    "LOG_CONTEXT",
    "POLICY_DECISIONS",
    "SENDS",
    "count_policy",
    "count_send",
    "logged",
    "reason_code",
    "timed_persist",
]
