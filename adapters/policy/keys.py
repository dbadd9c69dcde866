"""Contact keys: how a contact id, e-mail address or phone number is matched.

Suppressions name a contact by key; consent records by contact id. The same
canonical forms (``adapters.addresses``) are used when an operator adds a record and
when the gate looks one up, so ``Victim <Victim@EXAMPLE.com>`` suppresses
``victim@example.com`` and ``+1 (212) 555-0100`` suppresses ``+12125550100``.

An operator's key is an e-mail address when it holds an ``@`` (it must then be
exactly one mailbox), a phone number when it starts with ``+`` (it must then be a
possible number), and a contact id otherwise. A contact *id* is opaque: it is never
refused, only matched in its canonical form as well when it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.addresses import (
    AddressError,
    ContactAddressError,
    canonical_contact,
    canonical_key,
    id_key,
)
from adapters.policy.errors import PolicyInputError


def normalize_key(key: str, field: str = "contact_key") -> str:
    """The canonical form of an operator's key (e-mail key, E.164, or the id).

    Raises:
        PolicyInputError: an address that is not exactly one mailbox, or a ``+``
            number that is not a possible phone number.
    """
    try:
        return canonical_key(key)
    except AddressError as exc:
        raise PolicyInputError(field, f"{_shown(key.strip())} {exc}") from None


def id_keys(contact_id: str) -> list[str]:
    """The id as given and as stored (rows written before ids were normalized)."""
    return list(dict.fromkeys([contact_id, id_key(contact_id)]))


def contact_keys(contact: Mapping[str, Any]) -> list[str]:
    """Every key a suppression of this contact may be stored under, without duplicates.

    Raises:
        PolicyInputError: the contact's e-mail is not exactly one mailbox, or its phone
            no possible number (no key could be computed, so nothing may be sent).
    """
    try:
        canonical = canonical_contact(contact)
    except ContactAddressError as exc:
        raise PolicyInputError(f"contact.{exc.field}", exc.reason) from None
    keys: list[str] = []
    contact_id = canonical.get("id")
    if isinstance(contact_id, str) and contact_id:
        keys += id_keys(contact_id)
    email = canonical.get("email")
    if isinstance(email, str) and email:
        keys.append(email.lower())  # canonical already: ``email_key`` of it
    phone = canonical.get("phone")
    if isinstance(phone, str) and phone:
        keys.append(phone)
    return list(dict.fromkeys(keys))


def _shown(value: str) -> str:
    """The value for an error message, cut short (an operator's own input)."""
    return repr(value if len(value) <= 80 else value[:80] + "...")


__all__ = ["contact_keys", "id_key", "id_keys", "normalize_key"]
