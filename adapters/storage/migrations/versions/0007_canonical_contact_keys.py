"""Suppression keys and consent contact ids in their canonical forms.

From this revision on a suppression's ``contact_key`` is an e-mail key (one mailbox,
IDNA domain, lower-cased), an E.164 number or a contact id, and a consent record's
``contact_id`` is stored the same way (``adapters.addresses``); the gate looks them
up only in those forms. Rows written before were lower-cased at most, so a stored
``victim <victim@example.com>`` or ``victim@bücher.example`` would no longer match the
contact it was written for: this revision rewrites them.

Suppressions: each row is re-keyed; rows that now name the same key in the same
tenant and scope become one, which keeps the earliest row's reason and source and
the longest expiry (none, if any row had none): a suppression errs on the side of
not sending. A stored key that is a list of addresses (``a@x.com, b@x.com``) stays,
and each address in it that is one mailbox gets its own row. A key that is no
address at all stays as it is (it is a contact id).

Consent records: ``contact_id`` is rewritten to its canonical form where it has one
(an id that is an address or a ``+`` number), so a record matches the id however it
was spelled.

There is no downgrade of the data: the original spellings are not kept.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-10
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from adapters.addresses import AddressError, canonical_key, email_key, id_key
from adapters.storage.schema import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUPPRESSIONS = sa.table(
    "suppressions",
    sa.column("id", sa.Integer()),
    sa.column("tenant", sa.String()),
    sa.column("scope", sa.String()),
    sa.column("scope_key", sa.String()),
    sa.column("contact_key", sa.String()),
    sa.column("reason", sa.String()),
    sa.column("source", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("expires_at", UTCDateTime()),
)
_CONSENT = sa.table("consent_records", sa.column("contact_id", sa.String()))
_LIST_SEPARATOR = re.compile(r"[,;]")


def upgrade() -> None:
    bind = op.get_bind()
    _rekey_suppressions(bind)
    _rekey_consent(bind)


def downgrade() -> None:
    """Nothing to undo in the schema; the rewritten keys stay canonical."""


def keys_of(stored: str) -> list[str]:
    """The keys a stored suppression key stands for; the first is its own new key."""
    try:
        return [canonical_key(stored)]
    except AddressError:
        pass
    keys = [stored]
    for part in _LIST_SEPARATOR.split(stored):
        try:
            keys.append(email_key(part))
        except AddressError:
            continue
    return list(dict.fromkeys(keys))


def _rekey_suppressions(bind: sa.Connection) -> None:
    s = _SUPPRESSIONS.c
    rows = bind.execute(sa.select(_SUPPRESSIONS).order_by(s.id)).mappings().all()
    groups: dict[tuple[str, str, str, str], list[Any]] = {}
    rekeyed: list[int] = []
    for row in rows:
        keys = keys_of(row["contact_key"])
        if keys[0] != row["contact_key"]:
            rekeyed.append(row["id"])
        for key in keys:
            groups.setdefault((row["tenant"], row["scope"], row["scope_key"], key), []).append(row)
    if rekeyed:
        bind.execute(sa.delete(_SUPPRESSIONS).where(s.id.in_(rekeyed)))
    for (tenant, scope, scope_key, key), members in groups.items():
        expires = _longest([m["expires_at"] for m in members])
        keeper = next((m for m in members if m["contact_key"] == key), None)
        if keeper is not None:
            if keeper["expires_at"] != expires:
                bind.execute(
                    sa.update(_SUPPRESSIONS).where(s.id == keeper["id"]).values(expires_at=expires)
                )
            continue
        first = members[0]
        bind.execute(
            sa.insert(_SUPPRESSIONS).values(
                tenant=tenant,
                scope=scope,
                scope_key=scope_key,
                contact_key=key,
                reason=first["reason"],
                source=first["source"],
                created_at=first["created_at"],
                expires_at=expires,
            )
        )


def _longest(expiries: list[datetime | None]) -> datetime | None:
    if any(e is None for e in expiries):
        return None
    return max(e for e in expiries if e is not None)


def _rekey_consent(bind: sa.Connection) -> None:
    c = _CONSENT.c
    stored = bind.execute(sa.select(c.contact_id).distinct()).scalars().all()
    for contact_id in stored:
        canonical = id_key(contact_id)
        if canonical != contact_id:
            bind.execute(
                sa.update(_CONSENT).where(c.contact_id == contact_id).values(contact_id=canonical)
            )
