"""Which runs a bulk operator action applies to: ``RunFilter``.

A filter is a conjunction of the run row's fields (status, plan id, plan version,
current step, failure text) and, optionally, a raw Temporal visibility query over
DEE's search attributes. The row fields are matched against the run table (the same
rows ``dee runs list`` reads), the query against Temporal's visibility store; a run is
selected when it matches both. Only the engine's own tenant's runs are ever selected.

A filter with no criterion at all is refused: "every run" is never what an operator
means after an outage, and a typo that empties a filter must not widen it to the
whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.storage import RunRecord
from interpreter.limits import PLAN_ID, STEP_ID, identifier_problem, text_problem
from interpreter.state import Status

STATUSES = tuple(s.value for s in Status)
# A visibility query or a failure text past this is a mistake, not a filter.
QUERY_LIMIT = 2_000
FAILURE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class RunFilter:
    """The runs a bulk action selects; every criterion given must match.

    Attributes:
        status: the run's stored status (``FAILED``, ``WAITING``, ...), exactly.
        plan_id: the run's plan id, exactly.
        plan_version: the run's plan version, exactly.
        step: the run's current step id, exactly.
        failure: a case-insensitive substring of the run's failure (its kind or its
            reason, e.g. ``channel_rejected`` or ``550``); only a failed run has one.
        query: a Temporal visibility query (List Filter), e.g.
            ``DeePlanId = 'sales' AND DeeStep = 'follow-up'``; the runs it lists that
            also match the other criteria are selected.
    """

    status: str | None = None
    plan_id: str | None = None
    plan_version: int | None = None
    step: str | None = None
    failure: str | None = None
    query: str | None = None

    def is_empty(self) -> bool:
        """Whether no criterion is given (such a filter is refused)."""
        return all(
            value is None or (isinstance(value, str) and not value.strip())
            for value in (
                self.status,
                self.plan_id,
                self.plan_version,
                self.step,
                self.failure,
                self.query,
            )
        )

    def problems(self) -> list[str]:
        """Every reason this filter cannot be used, each naming its criterion."""
        if self.is_empty():
            return [
                "an empty filter is refused (it would select every run): give at least one "
                "of status, plan, plan version, step, failure or a visibility query"
            ]
        found: list[str] = []
        if self.status is not None and self.status not in STATUSES:
            found.append(
                f"status: {self.status!r} is not a run status (one of {', '.join(STATUSES)})"
            )
        problems = {
            "plan": _identifier(self.plan_id, "the plan id", PLAN_ID),
            "step": _identifier(self.step, "the step id", STEP_ID),
            "failure": _text(self.failure, "the failure text", FAILURE_LIMIT),
            "query": _text(self.query, "the query", QUERY_LIMIT),
        }
        found += [f"{name}: {problem}" for name, problem in problems.items() if problem]
        if self.plan_version is not None and (
            isinstance(self.plan_version, bool)
            or not isinstance(self.plan_version, int)
            or self.plan_version < 1
        ):
            found.append(f"plan version: {self.plan_version!r} is not a version (1 or more)")
        return found

    def matches(self, record: RunRecord) -> bool:
        """Whether the run row matches the row criteria (the query is Temporal's)."""
        if self.status is not None and record.status != self.status:
            return False
        if self.plan_id is not None and record.plan_id != self.plan_id:
            return False
        if self.plan_version is not None and record.plan_version != self.plan_version:
            return False
        if self.step is not None and record.current_step != self.step:
            return False
        if self.failure is not None:
            failure = record.failure or {}
            text = f"{failure.get('kind', '')} {failure.get('reason', '')}".casefold()
            if not failure or self.failure.casefold() not in text:
                return False
        return True

    def describe(self) -> str:
        """The criteria in words, for messages: ``status FAILED, plan sales v2``."""
        said = []
        if self.status is not None:
            said.append(f"status {self.status}")
        if self.plan_id is not None:
            said.append(f"plan {self.plan_id}")
        if self.plan_version is not None:
            said.append(f"plan version {self.plan_version}")
        if self.step is not None:
            said.append(f"step {self.step}")
        if self.failure is not None:
            said.append(f"failure containing {self.failure!r}")
        if self.query is not None:
            said.append(f"query {self.query!r}")
        return ", ".join(said)


def _identifier(value: str | None, what: str, limit: int) -> str | None:
    return None if value is None else identifier_problem(value, what, limit)


def _text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    return text_problem(value, what, limit) or (None if value.strip() else f"{what} is empty")


__all__ = ["STATUSES", "RunFilter"]
