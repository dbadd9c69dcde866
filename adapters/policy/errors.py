"""The policy package's errors: one root, typed subclasses, each with a readable message.

A *denial* is not an error: ``PolicyGate.evaluate`` returns it as a ``PolicyDecision``.
These errors are for misuse: bad configuration, bad operator input, a malformed request,
or an operator action on something that does not exist.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Root of the policy errors; ``str(exc)`` is one line meant for a person."""


class PolicyConfigError(PolicyError):
    """The policy configuration is invalid (bad window, unknown time zone, negative cost...)."""


class PolicyInputError(PolicyError):
    """An operator or caller passed a bad value; ``field`` names it.

    Attributes:
        field: The argument (or request field) that is wrong.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownSuppression(PolicyError):
    """No suppression matches what an operator asked to remove."""


class SettlementConflict(PolicyError):
    """A budget reservation was already settled differently (commit vs release, amount)."""


__all__ = [
    "PolicyConfigError",
    "PolicyError",
    "PolicyInputError",
    "SettlementConflict",
    "UnknownSuppression",
]
