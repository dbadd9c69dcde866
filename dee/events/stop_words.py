"""Which replies revoke consent: the one word list, and how a reply's text is read.

FCC 24-24 (47 CFR 64.1200(a)(10), as amended) lets a called party revoke consent "by
any reasonable means", and names words that are a revocation when sent in reply:
stop, quit, end, revoke, opt out, cancel, unsubscribe. DEE adds the spellings people
write ("opt-out", "optout", "stopall") and the plain requests "do not call", "do not
contact" ("don't" too) and "remove me" ("take me off").

How a reply is read, erring on the side of revocation (a missed revocation is a
violation; a needless one only costs a message):

* Only the contact's own words: quoted lines (``>``) and everything from a quote
  header (``On ... wrote:``, ``-----Original Message-----``, ``From:``) on are dropped,
  since the message being answered carries "unsubscribe" in its own footer.
* The first non-empty line beginning with any listed word is a revocation ("STOP",
  "Stop.", "Unsubscribe me", "cancel please", "END").
* Anywhere else in the contact's words, a listed word that is not also an everyday
  word is a revocation too ("Please stop emailing me", "I said do not call"). The
  everyday words (``end``, ``cancel``, ``quit``) count only where they begin the first
  line: "Can we cancel Thursday?" or "by the end of the week" is not a request to stop.

Matching is case-insensitive, on whole words (``stopped`` or ``weekend`` match nothing),
after Unicode compatibility folding (full-width letters read as plain ones). An
HTML-only reply is read as its text (``html_text``), a quoted ``<blockquote>`` left out
like a quoted line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

# word (as recorded in the consent source ``reply:<word>``) -> (spellings, anywhere?)
# ``anywhere``: also counts inside a longer sentence, not only at the reply's start.
REVOCATION_WORDS: Mapping[str, tuple[tuple[str, ...], bool]] = {
    "stop": (("stop", "stopall", "stop all"), True),
    "unsubscribe": (("unsubscribe",), True),
    "revoke": (("revoke",), True),
    "opt-out": (("opt out", "opt-out", "optout"), True),
    "do-not-call": (("do not call", "don't call", "dont call"), True),
    "do-not-contact": (("do not contact", "don't contact", "dont contact"), True),
    "remove-me": (("remove me", "take me off"), True),
    "cancel": (("cancel",), False),
    "end": (("end",), False),
    "quit": (("quit",), False),
}
# Where the contact's own words end and the quoted message begins.
_QUOTE_HEADER = re.compile(
    r"^\s*(on\s.+\swrote:|-{2,}\s*original message\s*-{2,}|from:\s)", re.IGNORECASE
)
# Fields of an event's data that may hold the reply's text, in order of preference:
# the inbound email webhook records ``snippet``; events ingested through the API or
# an SMS provider say ``text`` or ``body``.
TEXT_FIELDS = ("text", "body", "snippet")


@dataclass(frozen=True, slots=True)
class StopWord:
    """A revocation found in a reply: the word (as listed) and whether it led the reply."""

    word: str
    leading: bool

    @property
    def source(self) -> str:
        """The consent record's source: ``reply:<word>``."""
        return f"reply:{self.word}"


def _pattern(spelling: str) -> str:
    # Spaces match any run of whitespace; apostrophes either typewriter or typographic.
    parts = (re.escape(p).replace("'", "['\u2019]") for p in spelling.split())
    return r"\s+".join(parts)


_ALL = {
    word: re.compile(
        r"(?<![\w-])(" + "|".join(_pattern(s) for s in spellings) + r")(?![\w-])", re.IGNORECASE
    )
    for word, (spellings, _anywhere) in REVOCATION_WORDS.items()
}


def own_words(text: str) -> list[str]:
    """The reply's lines the contact wrote: quoted lines and the quoted message dropped."""
    lines: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return lines


def stop_word(text: str) -> StopWord | None:
    """The revocation in a reply's text, if it holds one (see the module docstring)."""
    lines = own_words(unicodedata.normalize("NFKC", text))
    first = next((line.strip() for line in lines if line.strip()), "")
    lead = first.lstrip(" \t\"'*_-.,:;!?()[]")
    for word, pattern in _ALL.items():
        found = pattern.match(lead)
        if found is not None:
            return StopWord(word, leading=True)
    body = "\n".join(lines)
    for word, pattern in _ALL.items():
        if REVOCATION_WORDS[word][1] and pattern.search(body) is not None:
            return StopWord(word, leading=False)
    return None


def reply_excerpt(text: str, width: int) -> str:
    """At most ``width`` characters of a reply for the event's data, holding the
    revocation the whole reply holds: the reply's start, or, when its revocation lies
    further on, the contact's own words from the revocation on."""
    cut = text.strip()[:width]
    found = stop_word(text)
    if found is None or stop_word(cut) == found:
        return cut
    body = "\n".join(own_words(unicodedata.normalize("NFKC", text)))
    match = _ALL[found.word].search(body)
    if match is None:  # not reached: stop_word found it in these very words
        return cut
    return body[match.start() : match.start() + width].strip()


class _HtmlText(HTMLParser):
    """The text of an HTML body: tags dropped, blocks on lines of their own, scripts,
    styles and quoted ``<blockquote>`` content left out."""

    _SKIP = frozenset({"script", "style", "blockquote", "head"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "table", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """The contact's text of an HTML-only reply (see ``_HtmlText``); never raises."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts).strip()


def reply_text(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The text of a reply event (``*.replied``), or ``None`` for any other event."""
    if not event_type.endswith(".replied"):
        return None
    for name in TEXT_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


__all__ = [
    "REVOCATION_WORDS",
    "TEXT_FIELDS",
    "StopWord",
    "html_text",
    "own_words",
    "reply_excerpt",
    "reply_text",
    "stop_word",
]
