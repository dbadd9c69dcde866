"""The execution-plan model: frozen pydantic types mirroring the plan documents.

Field names are snake_case in Python and camelCase in files (``templateId``);
unknown fields are rejected. Semantic rules (reachability, durations, registries,
conditions) live in ``validation``; this module only fixes the shape.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal, TypeGuard, final, get_args

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, Strict
from pydantic.alias_generators import to_camel

# Numbers and flags are strict: YAML's ``yes`` or ``"1"`` is not silently a number.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]


class PlanModel(BaseModel):
    """Base for every plan type: immutable, strict about unknown fields, camelCase on disk."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
    )


class Duration(PlanModel):
    """A wait length. Components add up; validation demands a positive total."""

    days: Int = 0
    hours: Int = 0
    minutes: Int = 0
    seconds: Int = 0

    @property
    def total_seconds(self) -> int:
        return self.days * 86_400 + self.hours * 3_600 + self.minutes * 60 + self.seconds


class CallDuration(PlanModel):
    """The longest a voice call may last (the cost reservation is based on it)."""

    minutes: Int = 0
    seconds: Int = 0

    @property
    def total_seconds(self) -> int:
        return self.minutes * 60 + self.seconds


class Tracking(PlanModel):
    opens: Bool = False
    clicks: Bool = False


class Voicemail(PlanModel):
    detect: Bool = False
    message_id: str | None = None


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SendWindow(PlanModel):
    """When a send may go, in the contact's local time: ``from`` <= time < ``to`` on
    ``days`` (every day when omitted). Outside it the send waits for the next opening."""

    from_: str = Field(alias="from", description='Opening time, "HH:MM" (00:00-23:59).')
    to: str = Field(
        description='Closing time, "HH:MM" or "24:00" (end of day); the window is open '
        "before it. Required."
    )
    days: tuple[Weekday, ...] | None = Field(
        None, description="Weekdays the window opens on (mon..sun); every day when omitted."
    )


class LocalTime(PlanModel):
    """A wall-clock time in the contact's time zone, on ``days`` (every day when omitted)."""

    time: str = Field(description='"HH:MM" (00:00-23:59), local to the contact.')
    days: tuple[Weekday, ...] | None = Field(
        None, description="Weekdays it may fall on (mon..sun); every day when omitted."
    )


_WINDOW = (
    "Send only inside this contact-local window; outside it the send waits for the next "
    "opening (recorded as a deferral), then passes the policy gate as usual."
)


# Step types are final: ``type(step) is X`` dispatch (the machine's, faster than
# ``isinstance`` on a pydantic model) then narrows, so ``assert_never`` makes mypy find
# every place a new step type must be handled (docs/extending.md).
@final
class SendEmailStep(PlanModel):
    type: Literal["sendEmail"] = "sendEmail"
    id: str
    template_id: str
    subject: str
    reply_to: str | None = None
    tracking: Tracking = Tracking()
    window: SendWindow | None = Field(None, description=_WINDOW)


@final
class SendVoiceStep(PlanModel):
    type: Literal["sendVoice"] = "sendVoice"
    id: str
    script_id: str
    caller_id: str
    max_duration: CallDuration
    voicemail: Voicemail = Voicemail()
    window: SendWindow | None = Field(None, description=_WINDOW)


@final
class WaitStep(PlanModel):
    """A wait for a ``duration``, or ``until`` the next local time (exactly one of them)."""

    type: Literal["wait"] = "wait"
    id: str
    duration: Duration | None = Field(
        None, description="How long to wait. Exactly one of duration and until."
    )
    until: LocalTime | None = Field(
        None,
        description="Wait until the next such contact-local time strictly after now. "
        "Exactly one of duration and until.",
    )


@final
class WaitForEventStep(PlanModel):
    """Wait until ``until`` (CEL) holds, checked on entry and after every ingested event:
    then go to ``onEvent``; when ``timeout`` passes first, go to ``onTimeout``."""

    type: Literal["waitForEvent"] = "waitForEvent"
    id: str
    until: str = Field(
        description="CEL condition, checked on entry and after every ingested event "
        "(an event ingested before the step counts)."
    )
    timeout: Duration = Field(description="Longest wait; same units and limits as wait.duration.")
    on_event: str = Field(description="Step to go to when until holds.")
    on_timeout: str = Field(description="Step to go to when the timeout passes first.")


class Condition(PlanModel):
    """``when`` is a CEL expression or the literal ``default``; the first true one wins."""

    when: str
    goto: str


@final
class BranchStep(PlanModel):
    type: Literal["branch"] = "branch"
    id: str
    conditions: tuple[Condition, ...]


@final
class EndStep(PlanModel):
    type: Literal["end"] = "end"
    id: str
    outcome: str


Step = Annotated[
    SendEmailStep | SendVoiceStep | WaitStep | WaitForEventStep | BranchStep | EndStep,
    Field(discriminator="type"),
]
SendStep = SendEmailStep | SendVoiceStep
# The send step types, read from ``SendStep`` so that a new one is added in one place.
SEND_STEP_TYPES: tuple[type[PlanModel], ...] = get_args(SendStep)


def is_send_step(step: object) -> TypeGuard[SendStep]:
    """Whether ``step`` is a send step (exact type: cheaper than ``isinstance``)."""
    return type(step) in SEND_STEP_TYPES


class Transition(PlanModel):
    """An explicit edge. ``condition`` is a label; a branch's real routing is its gotos."""

    from_: str = Field(alias="from")
    to: str
    condition: str | None = None


class ExitRule(PlanModel):
    """A plan-level rule checked whenever an event is ingested: the first that matches
    ends the run as COMPLETED with ``outcome``.

    ``event`` matches an ingested event of that type (of ``step`` only, when given);
    ``when`` is a CEL condition on the run after the event. With both, both must hold.
    """

    event: str | None = Field(None, description="Event type that matches (email.replied ...).")
    step: str | None = Field(
        None,
        description="Only an event of this step matches (with event); any step's when omitted.",
    )
    when: str | None = Field(
        None, description="CEL condition on the run after the event; with event, both must hold."
    )
    outcome: str = Field(description="The run's outcome when this rule ends it (COMPLETED).")


class Compliance(PlanModel):
    """The compliance rules a plan's sends are under, and what they are about
    (docs/compliance.md); ``interpreter.compliance`` checks the names and the path."""

    presets: tuple[str, ...] | None = Field(
        None,
        description="Compliance presets (tcpa, florida, oklahoma, regf, can-spam, gmail-bulk) "
        "added to the configured ones; distinct, never empty when given.",
    )
    debt_ref: str | None = Field(
        None,
        description='Where the run keeps the debt its sends are about: "vars.<name>" or '
        '"contact.<field>" (Reg F counts attempts per debt).',
    )
    subject: str | None = Field(
        None,
        description="What the sends are about (Florida and Oklahoma count calls per "
        "subject); the plan id when omitted.",
    )


class PlanMetadata(PlanModel):
    created_at: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
    )
    created_by: str
    description: str | None = None


class ExecutionPlan(PlanModel):
    """A versioned, immutable plan: steps, transitions and metadata."""

    id: str = Field(min_length=1)
    version: Int = Field(ge=1)
    name: str
    steps: tuple[Step, ...]
    transitions: Literal["linear"] | tuple[Transition, ...] = "linear"
    metadata: PlanMetadata
    # ``None`` rather than empty defaults: a plan written before these fields keeps its
    # canonical JSON, and so its content hash (``to_document`` leaves out ``None``).
    exit_on: tuple[ExitRule, ...] | None = Field(
        None,
        description="Checked, in order, whenever an event is ingested, in every status that "
        "is not final: the first rule that matches ends the run at once as COMPLETED with "
        "its outcome (a wait or deferral is cancelled; a send in flight finishes first).",
    )
    default_timezone: str | None = Field(
        None,
        description="IANA time zone for waits until a time and send windows when the "
        "contact has no timezone field; with neither, such a step fails the run closed.",
    )

    compliance: Compliance | None = Field(
        None,
        description="Compliance presets and the debt and subject the plan's sends are "
        "about, for the policy gate's compliance rules.",
    )

    @property
    def exit_rules(self) -> tuple[ExitRule, ...]:
        return self.exit_on or ()

    def canonical_json(self) -> bytes:
        """RFC 8785 bytes of the plan as it appears in a file (None fields omitted)."""
        return bytes(rfc8785.dumps(self.to_document()))

    def to_document(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict with the file format's camelCase names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @property
    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON: the identity of this exact body.

        Computed on every call, never cached: ``model_copy(update=...)`` copies
        cached values, and a stale hash would let a changed body pass as the old one.
        """
        return "sha256:" + hashlib.sha256(self.canonical_json()).hexdigest()

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
