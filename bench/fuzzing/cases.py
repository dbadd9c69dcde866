"""One Hypothesis strategy per target: what an input for it looks like.

Every case is plain data (text, bytes, dicts, lists), so it can be sent to the child
process that runs it (``isolation``) and printed in a report.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from bench.fuzzing import hostile
from bench.fuzzing.mutation import document_bytes, mutated, rendered
from bench.fuzzing.seeds import (
    CONTACT,
    EVENTS,
    PLANS,
    SUPPRESSED_EMAIL,
    SUPPRESSED_PHONE,
    VARS,
)
from tests.interpreter.strategies import plan_documents

SUFFIXES = (".yaml", ".json")


# ------------------------------------------------------------------ plans


def _real_content(doc: dict[str, Any]) -> dict[str, Any]:
    """A generated plan naming templates and scripts that exist in ``templates/``."""
    for step in doc["steps"]:
        if "templateId" in step:
            step["templateId"] = "tmpl_intro"
        if "scriptId" in step:
            step["scriptId"] = "script_follow_up"
        if step.get("voicemail", {}).get("messageId"):
            step["voicemail"]["messageId"] = "vm_follow_up"
    return doc


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    """Plan file bytes, ``{"suffix", "data"}``: a mutated example plan, or a valid plan
    grown by the interpreter tests' strategy and mutated half of the time (valid
    plans reach simulation, where conditions and loops are exercised)."""
    suffix = draw(st.sampled_from(SUFFIXES))
    if draw(st.booleans()):
        doc = PLANS[draw(st.sampled_from(sorted(PLANS)))]
        return {"suffix": suffix, "data": draw(document_bytes(doc, suffix))}
    doc, _members, _branches = draw(plan_documents(max_steps=20))
    doc = _real_content(doc)
    if draw(st.booleans()):
        return {"suffix": suffix, "data": draw(document_bytes(doc, suffix))}
    return {"suffix": suffix, "data": rendered(doc, suffix)}


# ------------------------------------------------------------------ CEL

_STEPS = ("e", "w", "b", "yes", "no", "nope", "")
_FIELDS = ("id", "tier", "email", "first_name", "missing", "x", "nested", "list")


def _atoms() -> st.SearchStrategy[str]:
    step = st.sampled_from(_STEPS).map(json.dumps)
    return st.one_of(
        step.map(lambda s: f"events.hasOpen({s})"),
        step.map(lambda s: f"events.hasReply({s})"),
        step.map(lambda s: f'events.callOutcome({s}) == "voicemail"'),
        st.tuples(step, st.integers(-1, 3)).map(lambda t: f"run.visits({t[0]}) >= {t[1]}"),
        st.sampled_from(_FIELDS).map(lambda f: f"has(contact.{f})"),
        st.sampled_from(_FIELDS).map(lambda f: f'contact.{f} == "gold"'),
        st.sampled_from(_FIELDS).map(lambda f: f"vars.{f} > 3"),
        st.sampled_from(["true", "false", "1 == 1", "size([1, 2]) == 2"]),
        st.sampled_from(hostile.CEL),
    )


def _macro(inner: str, size: int, name: str) -> str:
    items = "[" + ",".join(str(i) for i in range(size)) + "]"
    return f"{items}.{name}(v{len(inner) % 7}, {inner})"


@st.composite
def conditions(draw: st.DrawFn) -> str:
    """A CEL condition: atoms joined by operators and macros, sometimes corrupted."""
    expr = draw(_atoms())
    for _ in range(draw(st.integers(0, 4))):
        how = draw(st.sampled_from(["&&", "||", "!", "()", "macro", "ternary"]))
        if how in ("&&", "||"):
            expr = f"{expr} {how} {draw(_atoms())}"
        elif how == "!":
            expr = f"!({expr})"
        elif how == "()":
            expr = f"({expr})"
        elif how == "macro":
            name = draw(st.sampled_from(["all", "exists", "exists_one"]))
            expr = _macro(expr, draw(st.sampled_from([1, 10, 100, 1000])), name)
        else:
            expr = f"{expr} ? {draw(_atoms())} : false"
    if draw(st.integers(0, 4)) == 0:  # a character-level corruption
        at = draw(st.integers(0, len(expr)))
        expr = expr[:at] + draw(hostile.texts()) + expr[at + draw(st.integers(0, 2)) :]
    return expr


@st.composite
def cel_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A condition and the contact, variables and events it is evaluated against."""
    return {
        "when": draw(conditions()),
        "contact": draw(st.just(CONTACT) | mutated(CONTACT)),
        "vars": draw(st.just(VARS) | mutated(VARS)),
        "events": draw(st.just([]) | st.just(_cel_events()) | mutated(_cel_events())),
    }


def _cel_events() -> list[dict[str, Any]]:
    return [
        {"type": "email.opened", "stepId": "e", "tick": 10},
        {"type": "voice.voicemail", "stepId": "e", "tick": 20, "data": {"x": 1}},
    ]


# ------------------------------------------------------------------ templates


@st.composite
def template_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A subject (the plan's template string), sometimes a body, and the context."""
    parts = draw(st.lists(st.sampled_from(hostile.TEMPLATES) | hostile.texts(), max_size=3))
    subject = "Hello " + "".join(parts)
    body = None
    if draw(st.booleans()):
        body = "Hi {{ contact.first_name }},\n" + "".join(
            draw(st.lists(st.sampled_from(hostile.TEMPLATES), min_size=1, max_size=3))
        )
    return {
        "subject": subject,
        "body": body,
        "vars": draw(st.just(VARS) | mutated(VARS)),
        "contact": draw(st.just(CONTACT) | mutated(CONTACT)),
    }


# ------------------------------------------------------------------ contacts and events


@st.composite
def contact_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A contact and variables as a start would carry them (already decoded)."""
    return {
        "contact": draw(mutated(CONTACT, max_edits=3) | st.just(CONTACT)),
        "vars": draw(mutated(VARS, max_edits=3) | st.just(VARS)),
    }


_EVENT_TYPES = (
    "email.opened",
    "email.replied",
    "email.clicked",
    "email.bounced",
    "email.unsubscribed",
    "voice.voicemail",
    "voice.answered",
    "crm.note_added",
    "",
    "EMAIL.OPENED",
    "email.opened\x00",
)


@st.composite
def event_cases(draw: st.DrawFn) -> dict[str, Any]:
    """An events document (as ``dee plan simulate --events`` reads it) for a plan."""
    events = draw(mutated(EVENTS, max_edits=4))
    if draw(st.booleans()) and isinstance(events, list):
        extra = {
            "type": draw(st.sampled_from(_EVENT_TYPES)),
            "stepId": draw(st.sampled_from(["intro-email", "check-response", "ghost", None])),
            "tick": draw(st.sampled_from([0, 1, 302_400, 2**53 - 1, -1])),
            "data": draw(mutated({"from": "x@example.com", "n": 1})),
        }
        events = [*events, extra]
    return {"plan": draw(st.sampled_from(sorted(PLANS))), "events": events, "contact": CONTACT}


# ------------------------------------------------------------------ suppressed addresses


def _flip_case(text: str, mask: int) -> str:
    return "".join(c.upper() if mask >> (i % 30) & 1 else c for i, c in enumerate(text))


@st.composite
def email_spellings(draw: st.DrawFn) -> str:
    """``victim@example.com`` spelt so that it still names the same mailbox."""
    local, domain = SUPPRESSED_EMAIL.split("@")
    if draw(st.booleans()):
        domain = _flip_case(domain, draw(st.integers(0, 2**30)))
    if draw(st.booleans()):
        local = _flip_case(local, draw(st.integers(0, 2**30)))
    if draw(st.integers(0, 3)) == 0:
        domain += "."
    if draw(st.integers(0, 3)) == 0:
        local = f'"{local}"'
    address = f"{local}@{domain}"
    form = draw(st.sampled_from(["bare", "angle", "display", "comment", "quoted-display"]))
    name = draw(st.sampled_from(["Victim", "V. Ictim", "Ünïcode", "a,b", "=?utf-8?q?V?=", ""]))
    if form == "angle":
        address = f"<{address}>"
    elif form == "display":
        address = f"{name} <{address}>"
    elif form == "quoted-display":
        address = f'"{name}" <{address}>'
    elif form == "comment":
        address = f"{address} ({name})"
    # Spaces around it; a tab now and then (a control character: refused outright).
    pad = draw(st.sampled_from(["", "", " ", "  ", "\t"]))
    return f"{pad}{address}{draw(st.sampled_from(['', '', ' ', chr(9)]))}"


@st.composite
def phone_spellings(draw: st.DrawFn) -> str:
    """``+12125550100`` written the ways people write it."""
    return draw(
        st.sampled_from(
            [
                "+1 212 555 0100",
                "+1 (212) 555-0100",
                "+1.212.555.0100",
                "+1-212-555-0100",
                " +12125550100 ",
                "tel:+1-212-555-0100",
                "+1 212-555-0100",
                "\u202d+12125550100\u202c",
                "+\uff11\uff12\uff11\uff12\uff15\uff15\uff15\uff10\uff11\uff10\uff10",  # fullwidth
            ]
        )
    )


@st.composite
def suppression_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A contact address naming the suppressed mailbox or number in another spelling."""
    if draw(st.integers(0, 3)) == 0:
        return {"channel": "voice", "given": draw(phone_spellings()), "canonical": SUPPRESSED_PHONE}
    return {"channel": "email", "given": draw(email_spellings()), "canonical": SUPPRESSED_EMAIL}
