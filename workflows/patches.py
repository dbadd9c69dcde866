"""The ``workflow.patched`` ids of ``PlanRunWorkflow``: each marks a change of behaviour
that histories recorded before it must replay without (docs/replay.md)."""

from __future__ import annotations

# The patch under which entries are staged until committed, sends are ledgered and
# retried, and a run's last entries are written by a regular activity.
DURABLE = "durable-audit-and-send-ledger"
# The patch under which a reply the receiver marked ``fromContact: false`` is not the
# contact's reply (``hasReply``). Asked lazily, when a run first meets such a reply, so
# runs that never do carry no marker; a history recorded before it (where an event
# could carry that flag through the API) replays with every reply counted, as then.
REPLY_SENDERS = "reply-sender-check"
# The patch under which branch conditions evaluate left to right and within the
# run-time cost limit (docs/conditions.md). Asked only when a condition fails under
# those rules (``MachineConfig.conditions_today``), so a run records it only then.
CONDITION_RULES = "conditions-left-to-right-and-cost-limited"
# The patch under which a raw ``ingest_event`` signal past the event limits (the update
# path refuses it in its validator; a signal cannot be refused) is recorded as an
# ``event.refused`` event with the reasons instead of its values, which the audit's
# columns cannot hold (a 300-character step id once stalled every later audit write).
# Asked only when such a signal arrives.
EVENT_LIMITS = "signalled-events-within-limits"
REFUSED_EVENT = "event.refused"
# The patch under which a run whose input names no CEL implementation (``RunInput.cel``
# None: a new start) evaluates its conditions on Google's CEL (issue 23) and records
# it in its start entry; a history recorded before evaluated them on the old one.
# Asked once, at admission, and only when the input names none (a re-execution or a
# run continued as new carries the implementation it was decided by).
GOOGLE_CEL = "conditions-on-google-cel"

__all__ = [
    "CONDITION_RULES",
    "DURABLE",
    "EVENT_LIMITS",
    "GOOGLE_CEL",
    "REFUSED_EVENT",
    "REPLY_SENDERS",
]
