"""Contact keys: how a contact id, e-mail address or phone number is matched.

Suppressions name a contact by key. The same normalization runs when an operator adds
a suppression and when the gate looks one up, so ``Ann@Example.com`` suppresses
``ann@example.com`` and ``+1 (212) 555-0100`` suppresses ``+12125550100``.

E-mail addresses are lower-cased as a whole: the local part is case-sensitive in theory
only, and a suppression should err on the side of matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers


def normalize_key(key: str) -> str:
    """The canonical form of a contact key (e-mail lower-cased, phone in E.164)."""
    key = key.strip()
    if "@" in key:
        return key.lower()
    if key.startswith("+"):
        return _e164(key) or key
    return key


def contact_keys(contact: Mapping[str, Any]) -> list[str]:
    """Every key a suppression of this contact may be stored under, without duplicates."""
    keys: list[str] = []
    contact_id = contact.get("id")
    if isinstance(contact_id, str) and contact_id:
        keys += [contact_id, normalize_key(contact_id)]
    email = contact.get("email")
    if isinstance(email, str) and email.strip():
        keys.append(email.strip().lower())
    phone = contact.get("phone")
    if isinstance(phone, str) and phone.strip():
        keys.append(_e164(phone) or phone.strip())
    return list(dict.fromkeys(keys))


def _e164(phone: str) -> str | None:
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


__all__ = ["contact_keys", "normalize_key"]
