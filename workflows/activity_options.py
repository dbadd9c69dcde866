"""How ``PlanRunWorkflow`` runs its activities: timeouts and retry policies, each with
the reason it is what it is."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# A send is attempted exactly once: fail-closed, never a silent retry.
SEND_RETRY = RetryPolicy(maximum_attempts=1)
# Since ``DURABLE``: an attempt may be retried, because the send ledger makes a retry
# safe. A retry that finds an earlier attempt without an outcome reports ``unknown``
# and sends nothing; one that finds no attempt (the worker died before the provider
# call, the audit store was down) sends. The heartbeat makes a dead worker's send
# surface within seconds instead of at the start-to-close timeout.
LEDGERED_SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
SEND_HEARTBEAT = timedelta(seconds=5)
# A send that waits longer than this for a worker (a rate-limited or crowded queue) is
# not attempted: its policy decision (calling hours, the day's counter) would be stale.
SEND_SCHEDULE_TIMEOUT = timedelta(minutes=5)
# The local-activity flush gives up after a few quick tries and hands its batch to a
# regular activity, which retries for as long as it takes: an audit store that is down
# shows as a pending activity with its last failure, never as a dead run.
FLUSH_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
# Policy checks and audit writes are idempotent (keyed by run, step, visit / run, seq),
# so retrying them after a crash or an outage repeats nothing; a run whose audit
# store is down waits here — visibly, as a pending activity — rather than acting.
IDEMPOTENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)
)
ACTIVITY_TIMEOUT = timedelta(seconds=60)

__all__ = [
    "ACTIVITY_TIMEOUT",
    "FLUSH_RETRY",
    "IDEMPOTENT_RETRY",
    "LEDGERED_SEND_RETRY",
    "SEND_HEARTBEAT",
    "SEND_RETRY",
    "SEND_SCHEDULE_TIMEOUT",
]
