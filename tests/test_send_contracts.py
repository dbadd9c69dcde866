"""Send requests embed the machine's command, and requests recorded before still decode.

A request crosses the Temporal boundary as JSON: an older workflow's request (the
command's fields copied one by one) and a current one (the command embedded) must
both give the activity the same command.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.converter import DataConverter

from activities import contracts as c
from interpreter import SendEmail, SendVoice

CONVERTER = DataConverter.default.payload_converter
ROW = c.RunRow("run-1", "acme", "plan", 1, "c-1", "RUNNING", "mail")
EMAIL = SendEmail("mail", 2, "tmpl_intro", "Hello {{ first_name }}", "r@example.com", True, False)
VOICE = SendVoice("call", 1, "script_follow_up", "+15551234567", 300, True, "vm_1")


def _decoded(value: Any, kind: type[Any]) -> Any:
    """``value`` as the worker receives it: encoded by the workflow, then decoded."""
    (payload,) = CONVERTER.to_payloads([value])
    (back,) = CONVERTER.from_payloads([payload], [kind])
    return back


def _recorded(fields: dict[str, Any], kind: type[Any]) -> Any:
    """A request as a workflow before ``send`` existed recorded it (no ``send`` key)."""
    (payload,) = CONVERTER.to_payloads([fields])
    assert "send" not in json.loads(payload.data)
    (back,) = CONVERTER.from_payloads([payload], [kind])
    return back


def test_a_current_request_carries_the_command_itself() -> None:
    email = c.EmailRequest(c.AuditBatch(ROW), "run-1", "acme", "plan", "mail", 2, send=EMAIL)
    voice = c.VoiceRequest(c.AuditBatch(ROW), "run-1", "acme", "plan", "call", 1, send=VOICE)
    assert _decoded(email, c.EmailRequest).command() == EMAIL
    assert _decoded(voice, c.VoiceRequest).command() == VOICE


def test_a_request_recorded_with_copied_fields_gives_the_same_command() -> None:
    base = {"batch": {"run": vars(ROW)}, "run_id": "run-1", "tenant": "acme", "plan_id": "plan"}
    email = {
        **base, "step_id": "mail", "visit": 2, "template_id": "tmpl_intro",
        "subject": "Hello {{ first_name }}", "reply_to": "r@example.com", "track_opens": True,
        "track_clicks": False, "contact": {"id": "c-1"}, "variables": {}, "resend": False,
    }  # fmt: skip
    voice = {
        **base, "step_id": "call", "visit": 1, "script_id": "script_follow_up",
        "caller_id": "+15551234567", "max_duration_seconds": 300, "detect_voicemail": True,
        "voicemail_message_id": "vm_1", "contact": {"id": "c-1"}, "variables": {},
        "resend": False,
    }  # fmt: skip
    assert _recorded(email, c.EmailRequest).command() == EMAIL
    assert _recorded(voice, c.VoiceRequest).command() == VOICE
