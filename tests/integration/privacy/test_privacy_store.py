"""The privacy adapter on both databases: keyed pseudonyms, sealed fields, the master
key's sources, data keys created, destroyed and enrolled again, and suppressions kept
as pseudonyms still blocking every spelling of the address."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.policy import GateRequest, PolicyAdmin, PolicyGate
from adapters.policy.ledger import LedgerRow, import_attempts
from adapters.policy.rules.model import Attempt
from adapters.policy.tables import CONTACT_SENDS
from adapters.privacy import (
    ERASED_TEXT,
    UNREADABLE_TEXT,
    ContactErased,
    MasterKey,
    MasterKeyError,
    Privacy,
    Pseudonyms,
)
from adapters.privacy.contact_keys import KEYS
from adapters.privacy.master import encode_key
from adapters.privacy.scrub import scrub
from adapters.storage import Database
from interpreter.commands import channel_named

MASTER = MasterKey.of(bytes(range(32)))
NOON = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_every_spelling_of_an_address_has_one_pseudonym_and_the_key_matters() -> None:
    p = Pseudonyms(MASTER.pseudonym_key)
    spellings = ["ann@example.com", "Ann <ANN@Example.COM>", " ann@EXAMPLE.com. "]
    assert len({p.of_key(s) for s in spellings}) == 1
    assert p.of_key("+1 (212) 555-0100") == p.of_key("+12125550100")
    other = Pseudonyms(MasterKey.of(bytes(32)).pseudonym_key)
    assert other.of_key("ann@example.com") != p.of_key("ann@example.com")
    assert p.of_key("ann@example.com").startswith("pseud:")


def test_redaction_replaces_whole_values_only() -> None:
    p = Pseudonyms(MASTER.pseudonym_key)
    contact = {"id": "c1", "email": "Ann@Example.com", "first_name": "Ann", "company": "Acme"}
    r = p.redactor(contact)
    text = r.text("550 <ann@example.com>: Ann of ACME; Annual report; ann.other@example.com")
    assert text == (
        f"550 <{p.of_key('ann@example.com')}>: [first_name] of [company]; Annual report; "
        "ann.other@example.com"
    )
    assert r.tree({"Ann": ["ann", 3]}) == {"[first_name]": ["[first_name]", 3]}


@pytest.mark.parametrize(
    "reason",
    [
        "Vonage: invalid number 15555550177",  # E.164 without the '+'
        "Twilio: The 'To' number +1 555-555-0177 is unreachable",
        "carrier: (555) 555-0177 is disconnected",
        "carrier: 5555550177 blocked",
    ],
)
def test_a_provider_quoting_the_number_in_another_format_is_redacted(reason: str) -> None:
    p = Pseudonyms(MASTER.pseudonym_key)
    redacted = p.redactor({"id": "c1", "phone": "+1 (555) 555-0177"}).text(reason)
    assert "555" not in redacted.replace(p.of_key("+15555550177"), ""), redacted
    assert p.of_key("+15555550177") in redacted


def test_the_default_key_file_is_generated_once_private(tmp_path: Path) -> None:
    first = MasterKey.load(value=None, file=None, data_dir=tmp_path / "data")
    path = tmp_path / "data" / "privacy.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKey.load(value=None, file=None, data_dir=tmp_path / "data") == first
    given = MasterKey.load(value=path.read_text(), file=None, data_dir=tmp_path / "elsewhere")
    assert given == first and not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not base64!", "privacy.masterKey: not base64url key bytes"),
        (encode_key(b"short"), "privacy.masterKey: 5 bytes, a master key has 32"),
    ],
)
def test_a_bad_master_key_is_refused_naming_it(value: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match=message):
        MasterKey.load(value=value, file=None, data_dir=tmp_path)


def test_a_configured_key_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="cannot be read"):
        MasterKey.load(value=None, file=tmp_path / "missing.key", data_dir=tmp_path)
    assert not (tmp_path / "missing.key").exists()


async def test_sealed_fields_open_for_their_contact_only_until_erased(database: Database) -> None:
    privacy = Privacy(database, MASTER)
    keys = privacy.keys
    sealed = await keys.seal("acme", "c1", "Re: my private matter")
    assert sealed.startswith("sealed:v1:1:") and "private" not in sealed
    assert await keys.open("acme", "c1", sealed) == "Re: my private matter"
    # Copied into another contact's record, or altered: it does not open.
    await keys.seal("acme", "c2", "x")
    assert await keys.open("acme", "c2", sealed) == UNREADABLE_TEXT
    # One character of the ciphertext changed (not the last: its padding bits may not
    # count, and the last two could already read "AA"): authentication fails.
    changed = "B" if sealed[-10] == "A" else "A"
    assert await keys.open("acme", "c1", sealed[:-10] + changed + sealed[-9:]) == UNREADABLE_TEXT
    # Under another master key, the stored data key does not unwrap.
    stranger = Privacy(database, MasterKey.of(bytes(32))).keys
    assert await stranger.open("acme", "c1", sealed) == UNREADABLE_TEXT

    assert await keys.erase("acme", "c1") is True
    assert await keys.erase("acme", "c1") is False  # already erased
    assert await keys.open("acme", "c1", sealed) == ERASED_TEXT
    with pytest.raises(ContactErased):
        await keys.seal("acme", "c1", "more")
    assert await keys.erased_among("acme", ["c1", "c2", "c3"]) == {"c1"}
    async with database.snapshot() as conn:
        stored = await conn.execute(select(KEYS.c.wrapped_key).where(KEYS.c.contact_id == "c1"))
        assert stored.scalars().all() == [None]

    assert await keys.enrol("acme", "c1") == 2
    assert await keys.enrol("acme", "c1") == 2  # enrolled: nothing changes
    fresh = await keys.seal("acme", "c1", "hello again")
    assert (
        fresh.startswith("sealed:v1:2:") and await keys.open("acme", "c1", fresh) == "hello again"
    )
    assert await keys.open("acme", "c1", sealed) == ERASED_TEXT  # the old generation stays dead
    assert await keys.erased_among("acme", ["c1"]) == set()


async def test_erasing_a_contact_never_seen_marks_it(database: Database) -> None:
    keys = Privacy(database, MASTER).keys
    assert await keys.erase("acme", "c9") is True
    state = await keys.state("acme", "c9")
    assert state is not None and state.erased_at is not None


async def test_a_suppression_kept_as_a_pseudonym_blocks_every_spelling(
    database: Database,
) -> None:
    privacy = Privacy(database, MASTER)
    admin = PolicyAdmin(database)
    await admin.suppress("acme", "global", None, "Victim <VICTIM@example.com>", "asked", "api")
    contact = {"id": "c-victim", "email": "victim@example.com"}
    report = await scrub(
        database, privacy.pseudonyms, tenant="acme", contact_id="c-victim", run_ids=[],
        contacts=[contact],
    )  # fmt: skip
    assert report.suppressions_pseudonymised == 1
    [entry] = await admin.list_suppressions("acme")
    assert entry.contact_key == privacy.pseudonyms.of_key("victim@example.com")
    gate = PolicyGate(database, pseudonyms=privacy.pseudonyms)
    for spelling in ("victim@example.com", "Victim <victim@EXAMPLE.com>", "VICTIM@example.com."):
        request = GateRequest(
            tenant="acme", run_id=f"r-{spelling}", plan_id="p", step_id="s", visit=1,
            channel=channel_named("email"), contact={"id": "c-other", "email": spelling}, at=NOON,
        )  # fmt: skip
        decision = await gate.evaluate(request)
        assert (decision.decision, decision.policy) == ("deny", "suppression"), spelling
    # Without the pseudonym key (an older worker), the pseudonym is never matched.
    unkeyed = await PolicyGate(database).evaluate(request)
    assert unkeyed.decision == "allow"
    again = await scrub(
        database, privacy.pseudonyms, tenant="acme", contact_id="c-victim", run_ids=[],
        contacts=[contact],
    )  # fmt: skip
    assert again.suppressions_pseudonymised == 0


async def test_erasure_clears_what_the_contacts_attempts_were_about(database: Database) -> None:
    privacy = Privacy(database, MASTER)
    about = {"debt_ref": "ACCT-4471-99", "subject": "arrears"}
    rows = [
        LedgerRow(who, Attempt("voice", NOON, "answered", about["debt_ref"], about["subject"]))
        for who in ("c-gone", "c-kept")
    ]
    assert (await import_attempts(database, "acme", rows)).added == 2
    report = await scrub(
        database, privacy.pseudonyms, tenant="acme", contact_id="c-gone", run_ids=[],
        contacts=[{"id": "c-gone"}],
    )  # fmt: skip
    assert report.attempts_cleared == 1
    async with database.snapshot() as conn:
        found = {
            row.contact_id: (row.debt_ref, row.subject, row.outcome)
            for row in await conn.execute(select(CONTACT_SENDS))
        }
    # The attempt still counts (channel, time and outcome stay); what it was about goes.
    assert found["c-gone"] == (None, None, "answered")
    assert found["c-kept"] == ("ACCT-4471-99", "arrears", "answered")


async def test_the_gate_denies_an_erased_contact_first(database: Database) -> None:
    privacy = Privacy(database, MASTER)
    gate = PolicyGate(database, pseudonyms=privacy.pseudonyms)

    def asked(visit: int) -> GateRequest:
        return GateRequest(
            tenant="acme", run_id="r1", plan_id="p", step_id="s", visit=visit,
            channel=channel_named("email"), contact={"id": "c1", "email": "a@example.com"},
            at=NOON,
        )  # fmt: skip

    assert (await gate.evaluate(asked(1))).decision == "allow"
    await privacy.keys.erase("acme", "c1")
    denied = await gate.evaluate(asked(2))
    assert (denied.decision, denied.policy) == ("deny", "erased")
    assert denied.reason is not None and denied.reason.startswith("contact c1 was erased at ")
    await privacy.keys.enrol("acme", "c1")
    assert (await gate.evaluate(asked(3))).decision == "allow"
