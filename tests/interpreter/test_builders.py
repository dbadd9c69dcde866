"""The Python builders build exactly the plans the files hold (same content hash)."""

from __future__ import annotations

import pytest

from interpreter import build_plan, exit_on, steps, validate, windows

from .helpers import load_example

_PRODUCT = "{{ product }}"


def test_the_await_reply_plan_built_in_python_is_the_yaml_plan() -> None:
    built = build_plan(
        id="sales-await-reply",
        version=1,
        name="Sales outreach that waits for the contact",
        metadata={
            "createdAt": "2026-04-01T09:00:00Z",
            "createdBy": "sales-ops@example.com",
            "description": "Intro email in business hours, then a warm or cold follow-up; "
            "stops on a reply.",
        },
        default_timezone="America/New_York",
        exit_on=[
            exit_on.event("email.replied", outcome="replied"),
            exit_on.event("email.unsubscribed", outcome="unsubscribed"),
        ],
        steps=[
            steps.send_email(
                id="intro-email",
                template_id="tmpl_intro",
                subject=f"Introducing {_PRODUCT}",
                reply_to="sales@example.com",
                tracking={"opens": True, "clicks": True},
                window=windows.between("09:00", "17:00", days=windows.WEEKDAYS),
            ),
            steps.wait_for_event(
                id="await-click",
                until='events.hasClick("intro-email")',
                timeout={"days": 3},
                on_event="warm-follow-up",
                on_timeout="next-morning",
            ),
            steps.send_email(
                id="warm-follow-up",
                template_id="tmpl_warm_follow_up",
                subject=f"Following up on {_PRODUCT}",
                reply_to="sales@example.com",
                tracking={"opens": True, "clicks": True},
                window={
                    "from": "09:00",
                    "to": "17:00",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                },
            ),
            steps.wait(id="next-morning", until=windows.at("09:30", days=windows.WEEKDAYS)),
            steps.send_email(
                id="cold-follow-up",
                template_id="tmpl_cold_follow_up",
                subject=f"Quick question about {_PRODUCT}",
                reply_to="sales@example.com",
                tracking={"opens": True, "clicks": False},
            ),
            steps.end(id="end-followed-up", outcome="followed-up"),
        ],
        transitions=[
            {"from": "intro-email", "to": "await-click"},
            {"from": "warm-follow-up", "to": "end-followed-up"},
            {"from": "next-morning", "to": "cold-follow-up"},
            {"from": "cold-follow-up", "to": "end-followed-up"},
        ],
    )
    loaded = load_example("sales-await-reply.yaml")
    assert built == loaded
    assert built.content_hash == loaded.content_hash
    assert validate(built) == []


def test_collections_exit_rules_windows_and_zone_built_in_python_are_the_yaml_ones() -> None:
    loaded = load_example("collections-sequence.yaml")
    assert loaded.exit_rules == (
        exit_on.event("email.replied", outcome="engaged"),
        exit_on.event("voice.answered", step="first-call", outcome="engaged"),
        exit_on.when(
            'events.hasBounce("reminder-email") && events.callOutcome("first-call") == "failed"',
            outcome="unreachable",
        ),
    )
    assert loaded.default_timezone == "America/Chicago"
    call = steps.send_voice(
        id="first-call",
        script_id="script_collections_call",
        caller_id="+15557654321",
        max_duration={"minutes": 10},
        voicemail={"detect": True, "messageId": "vm_collections"},
        window=windows.between("09:00", "20:00", days=("mon", "tue", "wed", "thu", "fri", "sat")),
    )
    assert loaded.step("first-call") == call


def test_a_plan_built_without_the_new_fields_keeps_its_document_and_hash() -> None:
    loaded = load_example("notification.yaml")
    doc = loaded.to_document()
    rebuilt = build_plan(
        id=doc["id"],
        version=doc["version"],
        name=doc["name"],
        metadata=doc["metadata"],
        steps=loaded.steps,
        transitions="linear",
    )
    assert "exitOn" not in rebuilt.to_document() and "defaultTimezone" not in rebuilt.to_document()
    assert rebuilt.content_hash == loaded.content_hash


@pytest.mark.parametrize("given", [{}, {"duration": {"days": 1}, "until": {"time": "09:00"}}])
def test_a_wait_needs_exactly_one_of_duration_and_until(given: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="wait step 'w': give exactly one of duration and until"):
        steps.wait(id="w", **given)  # type: ignore[arg-type]
