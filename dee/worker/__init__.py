"""The worker: everything a ``dee worker`` process wires together, in one package.

``worker_for`` builds a configured Temporal ``Worker`` from an ``EngineConfig``: the
database and its stores, the policy gate (``policy_config``), the channel adapters
(``dee.channels``), the template renderer, the activities and ``PlanRunWorkflow`` in
DEE's sandbox (``dee.sandbox``). Only the worker imports this package, so no other
``dee`` command pays for the channel adapters or Temporal's worker.
"""

from __future__ import annotations

from dee.worker.policy_config import policy_config, rules_config
from dee.worker.wiring import message_domain, template_renderer, worker_for

__all__ = ["message_domain", "policy_config", "rules_config", "template_renderer", "worker_for"]
