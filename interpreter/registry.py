"""Registries: which templates/scripts exist, and the immutable store of plan versions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from interpreter.errors import PlanError, Problem
from interpreter.plan import ExecutionPlan


@dataclass(frozen=True, slots=True)
class ContentRegistry:
    """The ids a plan may reference: email templates, voice scripts, voicemail messages.

    What the content itself gets wrong is found where the files are read and handed in
    as data: ``unusable`` holds, by ``(channel, id)``, why a template that exists cannot
    render (a syntax error, a reference outside its channel's folder), and
    ``check_subject`` says the same of an email subject, a template string in the plan
    (``None`` accepts any subject).
    """

    email_templates: frozenset[str] = frozenset()
    voice_scripts: frozenset[str] = frozenset()
    voice_messages: frozenset[str] = frozenset()
    unusable: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict, hash=False)
    check_subject: Callable[[str], Sequence[str]] | None = field(default=None, hash=False)


@dataclass(slots=True)
class PlanRegistry:
    """Plan versions by ``(id, version)``; a published version never changes.

    Registering the identical body again is a no-op; a different body under an
    existing ``(id, version)`` is refused — publish a new version instead.
    """

    _plans: dict[tuple[str, int], ExecutionPlan] = field(default_factory=dict)

    def register(self, plan: ExecutionPlan) -> ExecutionPlan:
        key = (plan.id, plan.version)
        existing = self._plans.get(key)
        if existing is None:
            self._plans[key] = plan
            return plan
        if existing.content_hash != plan.content_hash:
            raise PlanError(
                [
                    Problem(
                        plan.id,
                        None,
                        "version",
                        f"version {plan.version} is already registered with content "
                        f"{existing.content_hash}; this body is {plan.content_hash}. "
                        "Plans are immutable: publish it as a new version.",
                    )
                ]
            )
        return existing

    def get(self, plan_id: str, version: int | None = None) -> ExecutionPlan:
        if version is None:
            versions = [v for (pid, v) in self._plans if pid == plan_id]
            if not versions:
                raise KeyError(plan_id)
            version = max(versions)
        return self._plans[(plan_id, version)]

    def versions(self, plan_id: str) -> list[int]:
        return sorted(v for (pid, v) in self._plans if pid == plan_id)
