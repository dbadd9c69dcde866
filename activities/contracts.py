"""What crosses the workflow/activity boundary: names, inputs and results.

Plain dataclasses and constants only, so the workflow sandbox can import this
module without pulling in databases or channel SDKs. Every activity that acts
on the world also carries the audit entries not yet persisted (``AuditBatch``)
and writes them *before* acting: no side effect happens without its record, and
no extra activity (or history event) is spent on bookkeeping.

No ``from __future__ import annotations`` here: Temporal's converter resolves
these dataclasses' type hints at run time, inside the workflow sandbox.
"""

from dataclasses import dataclass, field
from typing import Any

from interpreter.commands import SendEmail, SendVoice

TASK_QUEUE = "dee-plan-runs"
WORKFLOW_NAME = "PlanRunWorkflow"

CHECK_POLICIES = "check_policies"
SEND_EMAIL = "send_email"
SEND_VOICE = "send_voice"
APPEND_AUDIT = "append_audit"
# The answered form of the ``ingest_event`` signal (a workflow update).
INGEST_UPDATE = "ingest"
# The error type an update validator refuses an event with once the run has ended.
RUN_ENDED = "RunEnded"
# What the bookkeeper refuses a run's first write with when the run's plan snapshot is
# not the stored plan of its id and version: the workflow fails the start with it.
PLAN_MISMATCH = "PlanMismatch"
UNKNOWN_PLAN = "UnknownPlan"
START_REFUSALS = (PLAN_MISMATCH, UNKNOWN_PLAN)


@dataclass
class RunRow:
    """The run's bookkeeping row, as the workflow sees it now.

    One of three run types, one per boundary. This one travels inside ``AuditBatch``
    from the workflow to the activities, so recorded histories freeze its fields (a
    new one only with a default) and it may import nothing a workflow sandbox cannot.
    ``activities.bookkeeping.record_of`` maps it to the stored row,
    ``adapters.storage.RunRecord``; the public ``dee.runs.reading.ExecutionRun`` is read
    from that row, never from this one. ``outcome`` and ``failure`` (the reason only)
    are not stored from here: the row keeps the facts the audit entries decide
    (``adapters.storage.run_facts``). ``plan_hash`` is checked, not stored.
    """

    run_id: str
    tenant: str
    plan_id: str
    plan_version: int
    contact_id: str
    status: str
    step_id: str | None
    outcome: str | None = None
    failure: str | None = None
    # the run's plan snapshot hash, checked against the stored plan at the first write
    plan_hash: str | None = None


@dataclass
class AuditBatch:
    """Chained audit entries (``ChainedEntry.as_dict()`` form) plus the run row.

    ``entries`` are committed history: appended to the append-only table. ``pending``
    (``None`` from workflows before the pending tail existed) is what the current,
    not yet committed workflow task computed: it replaces the run's pending tail, and
    an empty list clears what ``entries`` now commits (docs/audit.md).
    """

    run: RunRow
    entries: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] | None = None


@dataclass
class AuditAck:
    persisted_through_seq: int


@dataclass
class PolicyRequest:
    """A policy check: the machine's ``CheckPolicy`` plus the run it belongs to.

    The fields after ``max_duration_seconds`` are the plan's ``compliance`` block as
    the run resolved it (``interpreter.compliance``) and a call's caller id; requests
    scheduled before they existed decode with the defaults (no block).
    """

    batch: AuditBatch
    run_id: str
    tenant: str
    plan_id: str
    contact: dict[str, Any]
    channel: str
    step_id: str
    visit: int
    at_epoch_ms: int
    max_duration_seconds: int = 0
    debt_ref: str | None = None
    subject: str | None = None
    presets: list[str] = field(default_factory=list)
    caller_id: str | None = None
    debt_ref_problem: str | None = None


@dataclass
class PolicyResponse:
    decision: str  # allow | defer | deny
    persisted_through_seq: int
    policy: str | None = None
    reason: str | None = None
    until_epoch_ms: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class EmailRequest:
    """An email send: the machine's ``send`` command plus the run it belongs to.

    ``step_id`` and ``visit`` name the send (the ledger's key). Requests scheduled
    before ``send`` existed carry the command's fields one by one instead (from
    ``template_id`` to ``track_clicks``): ``command()`` reads either form.
    """

    batch: AuditBatch
    run_id: str
    tenant: str
    plan_id: str
    step_id: str
    visit: int
    template_id: str = ""
    subject: str = ""
    reply_to: str | None = None
    track_opens: bool = False
    track_clicks: bool = False
    contact: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    # An operator's retry with --resend: send again even where the provider cannot be
    # asked whether the earlier, unknown attempt went out (SMTP).
    resend: bool = False
    send: SendEmail | None = None

    def command(self) -> SendEmail:
        """The send command, from ``send`` or from the fields an older request copied."""
        if self.send is not None:
            return self.send
        return SendEmail(
            self.step_id, self.visit, self.template_id, self.subject, self.reply_to,
            self.track_opens, self.track_clicks,
        )  # fmt: skip


@dataclass
class VoiceRequest:
    """A call: the machine's ``send`` command plus the run it belongs to.

    As ``EmailRequest``: older requests copy the command's fields (``script_id`` to
    ``voicemail_message_id``) instead of carrying ``send``; ``command()`` reads either.
    """

    batch: AuditBatch
    run_id: str
    tenant: str
    plan_id: str
    step_id: str
    visit: int
    script_id: str = ""
    caller_id: str = ""
    max_duration_seconds: int = 0
    detect_voicemail: bool = False
    voicemail_message_id: str | None = None
    contact: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    resend: bool = False
    send: SendVoice | None = None

    def command(self) -> SendVoice:
        """The send command, from ``send`` or from the fields an older request copied."""
        if self.send is not None:
            return self.send
        return SendVoice(
            self.step_id, self.visit, self.script_id, self.caller_id, self.max_duration_seconds,
            self.detect_voicemail, self.voicemail_message_id,
        )  # fmt: skip


@dataclass
class SendResponse:
    """A send's outcome; failures are values (recorded by the run), not exceptions."""

    status: str  # delivered | failed | unknown (the provider may or may not have it)
    persisted_through_seq: int
    reason: str | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    cost: str | None = None  # a decimal as text: money is never a float
    # delivered, as the provider confirmed when asked after an unknown attempt
    reconciled: bool = False


@dataclass
class EventSignal:
    """An external event for the run (``ingest`` update or ``ingest_event`` signal)."""

    id: str
    type: str
    step_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class OperatorRequest:
    by: str
    reason: str = ""
    resolution: str | None = None  # resolve: skip | end | mark_sent; retry: resend
    target: str | None = None


@dataclass
class RunInput:
    """Everything a run needs; frozen at start (the plan is a snapshot, never re-read).

    The trailing fields carry a run across continue-as-new.
    """

    run_id: str
    tenant: str
    plan: dict[str, Any]
    plan_hash: str
    contact: dict[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    start_tick: int = 0
    tick_interval_ms: int = 1000
    step_budget: int = 1000
    search_attributes: bool = True
    origin_epoch_ms: int | None = None
    state: dict[str, Any] | None = None
    chain_seq: int = 0
    chain_head: str | None = None
    unpersisted: list[dict[str, Any]] = field(default_factory=list)
    # The instant local times (waits until a time, send windows) count from, when it is
    # not ``origin_epoch_ms``: a re-execution shifts the tick origin to its test server's
    # clock but must see the original run's calendar (dee/replay/reexecution.py).
    calendar_origin_ms: int | None = None
    # The CEL implementation the run's conditions must be evaluated with, as a recorded
    # run's start entry names it (``interpreter.cel_branch.recorded_cel``): set by a
    # re-execution so that it decides as the run did. ``None``: the engine's choice.
    cel: str | None = None


@dataclass
class RunView:
    """What the ``state`` query and operator updates return."""

    run_id: str
    status: str
    step_id: str | None
    phase: str
    tick: int
    paused: bool
    outcome: str | None
    failure: dict[str, str] | None
    next_wake_tick: int | None
    audit_seq: int
    events: int
    visits: dict[str, int]


@dataclass
class RunResult:
    run_id: str
    status: str
    outcome: str | None
    audit_seq: int
    audit_head: str
