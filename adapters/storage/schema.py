"""The tables, as SQLAlchemy 2 typed declarative models.

Boundary: table shapes only. The migration in ``migrations/versions`` creates exactly
these tables (a test compares the two) plus the triggers that make ``audit_entries``
append-only and ``plans`` immutable; the stores use the tables through Core statements.

Money is stored in integer micro-units of the budget's currency, never as floats.
Timestamps are UTC and timezone-aware on both backends (see ``UTCDateTime``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(255)
HASH = String(64)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy's documented hook
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Plan(Base):
    """A published plan version; immutable (a database trigger refuses UPDATE/DELETE)."""

    __tablename__ = "plans"

    plan_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(71))  # "sha256:" + 64 hex
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class Run(Base):
    """Run bookkeeping: plan, contact, where it stands and how it ended (``run_facts``)."""

    __tablename__ = "runs"
    __table_args__ = (
        ForeignKeyConstraint(["plan_id", "plan_version"], ["plans.plan_id", "plans.version"]),
        Index(None, "tenant", "status"),
        Index(None, "tenant", "contact_id"),
    )

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    plan_id: Mapped[str] = mapped_column(ID)
    plan_version: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(32))
    current_step: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    outcome: Mapped[str | None] = mapped_column(String(1000))
    failure: Mapped[dict[str, Any] | None]
    exit_rule: Mapped[dict[str, Any] | None]
    facts_kept: Mapped[bool] = mapped_column(server_default="0")  # false: older than 0008


class ChainedColumns:
    """The columns of a chained audit entry, shared by the committed and pending tables."""

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    tick: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime]
    step_id: Mapped[str] = mapped_column(ID)
    action: Mapped[str] = mapped_column(ID)
    outcome: Mapped[str] = mapped_column(String(1000))
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(HASH)
    hash: Mapped[str] = mapped_column(HASH)


class AuditEntry(ChainedColumns, Base):
    """One hash-chained audit entry; append-only (database triggers refuse UPDATE/DELETE).

    ``detail`` is ``json`` (text-preserving), not ``jsonb``: jsonb rewrites numbers
    (``1e20`` comes back as an integer), which would change the canonical JSON and so
    the hash. Deliberately not a foreign key to ``runs``: the audit log must accept a
    run's entries whatever the state of the bookkeeping table.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index(None, "recorded_at"),)


class AuditPending(ChainedColumns, Base):
    """Entries a workflow task wrote before the worker could know the task committed.

    A task's entries can only be final once its commit is known (a retried or dropped
    task recomputes them with another ``workflow.now()``); until then they live here,
    mutable: a later task's batch replaces them, and moves the committed ones into
    ``audit_entries``. The rule is in docs/audit.md ("Committed and pending entries").
    """

    __tablename__ = "audit_pending"


class SendLedgerEntry(Base):
    """One send's ledger row: its intent, each attempt, and what became of it.

    Written before the provider is called (intent and attempt) and after it answers
    (outcome), keyed like the Message-ID by ``(run, step, visit)``: a send attempt that
    finds an attempt without an outcome knows the provider may have the message, and
    reports ``unknown`` instead of sending again (docs/audit.md, "The send ledger").
    """

    __tablename__ = "send_ledger"
    __table_args__ = (
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('delivered', 'failed', 'unknown')", name="outcome"
        ),
    )

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    step_id: Mapped[str] = mapped_column(ID, primary_key=True)
    visit: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(64))
    message_key: Mapped[str] = mapped_column(String(998))  # Message-ID or idempotency key
    intent_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[dt.datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]]


class AuditHead(Base):
    """Where a run's stored chain starts after retention archived its older entries."""

    __tablename__ = "audit_heads"

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # the last archived entry's seq
    hash: Mapped[str] = mapped_column(HASH)  # ... and its hash
    archived_at: Mapped[dt.datetime]
    archive_uri: Mapped[str] = mapped_column(String(2000))


class AuditCheckpoint(Base):
    """A signed checkpoint of a run's chain head (``checkpoint_format``); append-only.

    The columns are exactly the signed fields (``time`` kept as the signed text), so
    every row can be checked on its own with the worker's public key.
    """

    __tablename__ = "audit_checkpoints"

    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, … per run
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(HASH)
    closed: Mapped[bool]
    signed_at: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(64))
    prev: Mapped[str] = mapped_column(HASH)
    hash: Mapped[str] = mapped_column(HASH)
    sig: Mapped[str] = mapped_column(String(200))


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
    """One allowed send to a contact: the per-contact cap counts these in its window.

    Keyed like the daily counter's reservation by ``(run, step, visit)``, so a retried
    policy check counts its send once; ``sent_at`` is the gate's ``at`` (the workflow's
    time of the send), which the window is measured against.
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


class SentMessage(Base):
    """The Message-ID index: which send a reply's ``In-Reply-To`` names.

    A Message-ID's left part is a keyed hash of ``(tenant, run, step, visit)``, so it
    can be neither decoded nor computed without the webhook key: the send activity
    writes the row before the message leaves, and the webhook receiver looks replies
    up here. ``recipient_digest`` is a keyed hash of the address the message went to
    (no address is stored), which a reply's sender is compared with; rows written
    before it have none. Not part of the audited record.
    """

    __tablename__ = "dee_sent_messages"

    message_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(ID)
    run_id: Mapped[str] = mapped_column(ID)
    step_id: Mapped[str] = mapped_column(ID)
    visit: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[str] = mapped_column(ID)
    recipient_digest: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime]


class Secret(Base):
    """A secret DEE generated for itself (the webhook signing key when none is configured).

    Written once, insert-if-absent, so processes starting at the same moment all read
    the one row that won; never updated, so tokens signed earlier keep verifying.
    """

    __tablename__ = "dee_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))  # base64url of the key bytes
    created_at: Mapped[dt.datetime]


class ContactKey(Base):
    """A contact's data key, wrapped by the privacy master key (never stored here).

    One row per enrolment (``generation``); erasure sets ``wrapped_key`` to NULL
    (crypto-shredding: what was sealed under it is unreadable) and ``erased_at``. The
    newest row says whether the contact is erased (docs/privacy.md).
    """

    __tablename__ = "contact_keys"

    tenant: Mapped[str] = mapped_column(ID, primary_key=True)
    contact_id: Mapped[str] = mapped_column(ID, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    wrapped_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime]
    erased_at: Mapped[dt.datetime | None]


metadata = Base.metadata
__all__ = [
    "AuditEntry",
    "AuditHead",
    "AuditPending",
    "Base",
    "Budget",
    "BudgetReservation",
    "ConsentRecord",
    "ContactKey",
    "ContactSend",
    "Plan",
    "Run",
    "Secret",
    "SendCounter",
    "SendLedgerEntry",
    "SendLimit",
    "SendReservation",
    "SentMessage",
    "Suppression",
    "UTCDateTime",
    "metadata",
]
