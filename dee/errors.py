"""Errors of the public layer (``dee``): what the CLI prints and the Engine raises."""

from __future__ import annotations

from collections.abc import Sequence


class DeeError(Exception):
    """Root of the public layer's errors; ``lines`` are printed one per line."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


class DocumentError(DeeError):
    """A file given to DEE is missing, unreadable or malformed."""


class EngineError(DeeError):
    """The public API was misused (unknown run, resume of a run that is not paused ...)."""


class EngineUnavailable(EngineError):
    """The engine could not reach Temporal to do what was asked; nothing was refused.

    Raised ``from`` the transport error where the outage is known, so an edge can tell
    "try again later" (a webhook's 503) from a refusal (422) by type alone.
    """
