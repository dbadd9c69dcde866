"""The policy gate's tables: consent, suppression, limits, counters, budgets.

Part of ``adapters.storage.schema`` (which re-exports every model here, so one
``metadata`` holds every table); split out to keep each module one screenful of
concerns. Money is stored in integer micro-units, never as floats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.storage.schema_base import ID, Base


class ConsentRecord(Base):
    """Consent history per contact and channel; the latest record is in force."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("status IN ('opted_in', 'opted_out')", name="status"),
        Index(None, "tenant", "contact_id", "channel", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    contact_id: Mapped[str] = mapped_column(ID)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(255))  # form, import, api, reply-stop ...
    wording_version: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[dt.datetime]
    detail: Mapped[dict[str, Any]]


class Suppression(Base):
    """A contact key that must not be contacted, globally, on a channel, or for a plan.

    ``scope_key`` is ``""`` for global scope, the channel for channel scope and the
    plan id for plan scope: one non-null column keeps the unique key meaningful
    (NULLs never collide in a unique constraint).
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint("scope IN ('global', 'channel', 'plan')", name="scope"),
        Index(None, "tenant", "scope", "scope_key", "contact_key", unique=True),
        Index(None, "tenant", "contact_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    scope: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str] = mapped_column(ID)
    contact_key: Mapped[str] = mapped_column(ID)  # contact id, normalized e-mail or E.164
    reason: Mapped[str] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]


class SendLimit(Base):
    """An operator-set daily send limit per tenant and channel (overrides configuration)."""

    __tablename__ = "send_limits"
    __table_args__ = (CheckConstraint("daily_limit >= 0", name="non_negative"),)

    tenant: Mapped[str] = mapped_column(ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    daily_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime]


class SendCounter(Base):
    """Sends per tenant, channel and day, incremented atomically with a reservation."""

    __tablename__ = "send_counters"

    tenant: Mapped[str] = mapped_column(ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class SendReservation(Base):
    """The idempotency key of one counted send: a retried activity counts once."""

    __tablename__ = "send_reservations"
    __table_args__ = (Index(None, "tenant", "channel", "day"),)

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    step_id: Mapped[str] = mapped_column(ID, primary_key=True)
    visit: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    channel: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]


class ContactSend(Base):
    """One attempt to reach a contact: the per-contact cap and the compliance rules'
    frequency counts read these (the contact's ledger, ``adapters.policy.ledger``).

    Keyed like the daily counter's reservation by ``(run, step, visit)``, so a retried
    policy check counts its send once; ``sent_at`` is the gate's ``at`` (the workflow's
    time of the send), which the window is measured against. An imported attempt (a
    prior dialer's, ``source`` ``import``) has run id ``import:<16 hex of its row's
    hash>``, so a file imported twice counts nothing twice. ``outcome`` is set when the
    call's outcome is known (``answered``: a conversation).
    """

    __tablename__ = "contact_sends"
    __table_args__ = (Index(None, "tenant", "contact_id", "sent_at"),)

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    step_id: Mapped[str] = mapped_column(ID, primary_key=True)
    visit: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    contact_id: Mapped[str] = mapped_column(ID)
    channel: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[dt.datetime]
    debt_ref: Mapped[str | None] = mapped_column(ID)
    subject: Mapped[str | None] = mapped_column(ID)
    caller_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), server_default="run")  # run | import


class Budget(Base):
    """A cost budget for one tenant and period, in micro-units of ``currency``."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("reserved_micros >= 0 AND spent_micros >= 0", name="non_negative"),
    )

    tenant: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(ID, primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    limit_micros: Mapped[int] = mapped_column(BigInteger)
    reserved_micros: Mapped[int] = mapped_column(BigInteger)
    spent_micros: Mapped[int] = mapped_column(BigInteger)


class BudgetReservation(Base):
    """An estimate reserved before a send, settled (committed or released) after it."""

    __tablename__ = "budget_reservations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant", "budget_name", "period_start"],
            ["budgets.tenant", "budgets.name", "budgets.period_start"],
        ),
        CheckConstraint("status IN ('reserved', 'committed', 'released')", name="status"),
        Index(None, "tenant", "budget_name", "period_start"),
    )

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    step_id: Mapped[str] = mapped_column(ID, primary_key=True)
    visit: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    budget_name: Mapped[str] = mapped_column(ID)
    period_start: Mapped[dt.date] = mapped_column(Date)
    estimate_micros: Mapped[int] = mapped_column(BigInteger)
    actual_micros: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


__all__ = [
    "Budget",
    "BudgetReservation",
    "ConsentRecord",
    "ContactSend",
    "SendCounter",
    "SendLimit",
    "SendReservation",
    "Suppression",
]
