"""Keyed pseudonyms of compared values, and the redaction of a contact's values in text.

A value that is only ever compared (a suppression key: an address, a phone number)
needs no plain copy: ``HMAC-SHA256(pseudonym key, canonical value)`` compares the
same, and without the key it can be neither reversed nor recomputed from a guess.
Values are canonicalised first (``adapters.addresses``), so every spelling of one
mailbox has one pseudonym. The contact *id* is not pseudonymised: it is the opaque
handle erasure and consent are keyed by (docs/privacy.md asks that it carry no
personal data).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import phonenumbers

from adapters.addresses import AddressError, canonical_key

PREFIX = "pseud:"
_HEX = 32  # 128 bits: collisions are out of reach for any contact base
# The fields of a contact that are personal and shown nowhere in DEE's records. Any
# other field a plan uses is the caller's to keep impersonal (docs/privacy.md).
PERSONAL_FIELDS = (
    "email", "phone", "name", "first_name", "last_name", "full_name", "firstName",
    "lastName", "fullName", "company", "address", "title",
)  # fmt: skip
_ADDRESS_FIELDS = ("email", "phone")
_KNOWN_MAX = 10_000
_MIN_NATIONAL = 6  # fewer digits alone would blank out unrelated numbers in a reason
_MIN_REDACTED = 2  # a one-letter "name" would blank out every word holding it


class Pseudonyms:
    """Keyed pseudonyms under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        # Canonicalising a phone number costs ~0.1 ms; every policy check of a run asks
        # again for the same contact's keys. Bounded, and cleared when full.
        self._known: dict[str, str] = {}

    def of(self, canonical: str) -> str:
        """The pseudonym of an already canonical key (``email_key``, E.164)."""
        digest = hmac.new(self._key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:_HEX]

    def of_key(self, key: str) -> str:
        """The pseudonym of an operator's key: canonicalised first when it can be."""
        found = self._known.get(key)
        if found is None:
            try:
                found = self.of(canonical_key(key))
            except AddressError:
                found = self.of(key.strip().lower())
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[key] = found
        return found

    def redactor(self, contact: Mapping[str, Any]) -> Redactor:
        return Redactor(self, contact)


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)


def _phone_spellings(canonical: str) -> list[str]:
    """Other ways a provider quotes an E.164 number in a reason: without the ``+``
    (Vonage's form), national and international formats, the national digits alone."""
    if not canonical.startswith("+"):
        return []
    try:
        parsed = phonenumbers.parse(canonical, None)
    except phonenumbers.NumberParseException:
        return []
    national = str(parsed.national_number)
    spellings = [
        canonical[1:],
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    ]
    if len(national) >= _MIN_NATIONAL:
        spellings.append(national)
    return spellings


class Redactor:
    """Replaces a contact's personal values inside text and JSON-like trees.

    Addresses become their pseudonyms (so a reader can still tell "the same address");
    names and the like become ``[field]``. Matching ignores case, and a value is only
    replaced where it stands as a whole word (``Ann`` in ``Annual`` stays).
    """

    def __init__(self, pseudonyms: Pseudonyms, contact: Mapping[str, Any]) -> None:
        found: dict[str, str] = {}
        for field in PERSONAL_FIELDS:
            value = contact.get(field)
            if not isinstance(value, str) or len(value.strip()) < _MIN_REDACTED:
                continue
            shown = pseudonyms.of_key(value) if field in _ADDRESS_FIELDS else f"[{field}]"
            found[value.strip().lower()] = shown
            if field in _ADDRESS_FIELDS:
                with contextlib.suppress(AddressError):
                    canonical = canonical_key(value)
                    found[canonical.lower()] = shown
                    for spelling in _phone_spellings(canonical):
                        found.setdefault(spelling.lower(), shown)
        self._shown = found
        ordered = sorted(found, key=len, reverse=True)  # the longest spelling first
        alternatives = "|".join(re.escape(v) for v in ordered)
        self._pattern = (
            re.compile(rf"(?<![\w.+@-])(?:{alternatives})(?![\w@]|[.+-]\w)", re.IGNORECASE)
            if ordered
            else None
        )

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self._shown[m.group(0).lower()], value)

    def tree(self, value: Any) -> Any:
        """``value`` with every string in it (keys too) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.tree(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.tree(v) for v in value]
        return value


__all__ = ["PERSONAL_FIELDS", "PREFIX", "Pseudonyms", "Redactor", "is_pseudonym"]
