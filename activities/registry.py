"""The worker's activities, bound to their dependencies under the contract names.

Each wrapper also counts what its activity decided and sets the log context (run, step,
tenant) of its lines (``activities.metrics``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities import contracts as c
from activities import metrics as m
from activities.bookkeeping import Bookkeeper
from activities.policy import PolicyChecker
from activities.sending import Sender


def build_activities(
    bookkeeper: Bookkeeper, checker: PolicyChecker, sender: Sender
) -> list[Callable[..., Any]]:
    """One callable per activity name in ``activities.contracts``."""

    @activity.defn(name=c.APPEND_AUDIT)
    async def append_audit(batch: c.AuditBatch) -> c.AuditAck:
        run = batch.run
        async with m.logged(run.run_id, run.step_id, run.tenant):
            return c.AuditAck(await m.timed_persist(bookkeeper.persist(batch)))

    @activity.defn(name=c.CHECK_POLICIES)
    async def check_policies(req: c.PolicyRequest) -> c.PolicyResponse:
        async with m.logged(req.run_id, req.step_id, req.tenant):
            resp = await checker.check(req)
            policy = resp.policy or "none"
            m.count_policy(policy, resp.decision)
            if resp.decision != "allow":  # the reason stays in the audit: it may name the contact
                m.log.warning("policy %s: %s on %s", policy, resp.decision, req.channel)
            return resp

    @activity.defn(name=c.SEND_EMAIL)
    async def send_email(req: c.EmailRequest) -> c.SendResponse:
        async with m.logged(req.run_id, req.step_id, req.tenant):
            return _counted("email", sender.provider("email"), await sender.send_email(req))

    @activity.defn(name=c.SEND_VOICE)
    async def send_voice(req: c.VoiceRequest) -> c.SendResponse:
        async with m.logged(req.run_id, req.step_id, req.tenant):
            return _counted("voice", sender.provider("voice"), await sender.send_voice(req))

    return [append_audit, check_policies, send_email, send_voice]


def _counted(channel: str, provider: str, resp: c.SendResponse) -> c.SendResponse:
    m.count_send(channel, provider, resp.status)
    if resp.status == "delivered":
        m.log.info("%s send delivered by %s", channel, provider)
    else:
        m.log.warning(
            "%s send %s by %s: %s", channel, resp.status, provider, m.reason_code(resp.reason)
        )
    return resp
