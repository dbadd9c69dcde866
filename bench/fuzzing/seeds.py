"""Where inputs start: valid documents, and issue 18's exact reproductions.

Mutations start from the example plans in ``plans/`` and from the contact, variables
and events the tests use, so most inputs are *nearly* valid and reach deep into the
code instead of bouncing off the first check.

``ISSUE_SEEDS`` are the attacks issue 18 lists, each with what the issue demands:
``refused`` (a typed error, a 4xx, exit 1: the input must not be taken), or ``any``
(taken or refused, but typed, bounded and leaving nothing half-written). Each runs in
the bounded suite and at the head of every long run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from bench.fuzzing.hostile import nested_all as hostile_cel_nested_all
from bench.fuzzing.mutation import Raw, rendered

ROOT = Path(__file__).resolve().parents[2]
PLAN_FILES = tuple(sorted((ROOT / "plans").glob("*.yaml")))
PLANS: dict[str, dict[str, Any]] = {p.stem: yaml.safe_load(p.read_text()) for p in PLAN_FILES}
# The contact and variables of the integration tests (tests/integration/webhooks/helpers.py).
CONTACT: dict[str, Any] = {
    "id": "c-ada",
    "email": "ada@example.com",
    "first_name": "Ada",
    "company": "AE",
    "phone": "+15555550101",
    "tier": "gold",
    "timezone": "Europe/London",
}
VARS: dict[str, Any] = {"product": "DEE", "sender_name": "Grace", "x": 5}
# Events a sales-sequence run takes, at ticks within its waits.
EVENTS: list[dict[str, Any]] = [
    {"type": "email.opened", "stepId": "intro-email", "tick": 60, "id": "ev-1"},
    {
        "type": "email.replied",
        "stepId": "intro-email",
        "tick": 120,
        "id": "ev-2",
        "data": {"from": "ada@example.com", "snippet": "yes please"},
    },
    {"type": "voice.voicemail", "stepId": "follow-up-call", "tick": 400_000},
]
SUPPRESSED_EMAIL = "victim@example.com"
SUPPRESSED_PHONE = "+12125550100"

Expect = Literal["refused", "accepted", "any"]


@dataclass(frozen=True)
class Seed:
    """One reproduction: its issue item, the target it goes to, the input, the demand."""

    name: str
    item: int
    target: str
    case: dict[str, Any]
    expect: Expect


def _meta() -> dict[str, str]:
    return {"createdAt": "2026-01-01", "createdBy": "fuzz@example.com"}


def _plan(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "seed",
        "version": 1,
        "name": "Seed",
        "metadata": _meta(),
        "steps": steps,
        **extra,
    }


def _end(step_id: str = "done", outcome: str = "done") -> dict[str, Any]:
    return {"type": "end", "id": step_id, "outcome": outcome}


def _email(step_id: str = "e") -> dict[str, Any]:
    return {"type": "sendEmail", "id": step_id, "templateId": "tmpl_intro", "subject": "Hi"}


def _wait(step_id: str = "w", **duration: Any) -> dict[str, Any]:
    return {"type": "wait", "id": step_id, "duration": duration or {"hours": 1}}


def plan_case(doc: Any, suffix: str = ".yaml") -> dict[str, Any]:
    return {"suffix": suffix, "data": rendered(doc, suffix)}


def _text_case(text: str, suffix: str = ".yaml") -> dict[str, Any]:
    return {"suffix": suffix, "data": text.encode("utf-8", "surrogatepass")}


def _cel(when: str, **inputs: Any) -> dict[str, Any]:
    return {"when": when, "contact": {"id": "c-1"}, "vars": {}, "events": [], **inputs}


def _template(subject: str) -> dict[str, Any]:
    return {"subject": subject, "body": None, "vars": VARS, "contact": CONTACT}


def _cli(*argv: str, **files: bytes) -> dict[str, Any]:
    return {"argv": list(argv), "files": files}


def _postmark(body: dict[str, Any] | bytes) -> dict[str, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {"route": "postmark", "auth": "valid", "body": data, "content_type": "application/json"}


SALES_YAML = (ROOT / "plans" / "sales-sequence.yaml").read_bytes()
_SALES = {"plan.yaml": SALES_YAML}
_DEEP = "[" * 10_000 + "]" * 10_000

_NESTED_RANGE = "{% for x in range(20000) %}{% for y in range(20000) %}x{% endfor %}{% endfor %}"
_DUPLICATE_KEY = SALES_YAML.decode().replace("version: 1\n", "version: 1\nversion: 2\n")
_SEND_LOOP = [
    _email(),
    _wait(),
    {
        "type": "branch",
        "id": "b",
        "conditions": [{"when": "false", "goto": "done"}, {"when": "default", "goto": "e"}],
    },
    _end(),
]
_BOUNCE = {"RecordType": "Bounce", "Metadata": {"dee_ref_0": "@@REF@@"}}


def _csv(data: bytes) -> dict[str, Any]:
    return _cli(
        "start", "{dir}/plan.yaml", "--contacts", "{dir}/c.csv", **_SALES, **{"c.csv": data}
    )


def _victim(given: str) -> dict[str, Any]:
    return {"channel": "email", "given": given, "canonical": SUPPRESSED_EMAIL}


ISSUE_SEEDS: tuple[Seed, ...] = (
    # 1: another spelling of a suppressed address reaches the mailbox
    Seed("victim-display-name", 1, "suppression", _victim("Victim <victim@example.com>"),
         "refused"),
    Seed("victim-upper-domain", 1, "suppression", _victim("victim@EXAMPLE.COM."), "refused"),
    # 4: CEL whose evaluation costs 100^4 steps
    Seed("cel-nested-all", 4, "cel", _cel(hostile_cel_nested_all()), "any"),
    # 5: a contact value CEL and the audit cannot carry
    Seed(
        "lone-surrogate-contact", 5, "contact",
        {"contact": {"id": "c-1", "first_name": "\ud800"}, "vars": {}}, "refused",
    ),
    # 6: templates that never end, eat memory, or pull in other templates
    Seed("jinja-nested-range", 6, "template", _template(_NESTED_RANGE), "refused"),
    Seed("jinja-huge-string", 6, "template", _template("{{ 'x' * 10**8 }}"), "refused"),
    Seed(
        "jinja-extends-voice", 6, "template",
        _template("{% extends 'voice/script_follow_up.txt.j2' %}"), "refused",
    ),
    # 7: identifiers and outcomes nobody can read or print
    Seed("step-id-300-chars", 7, "plan", plan_case(_plan([_end("s" * 300)])), "refused"),
    Seed("outcome-2000-chars", 7, "plan", plan_case(_plan([_end(outcome="o" * 2000)])), "refused"),
    Seed("nul-in-step-id", 7, "plan", plan_case(_plan([_end("a\x00b")])), "refused"),
    Seed("bidi-in-step-id", 7, "plan", plan_case(_plan([_end("a\u202eb")])), "refused"),
    # 8: documents read otherwise than a reviewer reads them
    Seed("duplicate-yaml-keys", 8, "plan", _text_case(_DUPLICATE_KEY), "refused"),
    Seed("days-sexagesimal", 8, "plan", plan_case(_plan([_wait(days=Raw("1:30")), _end()])),
         "refused"),
    Seed("hex-number", 8, "plan", plan_case(_plan([_wait(hours=Raw("0x10")), _end()])), "refused"),
    Seed("deep-nesting", 8, "plan", plan_case(_plan([_end()], name=Raw(_DEEP)), ".json"),
         "refused"),
    Seed(
        "digits-5000", 8, "plan",
        plan_case(_plan([_wait(seconds=Raw("9" * 5000)), _end()])), "refused",
    ),
    Seed(
        "int-2-53-plus-1", 8, "plan",
        plan_case(_plan([_wait(seconds=2**53 + 1), _end()]), ".json"), "refused",
    ),
    Seed("recursive-alias", 8, "plan", _text_case("id: &a [*a]\n"), "refused"),
    # 9: plans whose validation is quadratic
    Seed(
        "steps-30000", 9, "plan",
        plan_case(_plan([_end(f"e{i}") for i in range(30_000)]), ".json"), "refused",
    ),
    Seed(  # under the 1 MiB a document may have, so validation sees it
        "steps-20000", 9, "plan",
        plan_case(_plan([_end(f"e{i}", "x") for i in range(20_000)]), ".json"), "refused",
    ),
    # 10: a condition that reads a field the contact does not have
    Seed("missing-tier", 10, "cel", _cel('contact.tier == "gold" && events.hasOpen("e")'), "any"),
    # 11: bodies the receiver answered with a 500
    Seed(
        "deep-json-inbound", 11, "webhook",
        {"route": "inbound", "auth": "valid", "body": _DEEP.encode(),
         "content_type": "application/json"},
        "refused",
    ),
    Seed(
        "nul-bounce-address", 11, "webhook",
        _postmark({**_BOUNCE, "Type": "HardBounce", "ID": 1, "Email": "a\x00@example.com"}),
        "refused",
    ),
    Seed(
        "postmark-4-5-mb", 11, "webhook",
        _postmark({**_BOUNCE, "Type": "SoftBounce", "ID": 2, "Email": "ada@example.com",
                   "Description": "x" * 4_500_000}),
        "refused",
    ),
    # 12: CLI input that ended in a traceback or a double start
    Seed("csv-field-131kb", 12, "cli", _csv(b"id,email\nc-1," + b"a" * 140_000 + b"\n"), "refused"),
    Seed("csv-not-utf8", 12, "cli", _csv("id,name\nc-1,Jos\xe9\n".encode("latin-1")), "refused"),
    Seed("csv-bom", 12, "cli", _csv(b"\xef\xbb\xbfid,email\nc-1,a@example.com\n"), "any"),
    Seed(
        "csv-duplicate-ids", 12, "cli",
        _csv(b"id,email\nc-1,a@x.com\nc-2,b@x.com\nc-1,c@x.com\n"), "refused",
    ),
    # 13: a send loop whose only way out can never be taken
    Seed("send-loop-when-false", 13, "plan", plan_case(_plan(_SEND_LOOP)), "refused"),
)  # fmt: skip


def seeds_for(target: str) -> list[Seed]:
    return [s for s in ISSUE_SEEDS if s.target == target]
