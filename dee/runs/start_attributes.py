"""Which search attributes a run's start carries.

A run is named in Temporal's visibility by DEE's search attributes (tenant, plan,
version, contact, status). Carried by the start request they cost the frontend
14 % of its start rate (``bench.start_options``), and the run's first workflow task
upserts its status milliseconds later anyway; so an immediate start carries none
and that first upsert adds the identity (``PlanRunWorkflow._missing_identity``). A
delayed start still carries them, so the run can be found while it waits.

The start used to be where a namespace without DEE's search attributes showed: the
server refused it. Now nothing would refuse it, and the run's first workflow task
would fail on every attempt instead; so the attributes are looked up once per
engine, and a missing one refuses the start as before. A server that will not list
them (the time-skipping test server; a role without operator rights) gets them on
every start, where it checks them itself.
"""

from __future__ import annotations

import asyncio

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from dee.errors import EngineError
from workflows import search_attributes as sa


def start_attributes(
    tenant: str, plan_id: str, plan_version: int, contact_id: str
) -> TypedSearchAttributes:
    """A run's search attributes as a start carries them: its identity, ``PENDING``."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.DEE_TENANT, tenant),
            SearchAttributePair(sa.DEE_PLAN_ID, plan_id),
            SearchAttributePair(sa.DEE_PLAN_VERSION, plan_version),
            SearchAttributePair(sa.DEE_CONTACT_ID, contact_id),
            SearchAttributePair(sa.DEE_STATUS, "PENDING"),
        ]
    )


class StartAttributes:
    """Decides, per start, the search attributes the request carries."""

    def __init__(self, client: Client, namespace: str, *, enabled: bool) -> None:
        self._client = client
        self._namespace = namespace
        self._enabled = enabled
        # None: not looked up yet; True: all registered; False: the server would not
        # say; a list: the names it lacks (every start is refused, without asking again).
        self._listed: bool | list[str] | None = None
        self._lock = asyncio.Lock()

    async def for_start(
        self, run_id: str, *, tenant: str, plan_id: str, plan_version: int, contact_id: str,
        delayed: bool,
    ) -> TypedSearchAttributes | None:  # fmt: skip
        """The attributes for this start, or ``None`` when it carries none.

        Raises:
            EngineError: the namespace lacks some of DEE's search attributes.
        """
        if not self._enabled:
            return None
        if not await self._verified(run_id) or delayed:
            return start_attributes(tenant, plan_id, plan_version, contact_id)
        return None

    async def _verified(self, run_id: str) -> bool:
        """Whether the namespace was seen to have every DEE search attribute."""
        if self._listed is None:
            async with self._lock:  # a bulk enrolment's first 64 starts ask once
                if self._listed is None:
                    self._listed = await self._list()
        if isinstance(self._listed, list):
            raise EngineError(
                [
                    f"run {run_id}: Temporal refused the start: namespace "
                    f"'{self._namespace}' has no search attribute {', '.join(self._listed)}; "
                    "register DEE's search attributes there (`dee server` does) or set "
                    "temporal.searchAttributes to false"
                ]
            )
        return self._listed

    async def _list(self) -> bool | list[str]:
        request = ListSearchAttributesRequest(namespace=self._namespace)
        try:
            listed = await self._client.operator_service.list_search_attributes(request)
        except RPCError:  # cannot look: every start carries them and the server checks
            return False
        missing = [key.name for key in sa.ALL_KEYS if key.name not in listed.custom_attributes]
        return missing or True
