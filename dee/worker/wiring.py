"""Wiring a worker: configuration → stores, policy gate, channels, activities, Worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import parseaddr

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from activities.bookkeeping import Bookkeeper
from activities.policy import PolicyChecker
from activities.registry import build_activities
from activities.sending import Sender
from adapters.policy import PolicyAdmin, PolicyGate
from adapters.storage import Database, RunStore, SendLedger, load_signing_key, open_database
from adapters.template_limits import RenderLimits
from adapters.template_pool import TemplateRenderer
from adapters.tracking import EmailTracking
from dee.channels import open_channels
from dee.config import EngineConfig
from dee.observability import FailedRunsGauge, tracing_for
from dee.privacy_keys import privacy_for
from dee.sandbox import workflow_runner
from dee.worker.policy_config import policy_config, rules_config
from workflows.plan_run import PlanRunWorkflow


def template_renderer(config: EngineConfig) -> TemplateRenderer:
    """The render processes for ``config``'s templates, under its ``templates`` limits."""
    t = config.templates
    limits = RenderLimits(
        render_seconds=t.render_seconds,
        max_output_chars=t.max_output_chars,
        max_subject_chars=t.max_subject_chars,
        max_range=t.max_range,
        memory_mb=t.memory_mb,
    )
    return TemplateRenderer(config.templates_dir, limits, processes=t.processes)


def message_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def failed_runs_gauge(
    config: EngineConfig, client: Client, db: Database
) -> asyncio.Task[None] | None:
    """The task re-counting FAILED runs for the metrics endpoint; none when metrics are off."""
    if config.observability.metrics_address is None:
        return None
    runtime = client.service_client.config.runtime or Runtime.default()
    every = config.observability.failed_refresh_seconds
    return asyncio.create_task(FailedRunsGauge(runtime, RunStore(db), every).run())


@asynccontextmanager
async def worker_for(
    config: EngineConfig, client: Client, *, database: Database | None = None
) -> AsyncIterator[Worker]:
    """A configured (not yet running) worker; closes what it opened on exit."""
    own = database is None
    gauge: asyncio.Task[None] | None = None
    # Tracing configured without its packages is refused before anything opens.
    tracing = tracing_for(config.observability)
    # Channels first: a provider misconfiguration is refused before anything opens.
    async with open_channels(config) as channels:
        db = database or await open_database(config.database_url)
        renderer = template_renderer(config)
        renderer.prestart()
        try:
            email_cfg = config.channels.email
            key_file, generate = config.audit.signing_key(config.data_dir)
            books = Bookkeeper(db, signer=load_signing_key(key_file, create=generate))
            privacy = privacy_for(config, db)
            sender = Sender(
                books,
                renderer,
                channels.email,
                channels.voice,
                ledger=SendLedger(db),
                sender_address=email_cfg.sender,
                message_domain=message_domain(email_cfg.sender),
                settle=PolicyAdmin(db).settle_budget,
                webhooks_url=config.webhooks.public_url,
                tracking=await EmailTracking.create(
                    config.webhooks.public_url, config.webhooks.secret, db
                ),
                pseudonyms=privacy.pseudonyms,
            )
            gate = PolicyGate(
                db, policy_config(config), pseudonyms=privacy.pseudonyms, rules=rules_config(config)
            )
            checker = PolicyChecker(books, gate, privacy)
            gauge = failed_runs_gauge(config, client, db)
            yield Worker(
                client,
                task_queue=config.task_queue,
                workflows=[PlanRunWorkflow],
                activities=build_activities(books, checker, sender),
                max_task_queue_activities_per_second=config.activities_per_second,
                # The interceptor's workflow half imports OpenTelemetry inside the sandbox.
                workflow_runner=workflow_runner(
                    *(("opentelemetry",) if tracing.interceptors else ())
                ),
                interceptors=tracing.interceptors,
            )
        finally:
            if gauge is not None:
                gauge.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await gauge
            tracing.shutdown()
            await renderer.aclose()
            if own:
                await db.dispose()


__all__ = ["failed_runs_gauge", "message_domain", "template_renderer", "worker_for"]
