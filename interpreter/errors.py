"""Typed errors of the interpreter layer. Nothing here knows about files or CLIs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from interpreter.limits import escaped, shown


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a plan (or an input document), located precisely.

    Attributes:
        plan: The plan id (or the file name when the plan id is unknown).
        step: The step id the problem concerns, or ``None`` for plan-level problems.
        field: The field path inside the step or plan, in the file's camelCase names.
        message: One sentence saying what is wrong.
    """

    plan: str
    step: str | None
    field: str
    message: str

    def __str__(self) -> str:
        # Ids are printed escaped and shortened: a plan may carry a 300-character or
        # bidi-reordered id, and the message reporting it must still be readable.
        where = f"step '{shown(self.step, 60)}'" if self.step is not None else "plan"
        field = f" {self.field}:" if self.field else ""
        # The CEL library's caret (`` | source`` and `` | ....^`` lines under the message)
        # keeps its line breaks: on one line it points at nothing.
        message = _CARET_BREAK.join(escaped(part) for part in self.message.split(_CARET_BREAK))
        return f"{shown(self.plan, 100)}: {where}:{field} {message}"


_CARET_BREAK = "\n | "


class InterpreterError(Exception):
    """Root of every error the interpreter raises."""


class PlanError(InterpreterError):
    """A plan failed to parse or validate; carries every problem found at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(InterpreterError):
    """A run input (contact, variables, event, recorded result) is malformed."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))


class ConditionError(InterpreterError):
    """A branch condition failed while being evaluated (never a silent ``false``)."""

    def __init__(self, step_id: str, index: int, when: str, reason: str) -> None:
        self.step_id = step_id
        self.index = index
        self.when = when
        self.reason = reason
        super().__init__(f"step '{step_id}': conditions[{index}] {when!r}: {reason}")


class MachineError(InterpreterError):
    """An input was fed to the step machine that its state cannot accept.

    Operator actions that are not valid in the run's state (resume of a run that is
    not paused, retry of a run that has not failed, anything on a finished run)
    raise this; the workflow turns it into an update validation error.
    """
