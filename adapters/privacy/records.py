"""What a record keeps of a contact: event data sealed or pseudonymised, sealed values opened.

Event data enters the hash-chained audit log as it is ingested, so personal values
are replaced before the run sees the event: free text that must stay readable
(a reply's sender, subject and text, a bounce's description) is sealed under the
contact's data key; a suppression key the receiver records is pseudonymised. What a
plan's conditions read of an event (its type, step and ``fromContact``) is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.privacy.contact_keys import ContactKeys
from adapters.privacy.master import MasterKey
from adapters.privacy.pseudonyms import Pseudonyms
from adapters.privacy.sealing import is_sealed
from adapters.storage import Database

# Event data fields whose text is the contact's own words or address.
SEALED_FIELDS = frozenset(
    {"from", "to", "cc", "subject", "snippet", "text", "body", "description", "reason",
     "email", "phone", "name"}
)  # fmt: skip
PSEUDONYMISED_FIELDS = frozenset({"contactKey", "contact_key"})


class Privacy:
    """The privacy toolbox over one database and master key: pseudonyms and sealing."""

    def __init__(self, database: Database, master: MasterKey) -> None:
        self.pseudonyms = Pseudonyms(master.pseudonym_key)
        self.keys = ContactKeys(database, master)

    async def event_data(self, tenant: str, contact_id: str, data: Mapping[str, Any]) -> Any:
        """``data`` as it may be recorded: personal fields sealed or pseudonymised.

        Raises:
            ContactErased: a field must be sealed for a contact that is erased.
        """
        return await self._event_tree(tenant, contact_id, data)

    async def _event_tree(self, tenant: str, contact_id: str, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            if key in PSEUDONYMISED_FIELDS and not value.startswith("pseud:"):
                return self.pseudonyms.of_key(value)
            if key.lower() in SEALED_FIELDS and value and not is_sealed(value):
                return await self.keys.seal(tenant, contact_id, value)
            return value
        if isinstance(value, Mapping):
            return {
                k: await self._event_tree(tenant, contact_id, v, str(k)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [await self._event_tree(tenant, contact_id, v, key) for v in value]
        return value

    async def opened(self, tenant: str, contact_id: str, value: Any) -> Any:
        """``value`` with every sealed text in it opened (``[erased]`` once erased)."""
        if isinstance(value, str):
            return await self.keys.open(tenant, contact_id, value) if is_sealed(value) else value
        if isinstance(value, Mapping):
            return {k: await self.opened(tenant, contact_id, v) for k, v in value.items()}
        if isinstance(value, list):
            return [await self.opened(tenant, contact_id, v) for v in value]
        return value


__all__ = ["PSEUDONYMISED_FIELDS", "SEALED_FIELDS", "Privacy"]
