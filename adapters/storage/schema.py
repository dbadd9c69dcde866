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
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.storage.schema_base import HASH, ID, Base, UTCDateTime
from adapters.storage.schema_policy import (
    Budget,
    BudgetReservation,
    ConsentRecord,
    ContactSend,
    SendCounter,
    SendLimit,
    SendReservation,
    Suppression,
)


class Plan(Base):
    """A published plan version; immutable (a database trigger refuses UPDATE/DELETE)."""

    __tablename__ = "plans"

    # Whose plan (revision 0014): each tenant has its own plan ids (docs/tenants.md).
    tenant: Mapped[str] = mapped_column(ID, primary_key=True)
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
        # A run's plan is its own tenant's (revision 0014).
        ForeignKeyConstraint(
            ["tenant", "plan_id", "plan_version"],
            ["plans.tenant", "plans.plan_id", "plans.version"],
        ),
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
    __table_args__ = (Index(None, "recorded_at"), Index(None, "tenant", "run_id"))

    # The run's tenant (revision 0013), not hashed: NULL for an entry whose run had no
    # row when 0013 back-filled, read as the ``default`` tenant's (docs/tenants.md).
    tenant: Mapped[str | None] = mapped_column(ID)


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
