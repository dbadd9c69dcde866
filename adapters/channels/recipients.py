"""Whom a send goes to: exactly one canonical mailbox, or one E.164 number.

Every adapter sends to what these return and nothing else, so the address a provider
gets is the one the policy gate checked (``adapters.addresses``), whatever spelling
reached the adapter: ``Victim <victim@example.com>`` is sent to ``victim@example.com``
and a list of addresses is never handed to a provider. A value that is not exactly
one recipient is refused before any connection, as ``ChannelRejected``.
"""

from __future__ import annotations

from adapters.addresses import AddressError, canonical_email, canonical_phone
from adapters.channels.errors import ChannelRejected


def email_recipient(to: str) -> str:
    """The canonical mailbox of ``to``.

    Raises:
        ChannelRejected: ``invalid_address``: not exactly one mailbox.
    """
    try:
        return canonical_email(to)
    except AddressError as exc:
        raise ChannelRejected(f"invalid recipient address: {exc}", code="invalid_address") from None


def call_recipient(to: str) -> str:
    """The E.164 form of ``to`` (a national number has no country here: refused).

    Raises:
        ChannelRejected: ``invalid_number``: not one possible international number.
    """
    try:
        return canonical_phone(to)
    except AddressError as exc:
        raise ChannelRejected(f"invalid number to call: {exc}", code="invalid_number") from None


__all__ = ["call_recipient", "email_recipient"]
