"""Regenerate the Replayer corpus in ``tests/histories/`` from real runs.

Every scenario runs the real ``PlanRunWorkflow`` on Temporal's time-skipping test
server with in-memory activity fakes (no provider, no database); the
continue-as-new scenario runs on the dev server with a low
``limit.historyCount.suggestContinueAsNew`` and writes one file per run of the
chain. Files are what ``fetch_history().to_json()`` writes, with worker and
client identities (host names) replaced by a fixed string.

    python -m scripts.make_histories [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities import contracts as c
from dee.devserver import dev_server
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.replay.pre_flip import ZOE, ZOE_PLAN
from tests.integration.replay.recording import (
    DAY,
    Scenario,
    answered,
    event,
    operator,
    record,
    sleep,
)
from tests.integration.runtime.stop_plans import (
    FRIDAY_EVENING_MS,
    NEW_YORK,
    await_plan,
    window_plan,
)
from tests.integration.temporal_env import time_skipping_server_path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "histories"
IDENTITY = "dee-make-histories"
DEBTOR = {"id": "d-1", "email": "debtor@example.com", "phone": "+15551230000", "timezone": "UTC"}

SCENARIOS = [
    Scenario(
        "sales-replied",
        actions=[
            sleep(3_600),
            event("o-1", "email.opened", "intro-email"),
            event("r-1", "email.replied", "intro-email", text="Tell me more"),
            sleep(4 * DAY),
        ],
    ),
    Scenario(
        "sales-replied-answered",
        actions=[
            sleep(3_600),
            answered("o-1", "email.opened", "intro-email"),
            answered("r-1", "email.replied", "intro-email", text="Tell me more"),
            sleep(4 * DAY),
        ],
    ),
    # Under the reply-sender-check patch: a reply the receiver found was not from the
    # contact does not take hasReply's branch, so the unopened intro goes cold.
    Scenario(
        "sales-replied-by-another-sender",
        actions=[
            sleep(3_600),
            answered("r-x", "email.replied", "intro-email", text="Who?", fromContact=False),
            sleep(4 * DAY),
        ],
    ),
    Scenario(
        "sales-opened",
        actions=[sleep(3_600), event("o-1", "email.opened", "intro-email"), sleep(4 * DAY)],
    ),
    Scenario("sales-cold", actions=[sleep(5 * DAY)]),
    Scenario(
        "sales-failed-retried",
        fail_sends={"cold-follow-up": "smtp_timeout"},
        actions=[sleep(4 * DAY), operator("retry", reason="provider back"), sleep(DAY)],
    ),
    Scenario(
        "sales-send-unknown-reconciled",
        unknown_sends={"intro-email": "the send's worker stopped before the answer"},
        actions=[sleep(60), operator("retry", reason="asked the provider"), sleep(5 * DAY)],
    ),
    Scenario(
        "sales-send-unknown-marked-sent",
        unknown_sends={"intro-email": "the send's worker stopped before the answer"},
        actions=[
            sleep(60),
            operator("resolve", resolution="mark_sent", reason="found in the relay log"),
            sleep(5 * DAY),
        ],
    ),
    Scenario(
        "sales-paused-resumed",
        actions=[
            sleep(3_600),
            operator("pause", reason="holiday"),
            sleep(4 * DAY),
            operator("resume", reason="back"),
            sleep(DAY),
        ],
    ),
    Scenario("sales-cancelled", actions=[sleep(3_600), operator("cancel", reason="opted out")]),
    Scenario(
        "sales-deferred-calling-hours",
        policy={
            "follow-up-call": c.PolicyResponse(
                "defer", 0, policy="calling_hours", reason="outside 09:00-20:00 in UTC"
            )
        },
        actions=[sleep(5 * DAY)],
    ),
    Scenario(
        "sales-denied-resolved",
        policy={
            "intro-email": c.PolicyResponse(
                "deny", 0, policy="suppression", reason="contact unsubscribed"
            )
        },
        actions=[sleep(60), operator("resolve", resolution="end", target="suppressed")],
    ),
    Scenario(
        "collections-escalated",
        plan="collections-sequence.yaml",
        contact=DEBTOR,
        variables={"invoice_number": "INV-7", "amount_due": 1500},
        actions=[sleep(4 * DAY), event("v-1", "voice.no_answer", "first-call"), sleep(3 * DAY)],
    ),
    Scenario(
        "collections-engaged",
        plan="collections-sequence.yaml",
        contact=DEBTOR,
        variables={"invoice_number": "INV-8", "amount_due": 200},
        actions=[sleep(DAY), event("r-1", "email.replied", "reminder-email"), sleep(3 * DAY)],
    ),
    Scenario("notification-unread", plan="notification.yaml", actions=[sleep(4 * DAY)]),
    # Issue 19. The sales plan's exitOn: a reply during the wait ends the run at once.
    Scenario(
        "sales-exit-replied",
        actions=[
            sleep(3_600),
            answered("r-1", "email.replied", "intro-email", text="Stop, please"),
            sleep(4 * DAY),
        ],
    ),
    # An unsubscribe ends a paused run too (no resume needed).
    Scenario(
        "sales-paused-exit-unsubscribed",
        actions=[
            sleep(3_600),
            operator("pause", reason="holiday"),
            answered("u-1", "email.unsubscribed", "intro-email", source="list-unsubscribe"),
            sleep(4 * DAY),
        ],
    ),
    Scenario(
        "await-reply-clicked",
        plan=await_plan(),
        actions=[sleep(3_600), answered("k-1", "email.clicked", "intro", url="https://e.x")],
    ),
    Scenario("await-reply-timeout", plan=await_plan(), actions=[sleep(4 * DAY)]),
    # A Friday-evening start in New York: the send waits for Monday 09:00 local.
    Scenario(
        "window-deferred-new-york",
        plan=window_plan(),
        contact={"id": "c-1", "timezone": NEW_YORK},
        calendar_origin_ms=FRIDAY_EVENING_MS,
        actions=[sleep(3 * DAY)],
    ),
    # Issue 23: a new run on Google's CEL (the conditions-on-google-cel patch), whose
    # branch takes the other way on the old evaluator (size() of "Zoë").
    Scenario("zoe-google-cel", plan=ZOE_PLAN, contact=dict(ZOE)),
    Scenario(
        "notification-read",
        plan="notification.yaml",
        actions=[sleep(DAY + 60), event("o-1", "email.opened", "notice"), sleep(2 * DAY)],
    ),
]


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: IDENTITY if k == "identity" else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def write(history: WorkflowHistory, name: str) -> Path:
    path = OUT / f"{name}.json"
    data = _scrub(json.loads(history.to_json()))
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


async def time_skipping(selected: set[str] | None) -> None:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    ) as env:
        for scenario in SCENARIOS:
            if selected is None or scenario.name in selected:
                history, _ = await record(env, scenario, workflow_id=scenario.name)
                print(write(history, scenario.name).relative_to(ROOT))


def _short_plan() -> ExecutionPlan:
    return ExecutionPlan(
        id="can-plan",
        version=1,
        name="Two emails, a short wait",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="make-histories"),
        steps=(
            steps.send_email(id="first", template_id="tmpl_intro", subject="Hello {{ product }}"),
            steps.wait(id="pause", duration={"seconds": 20}),
            steps.branch(
                id="check",
                conditions=[
                    {"when": 'events.hasReply("first")', "goto": "done"},
                    {"when": "default", "goto": "second"},
                ],
            ),
            steps.send_email(id="second", template_id="tmpl_cold_follow_up", subject="Again"),
            steps.end(id="done", outcome="finished"),
        ),
    )


async def continue_as_new() -> None:
    """A run that continues as new; one file per run, oldest first."""
    events = [event(f"o-{i}", "email.opened", "first") for i in range(30)]
    scenario = Scenario(
        "continue-as-new",
        plan=_short_plan(),
        actions=[sleep(2), *events, event("r-1", "email.replied", "first"), sleep(25)],
    )
    dynamic = {"limit.historyCount.suggestContinueAsNew": "60"}
    async with dev_server(ui=False, dynamic_config=dynamic) as dev:
        client = await Client.connect(dev.address, identity=IDENTITY)
        env = WorkflowEnvironment.from_client(client)
        latest, _ = await record(env, scenario, workflow_id=scenario.name)
        chain = [latest]
        while True:
            start = chain[0].events[0].workflow_execution_started_event_attributes
            previous = start.continued_execution_run_id
            if not previous:
                break
            handle = client.get_workflow_handle(scenario.name, run_id=previous)
            chain.insert(0, await handle.fetch_history())
    if len(chain) < 2:
        raise SystemExit("the run did not continue as new: raise the number of events")
    for i, history in enumerate(chain, start=1):
        print(write(history, f"continue-as-new-{i}").relative_to(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", help="Scenario names (continue-as-new included).")
    args = parser.parse_args()
    selected = set(args.only) if args.only else None
    OUT.mkdir(parents=True, exist_ok=True)
    asyncio.run(time_skipping(selected))
    if selected is None or "continue-as-new" in selected:
        asyncio.run(continue_as_new())


if __name__ == "__main__":
    main()
