"""Typed search attributes DEE upserts, so runs can be found in the Temporal Web UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DEE_TENANT = SearchAttributeKey.for_keyword("DeeTenant")
DEE_PLAN_ID = SearchAttributeKey.for_keyword("DeePlanId")
DEE_PLAN_VERSION = SearchAttributeKey.for_int("DeePlanVersion")
DEE_CONTACT_ID = SearchAttributeKey.for_keyword("DeeContactId")
DEE_STATUS = SearchAttributeKey.for_keyword("DeeStatus")
DEE_STEP = SearchAttributeKey.for_keyword("DeeStep")

ALL_KEYS = (DEE_TENANT, DEE_PLAN_ID, DEE_PLAN_VERSION, DEE_CONTACT_ID, DEE_STATUS, DEE_STEP)
