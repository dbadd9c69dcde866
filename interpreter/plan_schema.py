"""The JSON Schema of the plan file format (``dee plan schema``, for editors).

Pydantic gives the shape and the descriptions; this module adds what the model checks
in ``validation`` rather than in its types but an editor can check as well: ``wait``'s
``duration`` / ``until`` exclusivity, the ``HH:MM`` times, the lists of days, the
form of a time-zone name, the compliance block's preset names and debt path. The schema
is a help, not the authority: ``validate`` still decides (CEL, step references, limits,
the tz database itself).
"""

from __future__ import annotations

from typing import Any

from interpreter.compliance import DEBT_REF, PRESET_NAME
from interpreter.plan import ExecutionPlan

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_WINDOW_END = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
# The form of an IANA name (Area/Location); whether the tz database has it is validation's.
_ZONE = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"


def plan_json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of a plan document, camelCase as in files."""
    document = ExecutionPlan.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "DEE execution plan"
    defs = document["$defs"]
    defs["WaitStep"]["oneOf"] = [
        {"required": ["duration"], "not": {"required": ["until"]}},
        {"required": ["until"], "not": {"required": ["duration"]}},
    ]
    defs["LocalTime"]["properties"]["time"]["pattern"] = _HHMM
    defs["SendWindow"]["properties"]["from"]["pattern"] = _HHMM
    defs["SendWindow"]["properties"]["to"]["pattern"] = _WINDOW_END
    for holder in (defs["LocalTime"], defs["SendWindow"]):
        for option in holder["properties"]["days"]["anyOf"]:
            if option.get("type") == "array":  # validation: never empty, no day twice
                option.update(minItems=1, uniqueItems=True)
    zone = document["properties"]["defaultTimezone"]
    for option in zone["anyOf"]:
        if option.get("type") == "string":
            option["pattern"] = _ZONE
    defs["ExitRule"]["anyOf"] = [{"required": ["event"]}, {"required": ["when"]}]
    block = defs["Compliance"]
    block["minProperties"] = 1
    for option in block["properties"]["presets"]["anyOf"]:
        if option.get("type") == "array":  # validation: never empty, no preset twice
            option.update(minItems=1, uniqueItems=True)
            option["items"]["pattern"] = PRESET_NAME.pattern
    for option in block["properties"]["debtRef"]["anyOf"]:
        if option.get("type") == "string":
            option["pattern"] = DEBT_REF.pattern
    return document


__all__ = ["plan_json_schema"]
