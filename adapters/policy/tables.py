"""The storage tables the policy package reads and writes, as Core ``Table`` objects.

The shapes belong to ``adapters.storage.schema``; this module only names them and
picks the dialect's ``INSERT`` (both dialects support ``ON CONFLICT ... RETURNING``).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.database import Dialect
from adapters.storage.schema import (
    Budget,
    BudgetReservation,
    ConsentRecord,
    ContactSend,
    SendCounter,
    SendLimit,
    SendReservation,
    Suppression,
)

CONSENT = cast(Table, ConsentRecord.__table__)
SUPPRESSIONS = cast(Table, Suppression.__table__)
COUNTERS = cast(Table, SendCounter.__table__)
LIMITS = cast(Table, SendLimit.__table__)
SEND_RESERVATIONS = cast(Table, SendReservation.__table__)
BUDGETS = cast(Table, Budget.__table__)
BUDGET_RESERVATIONS = cast(Table, BudgetReservation.__table__)
CONTACT_SENDS = cast(Table, ContactSend.__table__)


def upsert(dialect: Dialect, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into ``table`` that accepts ``ON CONFLICT`` clauses on this dialect."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


__all__ = [
    "BUDGETS",
    "BUDGET_RESERVATIONS",
    "CONSENT",
    "CONTACT_SENDS",
    "COUNTERS",
    "LIMITS",
    "SEND_RESERVATIONS",
    "SUPPRESSIONS",
    "upsert",
]
