"""Plans and message helpers for the webhook tests."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from interpreter import ExecutionPlan, PlanMetadata, steps
from tests.integration.mailsink import SmtpServer

CONTACT = {"id": "c-ada", "email": "ada@example.com", "first_name": "Ada", "company": "AE",
           "phone": "+15555550101"}  # fmt: skip
VARS = {"product": "DEE", "sender_name": "Grace"}
_META = PlanMetadata(created_at="2026-01-01", created_by="tests")


def tracked_plan() -> ExecutionPlan:
    """A tracked email, an hour's wait, then: replied / opened / silent."""
    return ExecutionPlan(
        id="tracked",
        version=1,
        name="Tracked email",
        metadata=_META,
        steps=(
            steps.send_email(
                id="intro",
                template_id="tmpl_intro",
                subject="Hi {{ product }}",
                tracking={"opens": True, "clicks": True},
            ),
            steps.wait(id="wait", duration={"hours": 1}),
            steps.branch(
                id="check",
                conditions=[
                    {"when": 'events.hasReply("intro")', "goto": "replied"},
                    {"when": 'events.hasOpen("intro")', "goto": "opened"},
                    {"when": "default", "goto": "silent"},
                ],
            ),
            steps.end(id="replied", outcome="replied"),
            steps.end(id="opened", outcome="opened"),
            steps.end(id="silent", outcome="silent"),
        ),
    )


def two_emails() -> ExecutionPlan:
    """An email, an hour's wait, a second email: the unsubscribe must stop the second."""
    return ExecutionPlan(
        id="two-emails",
        version=1,
        name="Two emails",
        metadata=_META,
        steps=(
            steps.send_email(id="first", template_id="tmpl_intro", subject="One"),
            steps.wait(id="wait", duration={"hours": 1}),
            steps.send_email(id="second", template_id="tmpl_intro", subject="Two"),
            steps.end(id="done", outcome="sent"),
        ),
    )


def call_plan() -> ExecutionPlan:
    """A call with voicemail detection, an hour's wait, then route on callOutcome."""
    return ExecutionPlan(
        id="call",
        version=1,
        name="Call",
        metadata=_META,
        steps=(
            steps.send_voice(
                id="call",
                script_id="script_follow_up",
                caller_id="+15551234567",
                max_duration={"minutes": 5},
                voicemail={"detect": True, "messageId": "vm_follow_up"},
            ),
            steps.wait(id="wait", duration={"hours": 1}),
            steps.branch(
                id="check",
                conditions=[
                    {"when": 'events.callOutcome("call") == "voicemail"', "goto": "voicemail"},
                    {"when": 'events.callOutcome("call") == "answered"', "goto": "talked"},
                    {"when": "default", "goto": "nothing"},
                ],
            ),
            steps.end(id="voicemail", outcome="voicemail"),
            steps.end(id="talked", outcome="talked"),
            steps.end(id="nothing", outcome="nothing"),
        ),
    )


def messages(mail: SmtpServer) -> list[EmailMessage]:
    return [
        email.message_from_bytes(env.original_content, policy=email.policy.default)  # type: ignore[misc]
        for env in mail.received
    ]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None, "the tracked email has no HTML part"
    return str(part.get_content())  # type: ignore[attr-defined]


def pixel_url(message: EmailMessage) -> str:
    found = re.search(r'<img src="([^"]+/webhooks/email/open/[^"]+)"', html_of(message))
    assert found, "no open pixel in the HTML part"
    return found.group(1)


def unsubscribe_url(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<") and header.endswith(">")
    return header[1:-1]
