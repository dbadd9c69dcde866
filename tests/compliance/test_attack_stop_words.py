"""Attacks on reading a reply: the ways people write STOP, HTML-only replies, a quoted
footer's own "unsubscribe", hostile and huge text (never raises)."""

from __future__ import annotations

import pytest

from dee.events.stop_words import html_text, reply_excerpt, stop_word


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP.", "stop"),
        ("Stop!", "stop"),
        ("STOP\r\n", "stop"),
        ("unsubscribe me", "unsubscribe"),
        ("please remove me", "remove-me"),
        ("Remove me from your list", "remove-me"),
        ("Take me off this list.", "remove-me"),
        ("\uff33\uff34\uff2f\uff30", "stop"),  # full-width, from a phone keyboard
        ("\ufeffSTOP", "stop"),
        ("\u201cStop\u201d", "stop"),
    ],
)
def test_the_ways_people_write_stop_revoke(text: str, word: str) -> None:
    found = stop_word(text)
    assert found is not None and found.word == word


def test_an_html_only_reply_is_read_without_its_quoted_footer() -> None:
    markup = (
        "<html><head><style>p{}</style></head><body><div>Sounds good, thanks</div>"
        "<blockquote><p>To unsubscribe, reply STOP</p></blockquote></body></html>"
    )
    assert html_text(markup) == "Sounds good, thanks"
    assert stop_word(html_text(markup)) is None
    stop = html_text("<div dir='ltr'>STOP&nbsp;</div><div><br></div><blockquote>x</blockquote>")
    found = stop_word(stop)
    assert found is not None and found.leading


def test_a_revocation_past_the_snippet_is_kept_in_it() -> None:
    text = "Hello, " + "I have been thinking about your offer. " * 10 + "Please stop emailing me."
    excerpt = reply_excerpt(text, 200)
    assert len(excerpt) <= 200
    found = stop_word(excerpt)
    assert found is not None and found.word == "stop"
    assert reply_excerpt("Yes, let's talk. " * 30, 200) == ("Yes, let's talk. " * 30)[:200].strip()


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x1b[31m\ud800" * 1000,
        "<" * 100_000,
        "<blockquote>" * 10_000 + "STOP",
        "&#xffffffff; &#0; &bogus;",
        "-" * 2_000_000,
        "do " + "not " * 200_000,
    ],
)
def test_hostile_text_never_raises(text: str) -> None:
    stop_word(text)
    stop_word(html_text(text))
    reply_excerpt(text, 200)
