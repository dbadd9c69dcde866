"""The read-only policies: suppression and consent lookups for one intended send.

Boundary: queries inside the gate's transaction; no decisions beyond "which row is
in force". Each returns the proof (JSON-ready) the decision detail records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.policy.keys import contact_keys, id_keys
from adapters.policy.request import GateRequest
from adapters.policy.tables import CONSENT, SUPPRESSIONS
from adapters.privacy import Pseudonyms
from adapters.privacy.contact_keys import KEYS

_SCOPE_RANK = case(
    (SUPPRESSIONS.c.scope == "global", 0), (SUPPRESSIONS.c.scope == "channel", 1), else_=2
)


@dataclass(frozen=True, slots=True)
class SuppressionHit:
    """The suppression that applies to a send (the broadest scope first)."""

    proof: dict[str, Any]
    reason: str


async def find_suppression(
    conn: AsyncConnection, request: GateRequest, pseudonyms: Pseudonyms | None = None
) -> tuple[list[str], SuppressionHit | None]:
    """The contact's keys, and the suppression in force for this send, if any.

    A suppression applies when one of the contact's keys is listed globally, on the
    send's channel, or for its plan, and has not expired at ``request.at``. With
    ``pseudonyms``, an address's keyed pseudonym matches too: an erasure keeps the
    suppressions of the contact's addresses under their pseudonyms only.
    """
    s = SUPPRESSIONS.c
    keys = contact_keys(request.contact)
    matched = list(keys)
    if pseudonyms is not None:
        matched += [pseudonyms.of(k) for k in keys if "@" in k or k.startswith("+")]
    query = (
        select(SUPPRESSIONS)
        .where(
            s.tenant == request.tenant,
            s.contact_key.in_(matched),
            or_(
                and_(s.scope == "global", s.scope_key == ""),
                and_(s.scope == "channel", s.scope_key == request.channel),
                and_(s.scope == "plan", s.scope_key == request.plan_id),
            ),
            or_(s.expires_at.is_(None), s.expires_at > request.at),
        )
        .order_by(_SCOPE_RANK, s.id)
        .limit(1)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return keys, None
    proof = suppression_view(row)
    where = {
        "global": "globally",
        "channel": f"on channel {row['scope_key']}",
        "plan": f"for plan {row['scope_key']}",
    }[row["scope"]]
    reason = f"contact key {row['contact_key']} is suppressed {where}: {row['reason']}"
    return keys, SuppressionHit(proof, reason)


async def erased_since(conn: AsyncConnection, request: GateRequest) -> str | None:
    """When the contact was erased (ISO 8601), if its newest key row says it is."""
    k = KEYS.c
    query = (
        select(k.erased_at)
        .where(k.tenant == request.tenant, k.contact_id == request.contact_id)
        .order_by(k.generation.desc())
        .limit(1)
    )
    erased = (await conn.execute(query)).scalar_one_or_none()
    return None if erased is None else erased.isoformat()


async def latest_consent(conn: AsyncConnection, request: GateRequest) -> dict[str, Any] | None:
    """The consent record in force for the contact and channel (the latest), if any.

    "Latest" is by ``recorded_at``, then by insertion order; records are not filtered
    by ``request.at``: a revocation recorded after the workflow's "now" still denies.
    Records are stored under the id's canonical form (``keys.id_key``); the id as
    given matches records written before that.
    """
    c = CONSENT.c
    query = (
        select(c.status, c.source, c.wording_version, c.recorded_at, c.id)
        .where(
            c.tenant == request.tenant,
            c.contact_id.in_(id_keys(request.contact_id)),
            c.channel == request.channel,
        )
        .order_by(c.recorded_at.desc(), c.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return {
        "id": row["id"],
        "status": row["status"],
        "source": row["source"],
        "recorded_at": row["recorded_at"].isoformat(),
        "wording_version": row["wording_version"],
    }


def suppression_view(row: Any) -> dict[str, Any]:
    """A suppression row as JSON-ready data."""
    return {
        "scope": row["scope"],
        "scope_key": row["scope_key"],
        "contact_key": row["contact_key"],
        "reason": row["reason"],
        "source": row["source"],
        "created_at": row["created_at"].isoformat(),
        "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
    }


__all__ = [
    "SuppressionHit",
    "erased_since",
    "find_suppression",
    "latest_consent",
    "suppression_view",
]
