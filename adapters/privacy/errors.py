"""The privacy adapter's errors."""

from __future__ import annotations


class PrivacyError(Exception):
    """The root of the privacy adapter's errors."""


class MasterKeyError(PrivacyError):
    """The configured master key (or its key file) is unusable; the message says why."""


class ContactErased(PrivacyError):
    """The contact was erased: its data key is destroyed until it is enrolled again."""

    def __init__(self, tenant: str, contact_id: str) -> None:
        super().__init__(f"contact {contact_id!r} (tenant {tenant!r}) was erased")
        self.tenant = tenant
        self.contact_id = contact_id


__all__ = ["ContactErased", "MasterKeyError", "PrivacyError"]
