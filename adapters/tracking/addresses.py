"""Who a reply is from: the canonical mailbox of an address, and its keyed digest.

The Message-ID index records, per send, a keyed digest of the address the message went
to (not the address: the index holds no more contact data than it needs), and the
webhook receiver compares a reply's ``From`` with it. Both sides must spell an address
the same way, so both go through ``canonical_address``: one mailbox, case-folded.
It is the canonical form the policy gate and the channels use (``adapters.addresses``).
"""

from __future__ import annotations

import hashlib
import hmac

from adapters.addresses import AddressError, email_key

_VERSION = b"dee-recipient-v1"


def canonical_address(value: str) -> str | None:
    """The single mailbox ``value`` names, as suppression compares it (``email_key``:
    one mailbox, IDNA domain, lower-cased in full); ``None`` for anything else.

    ``value`` is an address (``ada@example.com``) or a header value (``"Ada" <ada@...>``).
    A value naming no mailbox, or several (``a@x, b@y``), has no canonical form, so a
    reply ``From`` such a header is never taken for the contact's.
    """
    try:
        return email_key(value)
    except AddressError:
        return None


def address_digest(key: bytes, value: str) -> str | None:
    """HMAC-SHA256 (hex) of ``value``'s canonical address under ``key``; ``None`` when
    ``value`` has no canonical form (``canonical_address``).

    Raises:
        ValueError: ``key`` is empty.
    """
    if not key:
        raise ValueError("the address digest key is empty")
    address = canonical_address(value)
    if address is None:
        return None
    message = _VERSION + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same_address(key: bytes, value: str, digest: str) -> bool:
    """Whether ``value``'s canonical address is the one ``digest`` was made from."""
    mine = address_digest(key, value)
    return mine is not None and hmac.compare_digest(mine, digest)


__all__ = ["address_digest", "canonical_address", "same_address"]
