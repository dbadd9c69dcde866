"""Hostile templates in real runs (issue 18, item 6): what can be refused is refused when the
plan is validated, naming plan, step, field and template; a render that runs away or floods
fails its run with the limit named, sends nothing, and leaves the other runs going."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import EngineConfig, TemplatesConfig
from dee.engine import Engine
from dee.errors import EngineError
from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.mailsink import SmtpServer

ROOT = Path(__file__).resolve().parents[3]
VARS = {"product": "DEE", "sender_name": "Grace"}
# The reproduction: within the range cap, and 22 s of rendering without a deadline.
RUNAWAY = "{% for x in range(20000) %}{% for y in range(20000) %}{% endfor %}{% endfor %}"


@pytest.fixture
def config(config: EngineConfig, tmp_path: Path) -> EngineConfig:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "email" / "tmpl_voice_in_disguise.txt.j2").write_text(
        "{% extends 'voice/script_follow_up.txt.j2' %}", encoding="utf-8"
    )
    # Low limits keep the suite fast; the range cap is the default's double so that
    # the reproduction passes validation and only the deadline can stop it.
    limits = TemplatesConfig(render_seconds=0.5, max_range=20_000)
    return config.model_copy(update={"templates_dir": templates, "templates": limits})


def one_email(plan_id: str, subject: str, template_id: str = "tmpl_intro") -> ExecutionPlan:
    return ExecutionPlan(
        id=plan_id,
        version=1,
        name=plan_id,
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="mail", template_id=template_id, subject=subject),
            steps.end(id="done", outcome="sent"),
        ),
    )


def contact(name: str) -> dict[str, str]:
    return {
        "id": f"c-{name}",
        "email": f"{name}@example.com",
        "first_name": name.title(),
        "company": "Analytical",
    }


async def test_a_runaway_subject_fails_its_run_while_another_run_is_sent(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    runaway = await engine.execute(
        one_email("runaway", RUNAWAY), contact=contact("ada"), variables=VARS
    )
    other = await engine.execute(
        one_email("fine", "Hi {{ product }}"), contact=contact("bob"), variables=VARS
    )

    await env.sleep(timedelta(minutes=1))

    failed = await engine.get_run(runaway.run_id)
    assert (failed.status, failed.current_step) == ("FAILED", "mail")
    assert failed.failure is not None
    assert failed.failure["reason"] == (
        "template_limit: template 'tmpl_intro': rendering ran past the limit of 0.5 s "
        "and was stopped (templates.renderSeconds)"
    )
    fine = await engine.get_run(other.run_id)
    assert fine.status == "COMPLETED", fine.failure
    [message] = [
        email.message_from_bytes(m.original_content, policy=email.policy.default)  # type: ignore[misc]
        for m in mail.received
    ]
    assert (message["To"], message["Subject"]) == ("bob@example.com", "Hi DEE")


async def test_a_100_mb_subject_fails_the_run_and_sends_nothing(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run = await engine.execute(
        one_email("flood", "{{ 'x' * 10**8 }}"), contact=contact("ada"), variables=VARS
    )

    await env.sleep(timedelta(minutes=1))

    failed = await engine.get_run(run.run_id)
    assert failed.status == "FAILED" and failed.failure is not None
    reason = failed.failure["reason"]
    assert reason.startswith("template_limit: template 'tmpl_intro': '*' would build a value")
    assert "(templates.maxOutputChars)" in reason
    timeline = await engine.get_timeline(run.run_id)
    sent = next(e for e in timeline if e.action == "send_email")
    assert sent.outcome == "failed" and "maxOutputChars" in str(sent.detail)
    assert mail.received == []


async def test_a_voice_script_dressed_as_an_email_is_refused_before_any_run(
    engine: Engine,
) -> None:
    subject_extends = one_email("disguise", "{% extends 'voice/vm_follow_up.txt.j2' %}")
    file_extends = one_email("disguise-file", "Hi", template_id="tmpl_voice_in_disguise")

    with pytest.raises(EngineError) as by_subject:
        await engine.execute(subject_extends, contact=contact("ada"), variables=VARS)
    with pytest.raises(EngineError) as by_file:
        await engine.execute(file_extends, contact=contact("ada"), variables=VARS)

    assert list(by_subject.value.lines) == [
        "disguise: step 'mail': subject: the subject cannot be used: line 1: "
        "'voice/vm_follow_up.txt.j2' is outside email/: email templates may only use "
        "templates under email/"
    ]
    assert list(by_file.value.lines) == [
        "disguise-file: step 'mail': templateId: template 'tmpl_voice_in_disguise' cannot "
        "be used: email/tmpl_voice_in_disguise.txt.j2 line 1: 'voice/script_follow_up.txt.j2' "
        "is outside email/: email templates may only use templates under email/"
    ]
    assert await engine.list_runs() == []
