"""Hypothesis strategies that build *valid* DEE plans structurally, plus their inputs.

A plan is grown the way the documents are written, as nested segments::

    segment    := item* terminator
    item       := sendEmail | sendVoice | wait | loop
    loop       := item* wait branch(back to the loop's start | leave the loop)
    terminator := end | branch(each condition -> a new segment or an existing end)
                | (explicit transitions only) an edge to an existing end

Steps are laid out depth first, so with ``linear`` transitions every send and wait
flows into the next step of the list; with explicit transitions every edge is
listed (branch edges sometimes too, always naming one of the branch's gotos), the
transitions are shuffled and so are the steps after the first. Every loop passes
a wait of positive duration (a day or more when the loop sends) and a branch with an
edge out of the loop, so every generated plan passes ``validate`` (``test_properties``
asserts that).

Branch conditions are drawn once every step id is known, from the plan's CEL
environment: ``events.hasOpen("<step>")``, ``events.hasReply``, ``events.callOutcome
("<step>") == "voicemail"``, ``run.visits("<step>") >= N``, ``vars.x > 3``,
``has(contact.tier)`` and their combinations with ``!``, ``&&`` and ``||``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import strategies as st

from interpreter import (
    CANONICAL_EVENT_TYPES,
    ContentRegistry,
    Event,
    ExecutionPlan,
    MachineConfig,
    parse_plan,
)

T = TypeVar("T")

TEMPLATE_IDS = ("tmpl_intro", "tmpl_follow_up", "tmpl_nudge", "tmpl_final")
SCRIPT_IDS = ("script_intro_call", "script_follow_up")
MESSAGE_IDS = ("vm_intro", "vm_follow_up")
# E.164 numbers the validator must accept ("possible" numbers in several countries).
CALLER_IDS = (
    "+15551234567",
    "+14155552671",
    "+442071838750",
    "+33142685300",
    "+4930901820",
    "+61293744000",
    "+81312345678",
    "+5511912345678",
)
CALL_OUTCOMES = ("answered", "voicemail", "no_answer", "busy", "failed", "completed")
EVENT_TYPES = (*sorted(CANONICAL_EVENT_TYPES), "crm.note_added")
TIERS = ("gold", "silver", "bronze")
DEFAULT_STEP_BUDGET = MachineConfig().step_budget

_ID_SUFFIXES = ("", "x", "_a", ".b", ":c", "-d", "9")
# Fixed pools rather than st.text(): every character of a drawn text is a choice,
# and generation time is what bounds how many plans a fast test run can try.
OUTCOMES = ("replied", "followed-up", "no-answer", "done", "gave-up", "x")
SUBJECTS = ("Hello", "Introducing {{ product }}", "Quick question", " re: {{name}} ", "x")
LABELS = ("replied", "opened", "default", "other")
PLAN_NAMES = ("Generated plan", "g", "Sales outreach (generated)")
REPLY_TOS = (
    "sales@example.com",
    "first.last+tag@mail.example.co.uk",
    "x@1.io",
    "o'brien@example.org",
    "support_team@sub-domain.example.com",
)


# --- steps -------------------------------------------------------------------


def durations() -> st.SearchStrategy[dict[str, int]]:
    """Positive wait durations up to the default 365-day limit, in mixed components."""
    single = st.one_of(
        st.builds(lambda n: {"seconds": n}, st.integers(1, 3_600)),
        st.builds(lambda n: {"minutes": n}, st.integers(1, 600)),
        st.builds(lambda n: {"hours": n}, st.integers(1, 72)),
        st.builds(lambda n: {"days": n}, st.integers(1, 365)),
    )
    mixed = st.fixed_dictionaries(
        {},
        optional={
            "days": st.integers(0, 364),
            "hours": st.integers(0, 23),
            "minutes": st.integers(0, 59),
            "seconds": st.integers(0, 59),
        },
    ).map(lambda d: d if sum(d.values()) > 0 else {**d, "seconds": 1})
    return st.one_of(single, mixed)


_INDEX = st.integers(0, 255)


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of ``options``; one shared strategy is far cheaper than a ``sampled_from`` each."""
    return options[draw(_INDEX) % len(options)]


_DURATIONS = durations()
_LONG_DURATIONS = st.one_of(
    st.builds(lambda n: {"days": n}, st.integers(1, 365)),
    st.builds(lambda d, h: {"days": d, "hours": h}, st.integers(1, 364), st.integers(0, 23)),
    st.builds(lambda h: {"hours": h}, st.integers(24, 24 * 30)),
)
_MAX_CALL = st.integers(1, 4 * 3600)


def _email_step(draw: st.DrawFn, step_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "sendEmail",
        "id": step_id,
        "templateId": pick(draw, TEMPLATE_IDS),
        "subject": pick(draw, SUBJECTS),
    }
    if draw(st.booleans()):
        doc["replyTo"] = pick(draw, REPLY_TOS)
    if draw(st.booleans()):
        doc["tracking"] = {"opens": draw(st.booleans()), "clicks": draw(st.booleans())}
    return doc


def _voice_step(draw: st.DrawFn, step_id: str) -> dict[str, Any]:
    minutes, seconds = divmod(draw(_MAX_CALL), 60)
    max_duration = {"minutes": minutes, "seconds": seconds}
    doc: dict[str, Any] = {
        "type": "sendVoice",
        "id": step_id,
        "scriptId": pick(draw, SCRIPT_IDS),
        "callerId": pick(draw, CALLER_IDS),
        "maxDuration": {k: v for k, v in max_duration.items() if v or draw(st.booleans())},
    }
    voicemail = pick(draw, ("none", "detect", "message-only"))
    if voicemail == "detect":
        doc["voicemail"] = {"detect": True, "messageId": pick(draw, MESSAGE_IDS)}
    elif voicemail == "message-only":
        doc["voicemail"] = {"messageId": pick(draw, MESSAGE_IDS)}
    return doc


# --- the plan skeleton ------------------------------------------------------------


@dataclass
class _Pending:
    """An edge waiting for whatever step comes next in the current segment."""

    from_branch: bool
    resolve: Callable[[str], None]


class _Skeleton:
    """Grows the step list; branch conditions get their CEL once every id exists."""

    def __init__(self, draw: st.DrawFn, *, linear: bool, max_steps: int) -> None:
        self.draw = draw
        self.linear = linear
        self.max_steps = max_steps
        self.steps: list[dict[str, Any]] = []
        self.succ: dict[str, str] = {}  # a send's or wait's next step
        self.pending: list[_Pending] = []
        self.ends: list[str] = []
        self.loop_members: set[str] = set()
        self.loop_branches: set[str] = set()
        # (branch doc, condition index, loop hint) for conditions still without CEL
        self.open_conditions: list[tuple[dict[str, Any], int, str | None]] = []
        self.anchors: list[str] = []  # loop-back targets of the current segment

    # ids and bookkeeping

    def new_id(self, kind: str) -> str:
        suffix = _ID_SUFFIXES[len(self.steps) % len(_ID_SUFFIXES)]
        return f"{kind}-{len(self.steps) + 1}{suffix}"

    def room(self, reserve: int) -> bool:
        return len(self.steps) + reserve <= self.max_steps

    def add(self, doc: dict[str, Any]) -> str:
        for p in self.pending:
            p.resolve(doc["id"])
        self.pending = []
        self.steps.append(doc)
        return str(doc["id"])

    def then_next(self, step_id: str) -> None:
        def resolve(target: str) -> None:
            self.succ[step_id] = target

        self.pending.append(_Pending(False, resolve))

    # segments

    def action(self) -> str:
        kind = pick(self.draw, ("sendEmail", "sendVoice", "wait"))
        if kind == "sendEmail":
            doc = _email_step(self.draw, self.new_id("email"))
        elif kind == "sendVoice":
            doc = _voice_step(self.draw, self.new_id("call"))
        else:
            doc = {"type": "wait", "id": self.new_id("wait"), "duration": self.draw(_DURATIONS)}
        step_id = self.add(doc)
        self.then_next(step_id)
        return step_id

    def segment(self, depth: int) -> str:
        """Lay out one segment; return the id its entry edge should point at."""
        saved_anchors, self.anchors = self.anchors, []
        first: str | None = None
        for _ in range(self.draw(st.integers(0, 3))):
            if not self.room(6):
                break
            if self.draw(st.integers(0, 3)) == 0:
                start = self.loop()
            else:
                start = self.action()
                self.anchors.append(start)
            first = first or start
        terminator = self.terminator(depth)
        self.anchors = saved_anchors
        return first or terminator

    def terminator(self, depth: int) -> str:
        options = ["end"]
        if depth > 0 and self.room(4):
            options += ["branch", "branch"]
        only_branch_edges = all(p.from_branch for p in self.pending)
        if self.ends and (not self.linear or only_branch_edges):
            options.append("existing-end")
        choice = pick(self.draw, options)
        if choice == "existing-end":
            target = pick(self.draw, self.ends)
            for p in self.pending:
                p.resolve(target)
            self.pending = []
            return target
        if choice == "end":
            end_id = self.add(
                {"type": "end", "id": self.new_id("end"), "outcome": pick(self.draw, OUTCOMES)}
            )
            self.ends.append(end_id)
            return end_id
        branch: dict[str, Any] = {"type": "branch", "id": self.new_id("check"), "conditions": []}
        branch_id = self.add(branch)
        cases = self.draw(st.integers(1, 3))
        for i in range(cases + 1):
            when = "default" if i == cases else None
            fresh = self.room(3) and (not self.ends or self.draw(st.integers(0, 2)) > 0)
            goto = self.segment(depth - 1) if fresh else pick(self.draw, self.ends)
            branch["conditions"].append({"when": when, "goto": goto})
            if when is None:
                self.open_conditions.append((branch, i, None))
        return branch_id

    def loop(self) -> str:
        """item* wait branch: back to a step of this segment, or out to what follows."""
        members_before = len(self.steps)
        anchor_candidates = list(self.anchors)
        first: str | None = None
        for _ in range(self.draw(st.integers(0, 2))):
            start = self.action()
            first = first or start
            anchor_candidates.append(start)
        wait_id = self.add(
            {"type": "wait", "id": self.new_id("wait"), "duration": self.draw(_DURATIONS)}
        )
        self.then_next(wait_id)
        first = first or wait_id
        anchor_candidates.append(wait_id)
        back = pick(self.draw, anchor_candidates)
        # A loop that sends must wait at least a day on every round (validation's
        # send-loop rule): its one wait is then drawn from a day upwards.
        ids = [s["id"] for s in self.steps]
        if any(s["type"] in ("sendEmail", "sendVoice") for s in self.steps[ids.index(back) :]):
            self.steps[ids.index(wait_id)]["duration"] = self.draw(_LONG_DURATIONS)
        branch: dict[str, Any] = {"type": "branch", "id": self.new_id("loop"), "conditions": []}
        branch_id = self.add(branch)
        conditions: list[dict[str, Any]] = branch["conditions"]
        back_on_default = self.draw(st.booleans())
        # the loop's own decision first, then (maybe) ways out to an existing end
        conditions.append({"when": None, "goto": None if back_on_default else back})
        self.open_conditions.append((branch, 0, "exit" if back_on_default else "stay"))
        for _ in range(self.draw(st.integers(0, 1)) if self.ends else 0):
            conditions.append({"when": None, "goto": pick(self.draw, self.ends)})
            self.open_conditions.append((branch, len(conditions) - 1, None))
        conditions.append({"when": "default", "goto": back if back_on_default else None})
        exit_index = 0 if back_on_default else len(conditions) - 1

        def resolve_exit(target: str) -> None:
            conditions[exit_index]["goto"] = target

        self.pending.append(_Pending(True, resolve_exit))
        # the loop (a superset of its cycle): its first step or the back target, on
        # to the branch; these steps are consecutive in the list
        ids = [s["id"] for s in self.steps]
        start_index = min(ids.index(back), members_before)
        self.loop_members.update(ids[start_index:])
        self.loop_branches.add(branch_id)
        self.anchors = []  # a later loop may not reach back over this one
        return first


# --- conditions --------------------------------------------------------------------


def draw_condition(
    draw: st.DrawFn,
    step_ids: Sequence[str],
    email_ids: Sequence[str],
    voice_ids: Sequence[str],
    depth: int = 2,
) -> str:
    """A boolean CEL expression over the plan environment, naming only plan steps."""
    if depth > 0 and draw(st.integers(0, 3)) == 0:
        op = pick(draw, ("!", "&&", "||"))
        left = draw_condition(draw, step_ids, email_ids, voice_ids, depth - 1)
        if op == "!":
            return f"!({left})"
        right = draw_condition(draw, step_ids, email_ids, voice_ids, depth - 1)
        return f"({left}) {op} ({right})"
    emails = email_ids or step_ids
    calls = voice_ids or step_ids
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        function = ("hasOpen", "hasReply", "hasClick", "hasBounce")[kind]
        return f'events.{function}("{pick(draw, emails)}")'
    if kind == 4:
        return f'events.hasEvent("{pick(draw, EVENT_TYPES)}", "{pick(draw, step_ids)}")'
    if kind == 5:
        return f'events.callOutcome("{pick(draw, calls)}") == "{pick(draw, CALL_OUTCOMES)}"'
    if kind == 6:
        op = pick(draw, (">=", ">", "<", "=="))
        return f'run.visits("{pick(draw, step_ids)}") {op} {draw(st.integers(0, 4))}'
    if kind == 7:
        return f"vars.x {pick(draw, ('>', '<=', '!='))} {draw(st.integers(-3, 8))}"
    if kind == 8:
        return "has(contact.tier)"
    return f'has(contact.tier) && contact.tier == "{pick(draw, TIERS)}"'


# --- plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedPlan:
    """A valid plan, its document, the registry it needs, and where its loops are."""

    document: dict[str, Any]
    plan: ExecutionPlan
    registry: ContentRegistry
    loop_members: frozenset[str]
    loop_branches: frozenset[str]

    @property
    def linear(self) -> bool:
        return self.plan.transitions == "linear"


def registry_for(plan: ExecutionPlan) -> ContentRegistry:
    """Exactly the templates, scripts and voicemail messages ``plan`` references."""
    templates, scripts, messages = set(), set(), set()
    for s in plan.steps:
        if s.type == "sendEmail":
            templates.add(s.template_id)
        elif s.type == "sendVoice":
            scripts.add(s.script_id)
            if s.voicemail.message_id is not None:
                messages.add(s.voicemail.message_id)
    return ContentRegistry(frozenset(templates), frozenset(scripts), frozenset(messages))


@st.composite
def plan_documents(
    draw: st.DrawFn, *, transitions: str | None = None, max_steps: int = 30, max_depth: int = 3
) -> tuple[dict[str, Any], frozenset[str], frozenset[str]]:
    """A valid plan document with its loop members and loop branches.

    ``transitions`` is ``"linear"``, ``"explicit"`` or None (either).
    """
    mode = transitions or pick(draw, ("linear", "explicit"))
    sk = _Skeleton(draw, linear=mode == "linear", max_steps=max_steps)
    sk.segment(min(max_depth, pick(draw, (2, 3, 1, 0, 3))))
    assert not sk.pending, "every edge of a finished plan is resolved"

    ids = [s["id"] for s in sk.steps]
    email_ids = [s["id"] for s in sk.steps if s["type"] == "sendEmail"]
    voice_ids = [s["id"] for s in sk.steps if s["type"] == "sendVoice"]
    for branch, index, hint in sk.open_conditions:
        cond = branch["conditions"][index]
        if hint is not None and draw(st.booleans()):
            # the loop's own decision: leave (or stay) by its visit count
            n = draw(st.integers(1, 4))
            op = ">=" if hint == "exit" else "<"
            cond["when"] = f'run.visits("{branch["id"]}") {op} {n}'
        else:
            cond["when"] = draw_condition(draw, ids, email_ids, voice_ids)

    steps = sk.steps
    doc: dict[str, Any] = {
        "id": pick(draw, ("generated", "gen.plan", "sales-2")),
        "version": draw(st.integers(1, 5)),
        "name": pick(draw, PLAN_NAMES),
        "metadata": {"createdAt": "2026-01-15T09:00:00Z", "createdBy": "hypothesis@example.com"},
    }
    if mode == "linear":
        if draw(st.booleans()):
            doc["transitions"] = "linear"
    else:
        edges: list[dict[str, str]] = [
            {"from": s["id"], "to": sk.succ[s["id"]]}
            for s in steps
            if s["type"] not in ("branch", "end")
        ]
        for s in steps:
            if s["type"] == "branch" and draw(st.booleans()):
                gotos = list(dict.fromkeys(c["goto"] for c in s["conditions"]))
                for goto in gotos:
                    if not draw(st.booleans()):
                        continue
                    edge = {"from": s["id"], "to": goto}
                    if draw(st.booleans()):
                        edge["condition"] = pick(draw, LABELS)
                    edges.append(edge)
        doc["transitions"] = draw(st.permutations(edges))
        steps = [steps[0], *draw(st.permutations(steps[1:]))]
    doc["steps"] = steps
    return doc, frozenset(sk.loop_members), frozenset(sk.loop_branches)


@st.composite
def generated_plans(
    draw: st.DrawFn, *, transitions: str | None = None, max_steps: int = 30
) -> GeneratedPlan:
    doc, members, branches = draw(plan_documents(transitions=transitions, max_steps=max_steps))
    plan = parse_plan(doc, source="generated.yaml")
    return GeneratedPlan(doc, plan, registry_for(plan), members, branches)


def plans(*, transitions: str | None = None) -> st.SearchStrategy[ExecutionPlan]:
    return generated_plans(transitions=transitions).map(lambda g: g.plan)


def registries(plan: ExecutionPlan) -> st.SearchStrategy[ContentRegistry]:
    """Registries holding every id ``plan`` references, and perhaps unrelated ones."""
    base = registry_for(plan)
    extra = st.frozensets(st.sampled_from(("tmpl_other", "script_other", "vm_other")))
    return extra.map(
        lambda more: ContentRegistry(
            base.email_templates | {m for m in more if m.startswith("tmpl")},
            base.voice_scripts | {m for m in more if m.startswith("script")},
            base.voice_messages | {m for m in more if m.startswith("vm")},
        )
    )


# --- run inputs ----------------------------------------------------------------------


def horizon(plan: ExecutionPlan) -> int:
    """A tick range covering every wait (loops go round a few times)."""
    total = sum(s.duration.total_seconds for s in plan.steps if s.type == "wait")
    return 3 * total + 10


def wait_boundaries(plan: ExecutionPlan) -> list[int]:
    """Ticks at which timers fire along the list order: events there race the timer."""
    out, tick = [0], 0
    for s in plan.steps:
        if s.type == "wait":
            tick += s.duration.total_seconds
            out.append(tick)
    return out


EVENT_IDS = (None, "ev-1", "ev-2", "ev-3", "ev-4")  # few ids: duplicates happen
EVENT_DATA: tuple[dict[str, Any], ...] = (
    {},
    {},
    {"url": "https://example.com/pricing"},
    {"reason": "mailbox full", "attempt": 2},
    {"ok": True, "note": "später"},
)


def draw_events(draw: st.DrawFn, plan: ExecutionPlan, *, max_size: int = 8) -> list[Event]:
    """Events over canonical types (and one custom) and the plan's step ids.

    Ticks range over the plan's waits, and often sit exactly on (or just after) a
    timer's tick, where the order of ingestion and timer firing matters.
    """
    step_ids: tuple[str | None, ...] = (None, *(s.id for s in plan.steps))
    boundaries = wait_boundaries(plan)
    last = horizon(plan)
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        where = pick(draw, ("anywhere", "boundary", "after"))
        if where == "anywhere":
            tick = draw(st.integers(0, last))
        else:
            tick = pick(draw, boundaries) + (where == "after")
        out.append(
            Event(
                pick(draw, EVENT_TYPES),
                tick,
                pick(draw, EVENT_IDS),
                pick(draw, step_ids),
                pick(draw, EVENT_DATA),
            )
        )
    return out


def events_for(plan: ExecutionPlan, *, max_size: int = 8) -> st.SearchStrategy[list[Event]]:
    return st.composite(lambda draw: draw_events(draw, plan, max_size=max_size))()


_CONTACTS = st.fixed_dictionaries(
    {"id": st.sampled_from(("c-1", "c-2", "contact-42"))},
    optional={"tier": st.sampled_from(TIERS), "name": st.sampled_from(("Ada", "Lin"))},
)
_VARIABLES = st.fixed_dictionaries({"x": st.integers(-5, 10)})
_SMALL_BUDGET = st.integers(1, 40)


def contacts() -> st.SearchStrategy[dict[str, Any]]:
    return _CONTACTS


def variables() -> st.SearchStrategy[dict[str, Any]]:
    return _VARIABLES


def draw_config(draw: st.DrawFn) -> MachineConfig:
    """Mostly small step budgets, so the budget path is exercised; 1 in 5 the default."""
    if pick(draw, (False, True, True, True, True)):
        return MachineConfig(step_budget=draw(_SMALL_BUDGET))
    return MachineConfig()


@dataclass(frozen=True)
class RunCase:
    generated: GeneratedPlan
    contact: dict[str, Any]
    variables: dict[str, Any]
    events: list[Event]
    config: MachineConfig

    @property
    def plan(self) -> ExecutionPlan:
        return self.generated.plan

    @property
    def registry(self) -> ContentRegistry:
        return self.generated.registry

    def to_json(self, run_id: str) -> dict[str, Any]:
        """The case as plain JSON: what a separate process needs to replay it."""
        return {
            "runId": run_id,
            "plan": self.generated.document,
            "contact": self.contact,
            "variables": self.variables,
            "events": [e.as_dict() for e in self.events],
            "stepBudget": self.config.step_budget,
        }


@st.composite
def run_cases(draw: st.DrawFn, *, transitions: str | None = None) -> RunCase:
    generated = draw(generated_plans(transitions=transitions))
    return RunCase(
        generated,
        draw(contacts()),
        draw(variables()),
        draw_events(draw, generated.plan),
        draw_config(draw),
    )
