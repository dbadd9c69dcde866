"""Tokens and rewriting: deterministic, purpose-bound, and only our links redirect."""

from __future__ import annotations

import asyncio

import pytest

from adapters.channels import EmailMessage
from adapters.storage import Database, SecretStore
from adapters.tracking import (
    EmailTracking,
    InvalidToken,
    MessageIndex,
    Ref,
    SendContext,
    SentMessage,
    TrackingSettings,
    sign,
    signing_key,
    verify,
)
from adapters.tracking.rewrite import Links, html_from_text, track_html, track_text

SECRET = b"s3cret"
REF = Ref("run-1", "intro", 1)
BASE = "https://hooks.example.com"


def _message(html: str | None) -> EmailMessage:
    return EmailMessage(
        to="a@example.com", sender="s@example.com", subject="Hi",
        text="See https://example.com/a. Bye", html=html, reply_to=None,
        message_id="<k@example.com>",
    )  # fmt: skip


def test_tokens_round_trip_and_are_bound_to_purpose_and_value() -> None:
    token = sign(SECRET, "click", REF, "https://example.com")
    assert token == sign(SECRET, "click", REF, "https://example.com")  # deterministic
    assert verify(SECRET, "click", token, "https://example.com") == REF
    for purpose, bound, secret in [
        ("open", "https://example.com", SECRET),
        ("click", "https://evil.example", SECRET),
        ("click", "https://example.com", b"other"),
    ]:
        with pytest.raises(InvalidToken):
            verify(secret, purpose, token, bound)


def test_a_token_naming_a_run_id_that_is_not_text_is_refused() -> None:
    # Found by the fuzz harness: a lone surrogate in a (signed) run id reached the
    # database lookup, which raised, and the receiver answered 500.
    token = sign(SECRET, "open", Ref("run-\udfff", "intro", 1))
    with pytest.raises(InvalidToken, match="not valid text"):
        verify(SECRET, "open", token)


def test_links_and_pixel_are_rewritten_and_our_own_links_are_not() -> None:
    links = Links(BASE, SECRET, REF)
    text = track_text("Go to https://example.com/a, or https://example.com/b.", links)
    assert text.count(f"{BASE}/webhooks/email/click/") == 2 and text.endswith(".")
    html = track_html(
        '<html><body><a href="https://example.com/?a=1&amp;b=2">x</a>'
        '<a href="mailto:x@example.com">m</a></body></html>',
        links,
        opens=True,
        clicks=True,
    )
    assert "mailto:x@example.com" in html
    assert "url=https%3A%2F%2Fexample.com%2F%3Fa%3D1%26b%3D2" in html
    assert html.index("/webhooks/email/open/") < html.index("</body>")
    assert track_text(links.unsubscribe(), links) == links.unsubscribe()
    assert '<a href="https://example.com/a">' in html_from_text("See https://example.com/a.")


def test_tracking_is_deterministic_and_adds_rfc8058_headers() -> None:
    tracking = EmailTracking(TrackingSettings(BASE, SECRET), None)
    send = SendContext("t", "run-1", "intro", 1, "c-1", True, True)
    first, again = (tracking.rewrite(_message(None), send) for _ in range(2))
    assert first == again and first.html is not None
    assert first.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first.headers["List-Unsubscribe"].startswith(f"<{BASE}/webhooks/email/unsubscribe/")
    assert "/webhooks/email/open/" in first.html and "/click/" in first.text
    plain = SendContext("t", "run-1", "intro", 1, "c-1", False, False)
    untracked = tracking.rewrite(_message(None), plain)  # no pixel or links asked for ...
    assert untracked.html is None and "/click/" not in untracked.text
    assert untracked.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # ... yet
    assert verify(SECRET, "ref", untracked.headers["X-DEE-Ref"]) == REF
    with pytest.raises(ValueError, match="secret is empty"):
        TrackingSettings(BASE, b"")


async def test_the_message_index_is_idempotent_and_finds_replies(database: Database) -> None:
    index = MessageIndex(database)
    sent = SentMessage("abc234", "t", "run-1", "intro", 1, "c-1")
    await index.record(sent)
    await index.record(sent)  # a retried send writes the same row, no error
    assert await MessageIndex(database).find(["<zzz@x.example>", "<abc234@mail.example>"]) == sent
    assert await index.find(["<unknown@x.example>", "not-a-msg-id"]) is None


async def test_without_a_configured_secret_every_process_gets_the_same_stored_one(
    database: Database,
) -> None:
    # Eight processes' worth of first starts (separate engines, so separate
    # connections): the insert-if-absent must leave them all with the one key.
    url = database.url.render_as_string(hide_password=False)
    others = [Database(url, search_path=database.search_path) for _ in range(8)]
    try:
        keys = await asyncio.gather(*(signing_key(None, db) for db in others))
    finally:
        for db in others:
            await db.dispose()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert await signing_key(None, database) == keys[0]  # stored: a restart keeps it
    assert await signing_key("configured", database) == b"configured"  # configured wins
    assert await SecretStore(database).get_or_create("another") != keys[0]
