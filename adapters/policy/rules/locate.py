"""Where a contact may be: candidate time zones from its timezone, postal address and
phone number, each with the sources that gave it. (Stub: filled in by the rules work.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.policy.rules.model import Location


def locate(contact: Mapping[str, Any], default_timezone: str | None = None) -> Location:
    """The contact's candidate zones from ``timezone``, ``address.postalCode``,
    ``address.state`` and the phone number's area code; ``default_timezone`` only when
    no source gives a zone."""
    raise NotImplementedError


__all__ = ["locate"]
