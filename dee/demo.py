"""``make demo`` / ``dee demo``: the whole engine on embedded defaults.

Starts the Temporal dev server (with its Web UI), a SQLite audit store, a local
aiosmtpd mail sink and a worker; enrolls three contacts in a short-wait variant
of the documents' sales plan; one replies, one opens, one does nothing. The reply
ends Ada's run at once, through the plan's exit rule (``exitOn``): her wait is
cancelled, nothing more is sent to her. The silent one reaches the call, which fails
closed (no voice channel is configured yet), and the demo resolves it as an operator
would. Then it prints each run's outcome, its timeline, and the audit chain
verification — and, with ``--serve``, keeps everything running for inspection in the
Web UI.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

from aiosmtpd.controller import Controller
from rich.console import Console

from adapters.policy import PolicyAdmin
from dee.audit_keys import verifying_keys
from dee.codec_config import CodecConfig
from dee.codec_server import codec_server, server_token
from dee.config import (
    ChannelsConfig,
    EmailConfig,
    EngineConfig,
    PoliciesConfig,
    TemporalConfig,
    WebhooksConfig,
)
from dee.connection import connect
from dee.content import load_registry
from dee.devserver import dev_server, free_port
from dee.documents import load_plan
from dee.engine import Engine, ExecutionRun
from dee.runs.reading import describe_exit
from dee.runs.timeline import timeline_lines
from dee.webhooks import server as webhook_server
from dee.worker import worker_for
from interpreter import ExecutionPlan, ensure_valid
from interpreter.plan import Duration, WaitStep

ROOT = Path(__file__).resolve().parents[1]
WAIT_SECONDS = 4
CONTACTS = [
    {"id": "ada", "email": "ada@example.com", "first_name": "Ada", "company": "Analytical Engines",
     "phone": "+15555550101", "timezone": "Europe/London"},
    {"id": "grace", "email": "grace@example.com", "first_name": "Grace", "company": "Compilers Inc",
     "phone": "+15555550102", "timezone": "America/New_York"},
    {"id": "linus", "email": "linus@example.com", "first_name": "Linus", "company": "Kernels Ltd",
     "phone": "+15555550103", "timezone": "Europe/Helsinki"},
]  # fmt: skip
VARIABLES = {"product": "DEE", "sender_name": "Sam from DEE"}
SENDER = "Sam <sam@example.com>"


class _MailSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        return "250 accepted"


def _short_plan() -> ExecutionPlan:
    plan = load_plan(ROOT / "plans" / "sales-sequence.yaml")
    steps = tuple(
        s.model_copy(update={"duration": Duration(seconds=WAIT_SECONDS)})
        if isinstance(s, WaitStep)
        else s
        for s in plan.steps
    )
    renamed = {"id": "sales-sequence-demo", "name": "Sales sequence (demo waits)", "steps": steps}
    return plan.model_copy(update=renamed)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def _until(engine: Engine, run_id: str, statuses: set[str], seconds: float) -> ExecutionRun:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        run = await engine.get_run(run_id)
        if run.status in statuses or loop.time() > deadline:
            return run
        await asyncio.sleep(0.25)


async def demo(*, serve: bool = False, data_dir: Path = ROOT / "data" / "demo") -> int:
    console = Console()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    sink = _MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    plan = ensure_valid(_short_plan(), registry=load_registry(ROOT / "templates"))
    hooks_port = 8088 if serve and _port_free(8088) else free_port()
    codec_port = 8234 if serve and _port_free(8234) else free_port()
    # The dev server's Web UI has no sign-in to pass a token with, so its codec endpoint
    # carries the (fresh, per-demo) token in its path: see dee.codec_server.
    token, _ = server_token(EngineConfig())
    endpoint = f"http://127.0.0.1:{codec_port}/{token}"
    try:
        async with dev_server(
            ui_port=8233 if serve else None,
            log=data_dir / "temporal.log",
            ui_codec_endpoint=endpoint if serve else None,
        ) as dev:
            config = EngineConfig(
                # The payload codec's key file (codec-keys, 0600) is generated here, beside
                # the database, never in it.
                data_dir=data_dir,
                codec=CodecConfig(server_port=codec_port, server_token=token),
                database=f"sqlite+aiosqlite:///{(data_dir / 'dee.db').as_posix()}",
                templates_dir=ROOT / "templates",
                temporal=TemporalConfig(address=dev.address),
                channels=ChannelsConfig(
                    email=EmailConfig(
                        host="127.0.0.1", port=smtp.port, sender="Sam <sam@example.com>"
                    )
                ),
                policies=PoliciesConfig(hours={"voice": None}),  # the demo runs at any hour
                # No webhooks.secret: the signing key is generated into the demo's fresh
                # database, as on any embedded default, so earlier demos' links stop working.
                webhooks=WebhooksConfig(
                    public_url=f"http://127.0.0.1:{hooks_port}", port=hooks_port
                ),
            )
            client = await connect(config)
            engine = await Engine.connect(config, client=client)
            try:
                async with worker_for(config, client, database=engine.database) as worker, worker:
                    failures = await _drive(engine, plan, console)
                    console.print(f"\nmail sink received {sink.count} message(s)")
                    console.print(
                        f"Temporal Web UI: {dev.ui_url or 'start with --serve to keep it up'}"
                    )
                    if serve:
                        await _serve(engine, console, token)
                    return failures
            finally:
                await engine.close()
    finally:
        smtp.stop()


async def _serve(engine: Engine, console: Console, token: str) -> None:
    """Run the webhook receiver (pixels, clicks, unsubscribe, replies) and the codec
    server the Web UI decodes payloads with, until Ctrl-C."""
    receiver = webhook_server(engine)
    codec = codec_server(engine.config, token)
    console.print(f"webhook receiver: {engine.config.webhooks.public_url}/webhooks/health")
    console.print(
        f"codec server: http://127.0.0.1:{engine.config.codec.server_port} "
        f"(token {token}; the Web UI is configured with it)"
    )
    console.print("serving; Ctrl-C stops everything")
    await asyncio.gather(receiver.serve(), codec.serve())


async def _drive(engine: Engine, plan: ExecutionPlan, console: Console) -> int:
    admin = PolicyAdmin(engine.database)
    for contact in CONTACTS:  # calls need recorded consent
        await admin.grant_consent("default", contact["id"], "voice", "demo-signup-form", "v1")
    runs = {c["id"]: await engine.execute(plan, contact=c, variables=VARIABLES) for c in CONTACTS}
    for run in runs.values():
        await _until(engine, run.run_id, {"WAITING"}, 30)
    reply = {"snippet": "Yes, let's talk"}
    await engine.ingest_event(
        type="email.replied", contact_id="ada", step_id="intro-email", data=reply, event_id="r-ada"
    )
    failures = _stopped_at_once(await engine.get_run(runs["ada"].run_id), console)
    await engine.ingest_event(
        type="email.opened", contact_id="grace", step_id="intro-email", event_id="o-grace"
    )
    linus = await _until(engine, runs["linus"].run_id, {"FAILED", "COMPLETED"}, 60)
    if linus.status == "FAILED":
        why = (linus.failure or {}).get("reason")
        console.print(f"[yellow]linus failed closed at {linus.current_step}: {why}[/yellow]")
        console.print("an operator resolves it (audited):")
        await engine.resolve_run(
            linus.run_id,
            resolution="end",
            target="call-unavailable",
            by="demo-operator",
            reason="no voice provider in the demo",
        )
    for contact_id, run in runs.items():
        final = await _until(engine, run.run_id, {"COMPLETED", "CANCELED"}, 60)
        verified = await engine.audit.verify(run.run_id, keys=verifying_keys(engine.config))
        console.rule(f"{contact_id}: {final.status} ({final.outcome or '-'})  {run.run_id}")
        if final.exit_rule:
            console.print(f"ended by {describe_exit(final.exit_rule)}", highlight=False)
        for line in timeline_lines(await engine.get_timeline(run.run_id)):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"audit verify: {verified.describe()}")
        failures += int(final.status != "COMPLETED" or not verified.ok)
    return failures


def _stopped_at_once(ada: ExecutionRun, console: Console) -> int:
    """Say whether Ada's reply ended her run as soon as it was ingested (1: it did not).

    ``ingest_event`` answers once the run has decided on the event, so her run is
    read right after it: no wait of hers has ended yet.
    """
    rule = ada.exit_rule or {}
    if (ada.status, ada.outcome) == ("COMPLETED", "replied") and rule:
        console.print(
            f"Ada replied → her run stopped at once (exit rule: {rule.get('ruleEvent')}), "
            f"COMPLETED {ada.outcome} at tick {rule.get('tick')}: her wait is cancelled, "
            "nothing more is sent to her",
            highlight=False,
        )
        return 0
    console.print(
        f"[red]Ada replied, but her run is {ada.status} ({ada.outcome or '-'}): "
        "the plan's exit rule did not stop it[/red]"
    )
    return 1


def main(serve: bool = False) -> int:
    return asyncio.run(demo(serve=serve))


if __name__ == "__main__":
    raise SystemExit(main())
