"""The execution-plan model: frozen pydantic types mirroring the plan documents.

Field names are snake_case in Python and camelCase in files (``templateId``);
unknown fields are rejected. Semantic rules (reachability, durations, registries,
conditions) live in ``validation``; this module only fixes the shape.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

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


class SendEmailStep(PlanModel):
    type: Literal["sendEmail"] = "sendEmail"
    id: str
    template_id: str
    subject: str
    reply_to: str | None = None
    tracking: Tracking = Tracking()


class SendVoiceStep(PlanModel):
    type: Literal["sendVoice"] = "sendVoice"
    id: str
    script_id: str
    caller_id: str
    max_duration: CallDuration
    voicemail: Voicemail = Voicemail()


class WaitStep(PlanModel):
    type: Literal["wait"] = "wait"
    id: str
    duration: Duration


class Condition(PlanModel):
    """``when`` is a CEL expression or the literal ``default``; the first true one wins."""

    when: str
    goto: str


class BranchStep(PlanModel):
    type: Literal["branch"] = "branch"
    id: str
    conditions: tuple[Condition, ...]


class EndStep(PlanModel):
    type: Literal["end"] = "end"
    id: str
    outcome: str


Step = Annotated[
    SendEmailStep | SendVoiceStep | WaitStep | BranchStep | EndStep,
    Field(discriminator="type"),
]
SendStep = SendEmailStep | SendVoiceStep


class Transition(PlanModel):
    """An explicit edge. ``condition`` is a label; a branch's real routing is its gotos."""

    from_: str = Field(alias="from")
    to: str
    condition: str | None = None


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
