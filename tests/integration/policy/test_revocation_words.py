"""Which reply texts revoke consent (``dee.events.stop_words``), at the edges of the rule:
a listed word leading the reply, inside a sentence, in the quoted message, as part of
another word."""

from __future__ import annotations

import pytest

from dee.events.stop_words import REVOCATION_WORDS, reply_text, stop_word

REVOKES = [
    ("STOP", "stop", True),
    ("stop", "stop", True),
    ("Stop.", "stop", True),
    ("  *STOP*  ", "stop", True),
    ("STOPALL", "stop", True),
    ("Unsubscribe me please", "unsubscribe", True),
    ("cancel", "cancel", True),
    ("END", "end", True),
    ('"Quit"', "quit", True),
    ("Revoke", "revoke", True),
    ("opt out", "opt-out", True),
    ("Opt-Out", "opt-out", True),
    ("OPTOUT", "opt-out", True),
    ("Do not call me again", "do-not-call", True),
    ("don\u2019t contact me", "do-not-contact", True),
    ("\n\nstop\n", "stop", True),
    # Inside a longer sentence: the unambiguous words still revoke.
    ("Please stop emailing me.", "stop", False),
    ("Thanks, but I want to unsubscribe.", "unsubscribe", False),
    ("I said do  not\ncall!", "do-not-call", False),
    ("Hello,\nplease opt me out -- opt out.", "opt-out", False),
    ("Who is this? I revoke my consent.", "revoke", False),
]

KEEPS = [
    "Yes, let's talk.",
    "Can we cancel Thursday and meet Friday?",  # everyday words count only leading
    "By the end of the week works.",
    "I quit my old job, so call the new number.",
    "Non-stop questions from me, sorry",  # part of another word
    "The shop stopped selling it",
    "weekend?",
    # The message being answered carries "unsubscribe" in its footer.
    "Sounds good\n\nOn Mon, 7 Dec 2026, Sales <sales@example.com> wrote:\n> To unsubscribe click",
    "Sounds good\n> Reply STOP to stop",
    "Ok\n-----Original Message-----\nunsubscribe",
    "",
]


@pytest.mark.parametrize(("text", "word", "leading"), REVOKES)
def test_a_listed_word_revokes(text: str, word: str, leading: bool) -> None:
    found = stop_word(text)
    assert found is not None, text
    assert (found.word, found.leading, found.source) == (word, leading, f"reply:{word}")


@pytest.mark.parametrize("text", KEEPS)
def test_other_replies_do_not_revoke(text: str) -> None:
    assert stop_word(text) is None


def test_every_word_fcc_24_24_names_is_listed() -> None:
    spellings = {s for spelled, _ in REVOCATION_WORDS.values() for s in spelled}
    for word in ("stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"):
        assert word in spellings
        assert stop_word(word.upper()) is not None


def test_only_reply_events_are_read() -> None:
    assert reply_text("email.replied", {"snippet": "STOP"}) == "STOP"
    assert reply_text("sms.replied", {"text": "stop", "snippet": "other"}) == "stop"
    assert reply_text("email.opened", {"text": "STOP"}) is None
    assert reply_text("email.replied", {"snippet": 3}) is None
    assert reply_text("email.replied", {}) is None
