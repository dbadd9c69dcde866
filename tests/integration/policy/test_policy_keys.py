"""Suppression and consent keys in one canonical form (issue 18, item 1).

However an operator spelled the suppression and however the contact's address is
spelled, the gate compares the same canonical key; what is not one mailbox never
reaches a lookup. Rows stored before the canonical form (migration 0007) still block.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection

from adapters.policy import PolicyAdmin, PolicyGate, PolicyInputError
from adapters.policy.tables import CONSENT, SUPPRESSIONS
from adapters.storage import Database
from adapters.storage.migrations import alembic_config, current_revision, upgrade

from .helpers import NOON, send

OPERATOR_SPELLINGS = [
    "victim@example.com",
    " Victim <VICTIM@Example.COM> ",
    '"victim"@example.com.',
]
CONTACT_SPELLINGS = [
    "victim@example.com",
    "Victim <victim@example.com>",
    '"victim"@example.com',
    "victim@EXAMPLE.com",
    "VICTIM@example.com.",
    '"The Victim" <"vic\\tim"@Example.Com>',
]


async def test_any_spelling_of_a_suppressed_address_is_denied(
    database: Database, admin: PolicyAdmin
) -> None:
    gate = PolicyGate(database)
    for n, operator in enumerate(OPERATOR_SPELLINGS):  # one tenant per operator spelling
        entry = await admin.suppress(f"t{n}", "global", None, operator, "complaint", "fbl")
        assert entry.contact_key == "victim@example.com"
        for spelling in CONTACT_SPELLINGS:
            decision = await gate.evaluate(send(tenant=f"t{n}", email=spelling))
            assert (decision.decision, decision.policy) == ("deny", "suppression"), spelling
            assert decision.detail["suppression"]["keys"] == ["c1", "victim@example.com"]
        assert (await gate.evaluate(send(tenant=f"t{n}", email="other@example.com"))).allowed


@pytest.mark.parametrize(
    "spelling",
    [
        "victim@EXAMPLE.com, other@example.com",
        "other@example.com; victim@example.com",
        "team: victim@example.com;",
        "other@example.com (victim@example.com)",
        "other@example.com\r\nBcc: victim@example.com",
    ],
)
def test_a_contact_address_that_is_not_one_mailbox_never_reaches_the_gate(spelling: str) -> None:
    # The activity turns this error into a denial (policy "input"): fail-closed.
    with pytest.raises(PolicyInputError) as refused:
        send(email=spelling)
    assert refused.value.field == "contact.email"


async def test_any_spelling_of_a_suppressed_number_is_denied(
    database: Database, admin: PolicyAdmin
) -> None:
    entry = await admin.suppress("acme", "channel", "voice", "+1 (212) 555-0100", "dnc", "list")
    assert entry.contact_key == "+12125550100"
    gate = PolicyGate(database)
    for phone, country in [
        ("+12125550100", None),
        ("+1 212-555-0100", None),
        ("001 212 555 0100", None),
        ("(212) 555-0100", "US"),
        ("212.555.0100", "us"),
    ]:
        decision = await gate.evaluate(send(channel="voice", phone=phone, country=country))
        assert (decision.decision, decision.policy) == ("deny", "suppression"), phone
    with pytest.raises(PolicyInputError, match=r"contact\.phone: is a national number"):
        send(channel="voice", phone="(212) 555-0100")


async def test_consent_is_recorded_and_found_under_the_canonical_id(
    database: Database, admin: PolicyAdmin
) -> None:
    granted = await admin.grant_consent("acme", " Ann@Example.COM ", "voice", "form", "v1")
    assert granted.contact_id == "ann@example.com"
    gate = PolicyGate(database)
    # Contact ids are opaque, but one that is an address is matched in its canonical form.
    assert (await gate.evaluate(send(channel="voice", id="ann@example.com"))).allowed
    assert (await gate.evaluate(send(channel="voice", id="ANN@example.com"))).allowed
    await admin.revoke_consent("acme", "ann@EXAMPLE.com", "voice", "reply-stop")
    denied = await gate.evaluate(send(channel="voice", id="Ann@Example.com"))
    assert (denied.decision, denied.policy) == ("deny", "consent")


def _downgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_rows_stored_before_the_canonical_form_still_block(database: Database) -> None:
    async with database.transaction() as conn:
        await conn.run_sync(_downgrade_to, "0006")
    later = NOON + timedelta(days=30)
    legacy = [  # (scope, scope_key, contact_key as an older version or an import stored it)
        ("global", "", "Victim@Example.com", None),
        ("global", "", "victim <victim@bücher.example>", None),
        ("global", "", '"quoted"@example.com', None),
        ("global", "", "a@example.com, b@example.com", None),
        ("global", "", "c1", None),
        ("channel", "voice", "+1 (212) 555-0100", None),
        ("channel", "email", "twice@example.com", later),
        ("channel", "email", "TWICE@example.com", None),
    ]
    async with database.transaction() as conn:
        for scope, scope_key, key, expires in legacy:
            await conn.execute(
                SUPPRESSIONS.insert().values(
                    tenant="acme",
                    scope=scope,
                    scope_key=scope_key,
                    contact_key=key,
                    reason=f"legacy {key}",
                    source="import",
                    created_at=NOON,
                    expires_at=expires,
                )
            )
        await conn.execute(
            CONSENT.insert().values(
                tenant="acme",
                contact_id="Ann@Example.com",
                channel="email",
                status="opted_out",
                source="import",
                wording_version=None,
                recorded_at=NOON,
                detail={},
            )
        )
    assert await current_revision(database) == "0006"

    assert await upgrade(database) == "0010"  # the revisions after 0007 keep its keys

    s = SUPPRESSIONS.c
    async with database.snapshot() as conn:
        rows = (await conn.execute(select(s.scope, s.scope_key, s.contact_key, s.expires_at))).all()
        consent_ids = (await conn.execute(select(CONSENT.c.contact_id))).scalars().all()
    assert sorted(rows, key=lambda r: (r.scope, r.scope_key, r.contact_key)) == [
        ("channel", "email", "twice@example.com", None),  # merged: the longest expiry
        ("channel", "voice", "+12125550100", None),
        ("global", "", "a@example.com", None),  # each mailbox of a stored list
        ("global", "", "a@example.com, b@example.com", None),
        ("global", "", "b@example.com", None),
        ("global", "", "c1", None),
        ("global", "", "quoted@example.com", None),
        ("global", "", "victim@example.com", None),
        ("global", "", "victim@xn--bcher-kva.example", None),
    ]
    assert consent_ids == ["ann@example.com"]
    gate = PolicyGate(database)
    at = datetime(2025, 6, 11, 15, tzinfo=UTC)
    for contact in [
        {"id": "c9", "email": "victim@example.com"},
        {"id": "c9", "email": "Victim <victim@BÜCHER.example>"},
        {"id": "c9", "email": "b@example.com"},
        {"id": "c9", "email": "Twice@Example.com", "channel": "email"},
        {"id": "ann@example.com", "email": "ann@example.com"},
    ]:
        decision = await gate.evaluate(send(at=at, **contact))
        assert decision.decision == "deny", contact
