"""Python builders that mirror the plan documents' ``steps.*`` and ``transitions.*``.

steps.send_email(id="intro-email", template_id="tmpl_intro",
                 subject="Introducing {{product}}", tracking={"opens": True})
transitions.explicit([{"from": "a", "to": "b"}])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from interpreter.plan import (
    BranchStep,
    CallDuration,
    Condition,
    Duration,
    EndStep,
    SendEmailStep,
    SendVoiceStep,
    Tracking,
    Transition,
    Voicemail,
    WaitStep,
)


class steps:
    """Step constructors: ``steps.send_email``, ``send_voice``, ``wait``, ``branch``, ``end``."""

    @staticmethod
    def send_email(
        *,
        id: str,
        template_id: str,
        subject: str,
        reply_to: str | None = None,
        tracking: Tracking | Mapping[str, bool] | None = None,
    ) -> SendEmailStep:
        return SendEmailStep(
            id=id,
            template_id=template_id,
            subject=subject,
            reply_to=reply_to,
            tracking=Tracking.model_validate(tracking or {}),
        )

    @staticmethod
    def send_voice(
        *,
        id: str,
        script_id: str,
        caller_id: str,
        max_duration: CallDuration | Mapping[str, int],
        voicemail: Voicemail | Mapping[str, Any] | None = None,
    ) -> SendVoiceStep:
        return SendVoiceStep(
            id=id,
            script_id=script_id,
            caller_id=caller_id,
            max_duration=CallDuration.model_validate(max_duration),
            voicemail=Voicemail.model_validate(voicemail or {}),
        )

    @staticmethod
    def wait(*, id: str, duration: Duration | Mapping[str, int]) -> WaitStep:
        return WaitStep(id=id, duration=Duration.model_validate(duration))

    @staticmethod
    def branch(
        *,
        id: str,
        conditions: Iterable[Condition | Mapping[str, str]],
    ) -> BranchStep:
        return BranchStep(id=id, conditions=tuple(Condition.model_validate(c) for c in conditions))

    @staticmethod
    def end(*, id: str, outcome: str) -> EndStep:
        return EndStep(id=id, outcome=outcome)


class transitions:
    """Transition constructors: ``transitions.linear()`` and ``transitions.explicit([...])``."""

    @staticmethod
    def linear() -> Literal["linear"]:
        return "linear"

    @staticmethod
    def explicit(edges: Iterable[Transition | Mapping[str, str]]) -> tuple[Transition, ...]:
        return tuple(Transition.model_validate(e) for e in edges)
