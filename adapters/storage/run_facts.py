"""How a run ended, as its audit entries say: outcome, failure and the exit rule.

The run row keeps these three facts (revision 0008) so that reading an ended run does
not scan its whole audit timeline. They are folded from the entries as the workflow
persists them, batch by batch: each fact is the last entry that decides it, so a batch
that decides none leaves the stored value alone. Rows written before revision 0008
(``RunRecord.facts_kept`` false) are folded from the stored timeline instead, by the
same function.

* outcome: an ``end`` entry's outcome, a ``resolve``/``end`` entry's target outcome,
  or an exit rule's outcome;
* failure: a ``run``/``failed`` entry's step, kind and cause; cleared by a retry, a
  resolve or an exit;
* exit rule: an ``exit`` entry that ended the run (its detail and tick). An exit entry
  that only announces an exit waiting for a send in flight (``pending``) or records a
  rule that failed to evaluate (``error``) ends nothing (``interpreter.trace.closes_run``:
  validation reserves those two outcomes, so no rule can take them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from interpreter.chain import Chainable
from interpreter.trace import closes_run


@dataclass(frozen=True, slots=True)
class RunFacts:
    """The facts some entries decide; ``decided`` names those they do (the others stay)."""

    outcome: str | None = None
    failure: dict[str, str] | None = None
    exit_rule: dict[str, Any] | None = None
    decided: frozenset[str] = frozenset()


def exit_of(entry: Chainable) -> dict[str, Any] | None:
    """The exit that ``entry`` records as ending its run (detail and tick), or ``None``."""
    if entry.action != "exit" or not closes_run(entry.action, entry.outcome):
        return None
    return {**entry.detail, "tick": entry.tick}


def fold(entries: Iterable[Chainable]) -> RunFacts:
    """The facts ``entries`` decide, in order (see the module docstring)."""
    values: dict[str, Any] = {}
    for entry in entries:
        if entry.action == "end":
            values["outcome"] = entry.outcome
        elif (entry.action, entry.outcome) == ("resolve", "end"):
            values["outcome"] = str(entry.detail.get("outcome"))
        elif (found := exit_of(entry)) is not None:
            values.update(outcome=entry.outcome, failure=None, exit_rule=found)
        elif (entry.action, entry.outcome) == ("run", "failed"):
            values["failure"] = {
                "stepId": str(entry.detail.get("stepId")),
                "kind": str(entry.detail.get("kind")),
                "reason": str(entry.detail.get("cause")),
            }
        elif entry.action in ("retry", "resolve"):
            values["failure"] = None
    return RunFacts(**values, decided=frozenset(values))


__all__ = ["RunFacts", "exit_of", "fold"]
