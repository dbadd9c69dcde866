"""The compliance presets a deployment can name, checked where plans and settings name
them: ``dee plan validate``/``register``, ``Engine.register_plan`` and the settings'
``policies`` section (``dee.config_sections``), so an unknown name is refused before a
send depends on it, never guessed at the gate."""

from __future__ import annotations

from collections.abc import Iterable

from dee.errors import EngineError
from interpreter.compliance import unknown_presets
from interpreter.errors import Problem
from interpreter.plan import ExecutionPlan


def known_presets() -> frozenset[str]:
    """The names ``adapters.policy.rules.presets.PRESETS`` defines (docs/compliance.md).

    Imported here, when a plan or the settings name a preset: the policy package takes
    most of a second to import, which no other settings read or plan check needs.
    """
    from adapters.policy.rules.presets import PRESETS  # noqa: PLC0415

    return frozenset(PRESETS)


def preset_problems(plan: ExecutionPlan) -> list[Problem]:
    """A problem per preset the plan's ``compliance`` block names that DEE does not know."""
    block = plan.compliance
    if block is None or not block.presets:
        return []
    found = unknown_presets(plan, known_presets())
    return [Problem(plan.id, None, field, message) for field, message in found]


def unknown_names(names: Iterable[str]) -> str | None:
    """Why ``names`` (from settings) cannot be used, or ``None`` when DEE knows them all."""
    names = list(names)
    if not names:
        return None
    known = known_presets()
    unknown = [name for name in names if name not in known]
    if not unknown:
        return None
    listed = ", ".join(repr(name) for name in unknown)
    return f"unknown preset {listed} (known: {', '.join(sorted(known))})"


def chosen_presets(names: Iterable[str], option: str = "--preset") -> tuple[str, ...]:
    """``names`` given on the command line, once each, in order.

    Raises:
        EngineError: a name DEE does not know (the option named, the known listed).
    """
    known = known_presets()
    for name in names:
        if name not in known:
            listed = ", ".join(sorted(known))
            raise EngineError([f"{option}: unknown preset {name!r} (known: {listed})"])
    return tuple(dict.fromkeys(names))


__all__ = ["chosen_presets", "known_presets", "preset_problems", "unknown_names"]
