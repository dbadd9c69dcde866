"""IANA time zones by name, refusing anything that would be a guess.

A zone is accepted only when it is one of the IANA keys installed (``tzdata`` or the
system database), and never ``localtime``: that key names whatever zone the machine
running the worker happens to be in.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

_MACHINE_DEPENDENT = frozenset({"localtime", "posixrules"})


@cache
def _known() -> frozenset[str]:
    # Scanning the zone database takes tens of milliseconds: once per process.
    return frozenset(available_timezones()) - _MACHINE_DEPENDENT


def zone(name: object) -> ZoneInfo | None:
    """The IANA zone of this name, or ``None`` when there is none (never a guess)."""
    if not isinstance(name, str) or name not in _known():
        return None
    return ZoneInfo(name)


__all__ = ["zone"]
