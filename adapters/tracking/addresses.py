"""Who a reply is from: the canonical mailbox of an address, and its keyed digest.

The Message-ID index records, per send, a keyed digest of the address the message went
to (not the address: the index holds no more contact data than it needs), and the
webhook receiver compares a reply's ``From`` with it. Both sides must spell an address
the same way, so both go through ``canonical_address``: one mailbox, case-folded.
Policy keeps its own canonical form for suppression and consent; this one only has to
be stable between the send and the reply, and it lives in this one function so that it
can follow the shared one later.
"""

from __future__ import annotations

import hashlib
import hmac
from email.utils import getaddresses

_VERSION = b"dee-recipient-v1"


def canonical_address(value: str) -> str | None:
    """The single mailbox ``value`` names, case-folded; ``None`` for anything else.

    ``value`` is an address (``ada@example.com``) or a header value (``"Ada" <ada@...>``).
    A value naming no mailbox, or several (``a@x, b@y``), has no canonical form, so a
    reply ``From`` such a header is never taken for the contact's.
    """
    if "\r" in value or "\n" in value:
        return None
    mailboxes = [pair for pair in getaddresses([value]) if pair != ("", "")]  # a stray comma
    if len(mailboxes) != 1:
        return None
    address = mailboxes[0][1].strip()
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or "@" in local or any(c.isspace() for c in address):
        return None
    return address.casefold()


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
