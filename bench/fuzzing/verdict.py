"""What one input came to, and the tally of many."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

# accepted: taken (a plan validated and simulated, a request answered 2xx ...);
# refused: turned away with the layer's typed error, naming the problem;
# crash: an untyped exception, a traceback on stderr, a 5xx, a dead child process;
# hang: not done within the per-input cap;
# half_written: refused, yet something was stored for it;
# violation: done cleanly but wrongly (a suppressed address let through, a seed of
# issue 18 answered otherwise than the issue demands).
Outcome = Literal["accepted", "refused", "crash", "hang", "half_written", "violation"]
OUTCOMES: tuple[Outcome, ...] = (
    "accepted",
    "refused",
    "crash",
    "hang",
    "half_written",
    "violation",
)
GOOD: frozenset[str] = frozenset({"accepted", "refused"})
SHOWN_CHARS = 300


@dataclass(frozen=True, slots=True)
class Verdict:
    """One input's outcome; ``detail`` says why (the error, the status, what was left)."""

    outcome: Outcome
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome in GOOD


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A short, printable (ASCII) rendering of an input for a report."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


@dataclass
class Tally:
    """Counts per outcome for one target, the slowest input, and the first bad ones."""

    target: str
    counts: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    slowest_input: str = ""
    examples: list[dict[str, str]] = field(default_factory=list)
    keep: int = 5
    restarts: int = 0  # child processes replaced after a hang or a death

    def add(self, case: Any, verdict: Verdict) -> None:
        self.counts[verdict.outcome] += 1
        if verdict.seconds > self.slowest:
            self.slowest, self.slowest_input = verdict.seconds, shown(case, 160)
        if not verdict.ok and self._kept(verdict.outcome) < self.keep:
            self.examples.append(
                {"outcome": verdict.outcome, "detail": verdict.detail, "input": shown(case)}
            )

    def _kept(self, outcome: str) -> int:
        return sum(1 for e in self.examples if e["outcome"] == outcome)

    @property
    def tried(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "tried": self.tried,
            **{name: self.counts.get(name, 0) for name in OUTCOMES},
            "slowest_seconds": round(self.slowest, 3),
            "slowest_input": self.slowest_input,
            "child_restarts": self.restarts,
            "examples": self.examples,
        }
