"""Python builders that mirror the plan documents: ``steps.*``, ``transitions.*``,
``exit_on.*`` (``exitOn`` rules), ``windows.*`` and ``build_plan``.

steps.send_email(id="intro-email", template_id="tmpl_intro",
                 subject="Introducing {{product}}", tracking={"opens": True},
                 window=windows.between("09:00", "17:00", days=windows.WEEKDAYS))
steps.wait_for_event(id="await", until='events.hasClick("intro-email")',
                     timeout={"days": 3}, on_event="warm", on_timeout="cold")
exit_on.event("email.replied", outcome="replied")
transitions.explicit([{"from": "a", "to": "b"}])

They build the same frozen models a plan file parses to (a built plan and its YAML have
the same content hash); ``validate`` checks a built plan as it checks a file.
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
    ExecutionPlan,
    ExitRule,
    LocalTime,
    PlanMetadata,
    SendEmailStep,
    SendVoiceStep,
    SendWindow,
    Step,
    Tracking,
    Transition,
    Voicemail,
    WaitForEventStep,
    WaitStep,
    Weekday,
)

DurationLike = Duration | Mapping[str, int]
WindowLike = SendWindow | Mapping[str, Any]


def _window(window: WindowLike | None) -> SendWindow | None:
    return None if window is None else SendWindow.model_validate(window)


class windows:
    """Send windows (``window:`` on a send step) and the local times waits end at."""

    WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")

    @staticmethod
    def between(from_: str, to: str, *, days: Iterable[Weekday] | None = None) -> SendWindow:
        """``{from, to, days}``: open from ``from_`` ("HH:MM") until ``to`` ("HH:MM" or
        "24:00"), contact-local, on ``days`` (every day when ``None``)."""
        return SendWindow(from_=from_, to=to, days=None if days is None else tuple(days))

    @staticmethod
    def at(time: str, *, days: Iterable[Weekday] | None = None) -> LocalTime:
        """``{time, days}`` for ``steps.wait(until=...)``: the next such local time."""
        return LocalTime(time=time, days=None if days is None else tuple(days))


class exit_on:
    """``exitOn`` rules: ``exit_on.event(type, outcome=...)``, ``exit_on.when(cel, ...)``."""

    @staticmethod
    def event(
        event: str, *, outcome: str, step: str | None = None, when: str | None = None
    ) -> ExitRule:
        """End the run with ``outcome`` when ``event`` is ingested (of ``step`` only, when
        given; and only if ``when`` also holds, when given)."""
        return ExitRule(event=event, step=step, when=when, outcome=outcome)

    @staticmethod
    def when(condition: str, *, outcome: str) -> ExitRule:
        """End the run with ``outcome`` when the CEL ``condition`` holds after an event."""
        return ExitRule(when=condition, outcome=outcome)


class steps:
    """Step constructors: ``steps.send_email``, ``send_voice``, ``wait``, ``wait_for_event``,
    ``branch``, ``end``."""

    @staticmethod
    def send_email(
        *,
        id: str,
        template_id: str,
        subject: str,
        reply_to: str | None = None,
        tracking: Tracking | Mapping[str, bool] | None = None,
        window: WindowLike | None = None,
    ) -> SendEmailStep:
        return SendEmailStep(
            id=id,
            template_id=template_id,
            subject=subject,
            reply_to=reply_to,
            tracking=Tracking.model_validate(tracking or {}),
            window=_window(window),
        )

    @staticmethod
    def send_voice(
        *,
        id: str,
        script_id: str,
        caller_id: str,
        max_duration: CallDuration | Mapping[str, int],
        voicemail: Voicemail | Mapping[str, Any] | None = None,
        window: WindowLike | None = None,
    ) -> SendVoiceStep:
        return SendVoiceStep(
            id=id,
            script_id=script_id,
            caller_id=caller_id,
            max_duration=CallDuration.model_validate(max_duration),
            voicemail=Voicemail.model_validate(voicemail or {}),
            window=_window(window),
        )

    @staticmethod
    def wait(
        *,
        id: str,
        duration: DurationLike | None = None,
        until: LocalTime | Mapping[str, Any] | None = None,
    ) -> WaitStep:
        """A wait for ``duration``, or ``until`` a local time (``windows.at``).

        Raises:
            ValueError: both or neither given (a plan file gets the same rule from
                ``validate``; in code it is a mistake at the call).
        """
        if (duration is None) == (until is None):
            raise ValueError(f"wait step {id!r}: give exactly one of duration and until")
        return WaitStep(
            id=id,
            duration=None if duration is None else Duration.model_validate(duration),
            until=None if until is None else LocalTime.model_validate(until),
        )

    @staticmethod
    def wait_for_event(
        *, id: str, until: str, timeout: DurationLike, on_event: str, on_timeout: str
    ) -> WaitForEventStep:
        """Wait until the CEL ``until`` holds (go to ``on_event``), at most ``timeout``
        (then go to ``on_timeout``)."""
        return WaitForEventStep(
            id=id,
            until=until,
            timeout=Duration.model_validate(timeout),
            on_event=on_event,
            on_timeout=on_timeout,
        )

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


def build_plan(
    *,
    id: str,
    version: int,
    name: str,
    metadata: PlanMetadata | Mapping[str, str],
    steps: Iterable[Step],
    transitions: Literal["linear"] | Iterable[Transition | Mapping[str, str]] = "linear",
    exit_on: Iterable[ExitRule | Mapping[str, str]] | None = None,
    default_timezone: str | None = None,
) -> ExecutionPlan:
    """A whole plan; ``metadata`` as ``{"createdAt": ..., "createdBy": ...}`` or a model.

    ``exit_on`` and ``default_timezone`` are left out of the document when ``None``, as a
    file without them has them (so the content hash is the file's).
    """
    return ExecutionPlan(
        id=id,
        version=version,
        name=name,
        metadata=PlanMetadata.model_validate(metadata),
        steps=tuple(steps),
        transitions=(
            "linear"
            if transitions == "linear"
            else tuple(Transition.model_validate(t) for t in transitions)
        ),
        exit_on=None if exit_on is None else tuple(ExitRule.model_validate(r) for r in exit_on),
        default_timezone=default_timezone,
    )
