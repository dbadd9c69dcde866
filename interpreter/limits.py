"""The documented limits on every identifier and free-text value a run carries.

Boundary: constants and the character rules, nothing else; ``validation`` applies
them to plans (``plan_fields``), ``dee`` and ``workflows.admission`` to the values a
start carries (contact id, tenant, run id, variable names) and to ingested events.

Why these numbers: every identifier ends up in a ``VARCHAR(255)`` column
(``adapters.storage.schema``: run, plan, step, contact and tenant ids; the audit's
``step_id``), an outcome in the audit's ``outcome VARCHAR(1000)``, and several in
Temporal workflow ids, summaries and keyword search attributes (2 KiB per value). A
value past its column fails only when the run first writes it, after the workflow
has started: the run is left without an audit, or with a chain that stops. Each
limit leaves a wide margin below its column, so that derived values (``run-`` plus a
digest, a step id in a message key) still fit, and is checked before anything
starts.

Characters: an identifier or a single line of text may hold no control character
(C0, DEL, C1: NUL is refused by PostgreSQL's text types, the others corrupt logs and
terminals), no line or paragraph separator, no bidirectional control (U+202A-U+202E,
U+2066-U+2069, U+200E/U+200F, U+061C: they make text display in another order than
it is stored, so ``a`` and ``b`` can look swapped in an audit) and no lone surrogate
(not encodable as UTF-8). Multi-line text (a description) may also hold tab and
line feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

# --- sizes of a plan (checked first, before any other rule: see ``validation``) ------

MAX_PLAN_STEPS: Final = 1_000  # the ceiling; a deployment's limit (default 100) is below it
MAX_TRANSITIONS: Final = 4_000  # explicit edges; a plan needs about one per step
MAX_CONDITIONS: Final = 50  # per branch
MAX_ALL_CONDITIONS: Final = 3_000  # in the whole plan: each is CEL, parsed and checked
MAX_WAIT_DAYS: Final = 3_650  # the ceiling of a deployment's longest wait (default 365)

# --- identifiers (characters: ``identifier_problem``) ----------------------------------

PLAN_ID: Final = 100
STEP_ID: Final = 100
OUTCOME: Final = 200
TEMPLATE_ID: Final = 100  # template, script and voicemail message ids
TENANT: Final = 64
CONTACT_ID: Final = 200
RUN_ID: Final = 200
VARIABLE_NAME: Final = 100  # a top-level key of the contact or the variables
EVENT_TYPE: Final = 100
EVENT_ID: Final = 200
OPERATOR: Final = 200  # who takes an operator action (``by``)

# --- free text (characters: ``text_problem``) -----------------------------------------

PLAN_NAME: Final = 200
CREATED_BY: Final = 200
DESCRIPTION: Final = 2_000  # may span lines
SUBJECT: Final = 500  # one line: an e-mail header line holds at most 998 characters
LABEL: Final = 100  # a transition's ``condition`` label
EMAIL_ADDRESS: Final = 254  # RFC 5321's longest path
REASON: Final = 1_000  # an operator action's reason; may span lines

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SEPARATORS = "\u2028\u2029"
_SURROGATES = "\ud800-\udfff"
_LINE_BAD = re.compile(f"[\x00-\x1f\x7f-\x9f{_SEPARATORS}{_BIDI}{_SURROGATES}]")
_TEXT_BAD = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_SEPARATORS}{_BIDI}{_SURROGATES}]")
_BIDI_CHARS = re.compile(f"[{_BIDI}]")
_SHOWN_WIDTH = 40


def identifier_problem(value: object, what: str, limit: int) -> str | None:
    """Why ``value`` cannot be an identifier of at most ``limit`` characters, or ``None``.

    ``what`` names the value in the sentence (``"a step id"``, ``"the contact id"``).
    """
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    if not value:
        return f"{what} must not be empty"
    return _length(value, what, limit) or _characters(value, what, _LINE_BAD)


def text_problem(value: str, what: str, limit: int, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be free text of at most ``limit`` characters, or ``None``.

    One line unless ``multiline`` (which also allows tab and line feed).
    """
    bad = _TEXT_BAD if multiline else _LINE_BAD
    return _length(value, what, limit) or _characters(value, what, bad)


def _length(value: str, what: str, limit: int) -> str | None:
    if len(value) <= limit:
        return None
    return f"{what} is {len(value)} characters long; the limit is {limit}"


def _characters(value: str, what: str, bad: re.Pattern[str]) -> str | None:
    found = bad.search(value)
    if found is None:
        return None
    char = found.group()
    kind = _kind(char)
    return (
        f"{what} contains {kind} (U+{ord(char):04X}) at position {found.start() + 1}; "
        "identifiers and text may hold no control, line-separator or bidirectional "
        "control characters"
    )


def _kind(char: str) -> str:
    if char == "\x00":
        return "a NUL character"
    if _BIDI_CHARS.fullmatch(char):
        return "a bidirectional control character"
    if "\ud800" <= char <= "\udfff":
        return "a lone surrogate"
    if char in "\n\r" + _SEPARATORS:
        return "a line break"
    return "a control character"


def shown(value: str, width: int = _SHOWN_WIDTH) -> str:
    """``value`` safe to print in a message: escaped where it is not plain, shortened.

    Control, separator and bidirectional characters and lone surrogates become
    ``\\xNN``/``\\uNNNN`` escapes (a message must not reorder or break the terminal it
    is printed on); past ``width`` characters the rest is cut and its length stated.
    """
    safe = escaped(value[:width])
    if len(value) > width:
        safe += f"… ({len(value)} characters)"
    return safe


def escaped(value: str) -> str:
    """``value`` with the characters ``shown`` escapes escaped, and nothing cut."""
    return _LINE_BAD.sub(lambda m: _escape(m.group()), value)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def start_problems(
    *,
    run_id: object = None,
    tenant: object = None,
    contact: Mapping[str, object] | None = None,
    variables: Mapping[str, object] | None = None,
) -> list[str]:
    """Every reason a start cannot carry these values (``None``: not checked).

    The contact needs an ``id``; the contact's and the variables' top-level keys are
    names conditions refer to (``contact.tier``, ``vars.amount``), so they follow the
    identifier rule too. Values inside them are checked elsewhere
    (``dee.runs.start_values``: JSON, integer range, depth).
    """
    problems: list[str] = []
    if run_id is not None:
        problems += _prefixed("runId", identifier_problem(run_id, "the run id", RUN_ID))
    if tenant is not None:
        problems += _prefixed("tenant", identifier_problem(tenant, "the tenant", TENANT))
    if contact is not None:
        found = identifier_problem(contact.get("id"), "the contact id", CONTACT_ID)
        problems += _prefixed("contact.id", found)
        problems += name_problems(contact, "contact")
    if variables is not None:
        problems += name_problems(variables, "variables")
    return problems


def event_problems(*, type: object, event_id: object = None, step_id: object = None) -> list[str]:
    """Every reason an ingested event cannot be recorded (``None``: absent).

    Its step id becomes an audit entry's ``step_id``; its type and id are recorded in
    the entry's detail and read by conditions.
    """
    problems = _prefixed("type", identifier_problem(type, "the event type", EVENT_TYPE))
    if event_id is not None:
        problems += _prefixed("id", identifier_problem(event_id, "the event id", EVENT_ID))
    if step_id is not None:
        problems += _prefixed("stepId", identifier_problem(step_id, "the step id", STEP_ID))
    return problems


def operator_problems(
    *, by: str, reason: str, resolution: str | None = None, target: str | None = None
) -> list[str]:
    """Every reason an operator action's own values cannot be recorded.

    ``resolve --end`` makes ``target`` the run's outcome, ``--skip-to`` a step id.
    """
    problems = _prefixed("by", identifier_problem(by, "who acts", OPERATOR) if by else None)
    problems += _prefixed("reason", text_problem(reason, "the reason", REASON, multiline=True))
    if target and resolution == "end":
        problems += _prefixed("target", identifier_problem(target, "the outcome", OUTCOME))
    elif target and resolution == "skip":
        problems += _prefixed("target", identifier_problem(target, "the step id", STEP_ID))
    return problems


def name_problems(names: Iterable[object], field: str) -> list[str]:
    """Every name (a contact field, a variable) past the identifier rule, as
    ``"<field>: <problem>"``."""
    out: list[str] = []
    for name in names:
        if not isinstance(name, str):
            out.append(f"{field}: a name of type {type(name).__name__}, not a string")
            continue
        out += _prefixed(
            field, identifier_problem(name, f"the name '{shown(name)}'", VARIABLE_NAME)
        )
    return out


def _prefixed(field: str, problem: str | None) -> list[str]:
    return [] if problem is None else [f"{field}: {problem}"]


__all__ = [
    "CONTACT_ID",
    "CREATED_BY",
    "DESCRIPTION",
    "EMAIL_ADDRESS",
    "EVENT_ID",
    "EVENT_TYPE",
    "LABEL",
    "MAX_ALL_CONDITIONS",
    "MAX_CONDITIONS",
    "MAX_PLAN_STEPS",
    "MAX_TRANSITIONS",
    "MAX_WAIT_DAYS",
    "OPERATOR",
    "OUTCOME",
    "PLAN_ID",
    "PLAN_NAME",
    "REASON",
    "RUN_ID",
    "STEP_ID",
    "SUBJECT",
    "TEMPLATE_ID",
    "TENANT",
    "VARIABLE_NAME",
    "escaped",
    "event_problems",
    "identifier_problem",
    "name_problems",
    "operator_problems",
    "shown",
    "start_problems",
    "text_problem",
]
