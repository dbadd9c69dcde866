"""Running one input of a synchronous target, and judging what it came to.

Each target drives the code a user's input meets, in the order DEE runs it:

* ``plan``: a plan file read (``dee.documents.load_plan``), validated with the
  templates' registry, drawn as Mermaid, hashed, and simulated with a contact and
  events (what ``dee plan validate|graph|simulate`` and ``Engine.execute`` do);
* ``cel``: a branch condition in a small plan, validated and simulated against a
  contact, variables and events;
* ``template``: a subject (and sometimes a body) rendered as the send activity
  renders it (``rendering``: in a render process, under its limits), with the run's
  variables and contact;
* ``contact``: a start's contact and variables, checked as ``Engine.execute`` checks
  them, then used: conditions reading them, both templates, a policy request;
* ``event``: an events document parsed, each event's data checked as
  ``Engine.ingest_event`` checks it, then simulated through a plan.

Refused means the layer's typed error (``DocumentError``/``EngineError``,
``PlanError``/``InputError``, ``TemplateError``, ``PolicyInputError``) or validation
problems; anything else raised is a crash (``judge``). ``cli`` and ``suppression``
live in their own modules.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.policy import GateRequest, PolicyError
from adapters.templates import TemplateError, template_context
from bench.fuzzing.rendering import RenderWorld
from bench.fuzzing.seeds import CONTACT, EVENTS, PLANS, ROOT, VARS, Seed
from bench.fuzzing.verdict import Verdict
from dee.content import load_registry
from dee.documents import load_plan
from dee.errors import DeeError
from dee.runs import start_values
from interpreter import (
    ContentRegistry,
    InterpreterError,
    canonical_json,
    parse_events,
    parse_mapping,
    parse_plan,
    simulate,
    validate,
)
from interpreter.mermaid import to_mermaid

TEMPLATES = ROOT / "templates"
# What a run of the probe plans reads: its contact and variables, its events.
_PROBE_CONDITIONS = (
    'has(contact.tier) && contact.tier == "gold"',
    'has(vars.x) && vars.x > 3 || events.hasOpen("e")',
    'has(contact.email) && contact.email.endsWith("@example.com")',
)


class Context:
    """What a child process keeps between inputs: a scratch folder, the registry."""

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})
        self.scratch = Path(tempfile.mkdtemp(prefix="dee-fuzz-"))
        self.registry: ContentRegistry = load_registry(TEMPLATES)
        self.counter = 0
        self._extras: dict[str, Any] = {}

    def fresh_dir(self) -> Path:
        """An empty folder of its own for one input (the previous one is removed)."""
        self.counter += 1
        folder = self.scratch / f"in-{self.counter}"
        shutil.rmtree(self.scratch / f"in-{self.counter - 1}", ignore_errors=True)
        folder.mkdir()
        return folder

    def extra(self, name: str, make: Callable[[], Any]) -> Any:
        """A per-process resource built on first use (a database, an event loop)."""
        if name not in self._extras:
            self._extras[name] = make()
        return self._extras[name]

    def close(self) -> None:
        for resource in self._extras.values():
            close = getattr(resource, "close", None)
            if close is not None:
                close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def refused(exc: BaseException) -> Verdict:
    return Verdict("refused", f"{type(exc).__name__}: {str(exc)[:300]}")


# ------------------------------------------------------------------ plans


def run_plan(case: Mapping[str, Any], ctx: Context) -> Verdict:
    path = ctx.fresh_dir() / f"plan{case['suffix']}"
    path.write_bytes(case["data"])
    try:
        plan = load_plan(path)
    except DeeError as exc:
        return refused(exc)
    to_mermaid(plan)  # ``dee plan graph`` draws plans that have not been validated
    problems = validate(plan, registry=ctx.registry)
    if problems:
        return Verdict("refused", str(problems[0])[:300])
    plan.content_hash  # noqa: B018 - what registering a plan computes; must not raise
    events = parse_events(EVENTS, source="events")
    trace = simulate(plan, CONTACT, events, registry=ctx.registry)
    return Verdict("accepted", f"{trace.status} {trace.outcome}"[:300])


# ------------------------------------------------------------------ CEL


_DEFAULT = {"when": "default", "goto": "no"}


def probe_plan(conditions: tuple[str, ...]) -> dict[str, Any]:
    """Email, wait, a branch over ``conditions`` (each to its own end), default end."""
    gotos = [{"when": when, "goto": f"end-{i}"} for i, when in enumerate(conditions)]
    return {
        "id": "probe",
        "version": 1,
        "name": "Probe",
        "metadata": {"createdAt": "2026-01-01", "createdBy": "fuzz@example.com"},
        "steps": [
            {"type": "sendEmail", "id": "e", "templateId": "tmpl_intro", "subject": "Hi"},
            {"type": "wait", "id": "w", "duration": {"hours": 1}},
            {
                "type": "branch",
                "id": "b",
                "conditions": [*gotos, {"when": "default", "goto": "no"}],
            },
            *({"type": "end", "id": f"end-{i}", "outcome": f"c{i}"} for i in range(len(gotos))),
            {"type": "end", "id": "no", "outcome": "none"},
        ],
    }


def _start_values(contact: Any, variables: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contact and variables as ``Engine.execute`` takes them, or its typed error."""
    contact = parse_mapping(contact, source="contact", what="the contact")
    variables = parse_mapping(variables, source="vars", what="variables")
    contact_id = contact.get("id")
    if not isinstance(contact_id, str) or not contact_id:
        raise DeeError(["contact: a contact needs a non-empty string 'id'"])
    start_values.check(contact, "contact")
    start_values.check(variables, "variables")
    return contact, variables


def run_cel(case: Mapping[str, Any], ctx: Context) -> Verdict:
    plan = parse_plan(probe_plan((case["when"],)), source="probe")
    problems = validate(plan, registry=ctx.registry)
    if problems:
        return Verdict("refused", str(problems[0])[:300])
    try:
        contact, variables = _start_values(case["contact"], case["vars"])
        events = parse_events(case["events"], source="events")
    except (DeeError, InterpreterError) as exc:
        return refused(exc)
    trace = simulate(plan, contact, events, variables=variables, registry=ctx.registry)
    return Verdict("accepted", f"{trace.status} {trace.outcome}")


# ------------------------------------------------------------------ templates and contacts


def _renderer(ctx: Context) -> RenderWorld:
    world: RenderWorld = ctx.extra("render", lambda: RenderWorld(TEMPLATES, ctx.scratch))
    return world


def run_template(case: Mapping[str, Any], ctx: Context) -> Verdict:
    try:
        contact, variables = _start_values(case["contact"], case["vars"])
    except (DeeError, InterpreterError) as exc:
        return refused(exc)
    world = _renderer(ctx)
    template_id = "tmpl_intro" if case.get("body") is None else world.body(case["body"])
    try:
        size = world.render_all(
            template_id, case["subject"], lambda: template_context(variables, contact)
        )
    except (TemplateError, ValueError) as exc:
        return refused(exc)
    return Verdict("accepted", f"{size} characters rendered")


def run_contact(case: Mapping[str, Any], ctx: Context) -> Verdict:
    try:
        contact, variables = _start_values(case["contact"], case["vars"])
    except (DeeError, InterpreterError) as exc:
        return refused(exc)
    plan = parse_plan(probe_plan(_PROBE_CONDITIONS), source="probe")
    trace = simulate(plan, contact, variables=variables, registry=ctx.registry)
    notes = [trace.status]
    try:
        _renderer(ctx).render_all(
            "tmpl_intro", "Hi {{ product }}", lambda: template_context(variables, contact)
        )
    except (TemplateError, ValueError) as exc:
        notes.append(f"template: {exc}")  # the run would fail at the send, recorded
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for channel, duration in (("email", 0), ("voice", 60)):
        try:
            GateRequest("t", "r", "probe", "e", 0, channel, contact, at, duration)  # type: ignore[arg-type]
        except PolicyError as exc:
            notes.append(f"policy: {exc}")
    return Verdict("accepted", "; ".join(notes)[:300])


# ------------------------------------------------------------------ events


def run_event(case: Mapping[str, Any], ctx: Context) -> Verdict:
    try:
        events = parse_events(case["events"], source="events")
    except InterpreterError as exc:
        return refused(exc)
    for event in events:  # what Engine.ingest_event refuses before delivering
        if not event.type:
            return Verdict("refused", "event: type is required")
        try:
            canonical_json(dict(event.data))
        except Exception as exc:  # the canonicalizer raises several kinds (as the engine says)
            return Verdict("refused", f"event data cannot be recorded: {type(exc).__name__}")
    plan = parse_plan(PLANS[case["plan"]], source=case["plan"])
    trace = simulate(plan, case["contact"], events, registry=ctx.registry)
    return Verdict("accepted", f"{trace.status} {trace.outcome}")


# ------------------------------------------------------------------ judging

Runner = Callable[[Mapping[str, Any], Context], Verdict]


def run_warm(case: Mapping[str, Any], ctx: Context) -> Verdict:
    """Load what the targets load and build their databases, before any input is timed."""
    from bench.fuzzing.cli_target import warm_cli  # noqa: PLC0415
    from bench.fuzzing.policy_target import warm_policy  # noqa: PLC0415

    warm_cli(ctx)
    warm_policy(ctx)
    _renderer(ctx).render_all("tmpl_intro", "Hi", lambda: template_context(VARS, CONTACT))
    return Verdict("accepted", "warm")


def runners() -> dict[str, Runner]:
    from bench.fuzzing.cli_target import run_cli  # noqa: PLC0415 - the CLI loads lazily
    from bench.fuzzing.policy_target import run_suppression  # noqa: PLC0415

    return {
        "warm": run_warm,
        "plan": run_plan,
        "cel": run_cel,
        "template": run_template,
        "contact": run_contact,
        "event": run_event,
        "suppression": run_suppression,
        "cli": run_cli,
    }


def judge(target: str, case: Mapping[str, Any], ctx: Context) -> Verdict:
    """Run ``case`` on ``target``: its verdict, or a crash naming what escaped."""
    begin = time.perf_counter()
    try:
        verdict = runners()[target](case, ctx)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        verdict = Verdict("crash", f"{type(exc).__name__} at {where}: {str(exc)[:300]}")
    detail = verdict.detail.replace(str(ctx.scratch), "<scratch>")  # no machine paths
    return Verdict(verdict.outcome, detail, time.perf_counter() - begin)


def expectation_met(seed: Seed, verdict: Verdict) -> Verdict:
    """``verdict``, or a violation when a seed's demand (``refused``/``accepted``) is not met."""
    if verdict.ok and seed.expect not in ("any", verdict.outcome):
        return Verdict(
            "violation",
            f"issue 18 item {seed.item} demands {seed.expect}, got {verdict.outcome}: "
            f"{verdict.detail}",
            verdict.seconds,
        )
    return verdict
