"""Privacy: keyed pseudonyms, per-contact sealed fields, and crypto-shredding.

Boundary: the ``cryptography`` primitives (HMAC-SHA256, HKDF, AES-256-GCM), the
``contact_keys`` table, and the master key's sources (a value or a key file, passed
in: nothing here reads the environment). Personal values that are only compared
become pseudonyms; those that must stay readable are sealed under the contact's data
key, which erasure destroys. docs/privacy.md has the data inventory.
"""

from __future__ import annotations

from adapters.privacy.contact_keys import ERASED_TEXT, UNREADABLE_TEXT, ContactKeys, KeyState
from adapters.privacy.errors import ContactErased, MasterKeyError, PrivacyError
from adapters.privacy.master import KEY_FILE_NAME, MasterKey
from adapters.privacy.pseudonyms import PREFIX, Pseudonyms, Redactor, is_pseudonym
from adapters.privacy.records import Privacy
from adapters.privacy.sealing import is_sealed

__all__ = [
    "ERASED_TEXT",
    "KEY_FILE_NAME",
    "PREFIX",
    "UNREADABLE_TEXT",
    "ContactErased",
    "ContactKeys",
    "KeyState",
    "MasterKey",
    "MasterKeyError",
    "Privacy",
    "PrivacyError",
    "Pseudonyms",
    "Redactor",
    "is_pseudonym",
    "is_sealed",
]
