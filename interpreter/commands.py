"""What the step machine is fed (inputs) and what it asks its driver to do (commands).

The machine is a functional core: it never performs a side effect. A driver (the
Temporal workflow, the simulator, the replayer) performs the commands in order
and feeds the results back as inputs. A ``TraceEntry`` is itself the command to
record it (a wrapper per entry was a twentieth of the simulator's time); entries come
first in every batch, so a driver that persists them before acting never acts
unrecorded.

Inputs and commands are values: nobody mutates one after creating it. They are
plain slotted dataclasses rather than frozen ones because a frozen dataclass
costs about 3.5 times as much to construct, and the machine makes several per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, assert_never, get_args

from interpreter.events import Event
from interpreter.trace import TraceEntry

# --- channels ---------------------------------------------------------------

Channel = Literal["email", "voice"]
"""The channels a send step can use: the one table every layer reads (docs/extending.md).

A new channel is added here first; mypy then points at every ``match`` that must
handle it (each ends in ``assert_never``).
"""
CHANNELS: tuple[Channel, ...] = get_args(Channel)


class UnknownChannel(ValueError):
    """A channel name that is not in ``CHANNELS`` (never guessed: fail closed)."""


def channel_named(name: str) -> Channel:
    """``name`` as a ``Channel``.

    Raises:
        UnknownChannel: ``name`` is not one of ``CHANNELS``.
    """
    for channel in CHANNELS:
        if name == channel:
            return channel
    raise UnknownChannel(f"unknown channel {name!r} (known: {', '.join(CHANNELS)})")


def send_action(channel: Channel) -> str:
    """The audit action a send's result on ``channel`` is recorded under."""
    match channel:
        case "email":
            return "send_email"
        case "voice":
            return "send_voice"
        case _:  # a new channel: mypy finds this line
            assert_never(channel)


# --- inputs -----------------------------------------------------------------


@dataclass(slots=True)
class Start:
    tick: int


@dataclass(slots=True)
class TimerFired:
    tick: int
    timer_id: str


@dataclass(slots=True)
class PolicyDecided:
    """The policy gate's answer for the send step the machine is on.

    ``decision`` is ``allow``, ``defer`` (retry the gate at ``until_tick``, e.g.
    outside calling hours) or ``deny`` (fail-closed).
    """

    tick: int
    step_id: str
    decision: Literal["allow", "defer", "deny"]
    policy: str | None = None
    reason: str | None = None
    until_tick: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SendCompleted:
    tick: int
    step_id: str
    # unknown: the provider may or may not have the message (a lost completion, a crash)
    status: Literal["delivered", "failed", "unknown"]
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EventIngested:
    tick: int
    event: Event


@dataclass(slots=True)
class OperatorAction:
    """An operator's intervention; who and why are recorded in the audit log.

    ``resolve`` takes ``resolution`` = ``skip`` (continue at step ``target``),
    ``end`` (complete with outcome ``target``) or ``mark_sent`` (the operator checked
    that a send whose outcome was unknown went out: it counts as delivered). ``retry``
    takes ``resend`` to send again where the provider cannot be asked about the earlier
    attempt (SMTP); the choice is recorded with who made it and why.
    """

    tick: int
    action: Literal["pause", "resume", "cancel", "retry", "resolve"]
    by: str
    reason: str = ""
    resolution: Literal["skip", "end", "mark_sent", "resend"] | None = None
    target: str | None = None


Input = Start | TimerFired | PolicyDecided | SendCompleted | EventIngested | OperatorAction

# --- commands ---------------------------------------------------------------


@dataclass(slots=True)
class CheckPolicy:
    """Ask the policy gate whether the send at ``step_id`` (this ``visit``) may go.

    ``max_duration_seconds``: a call's longest duration, which the budget reserves for
    (0 for a channel whose sends are not timed). The plan's ``compliance`` block, resolved
    on the run (``interpreter.compliance``): ``presets``, ``debt_ref`` (``None`` when
    the plan names none, or the run has no usable value: ``debt_ref_problem`` says
    why) and ``subject``. ``caller_id``: the number a call is placed from.
    """

    step_id: str
    visit: int
    channel: Channel
    max_duration_seconds: int = 0
    debt_ref: str | None = None
    subject: str | None = None
    presets: tuple[str, ...] = ()
    caller_id: str | None = None
    debt_ref_problem: str | None = None


@dataclass(slots=True)
class SendEmail:
    step_id: str
    visit: int
    template_id: str
    subject: str
    reply_to: str | None
    track_opens: bool
    track_clicks: bool


@dataclass(slots=True)
class SendVoice:
    step_id: str
    visit: int
    script_id: str
    caller_id: str
    max_duration_seconds: int
    detect_voicemail: bool
    voicemail_message_id: str | None


@dataclass(slots=True)
class StartTimer:
    """Wake the machine at ``until_tick`` with ``TimerFired(timer_id)``."""

    timer_id: str
    until_tick: int
    step_id: str
    purpose: Literal["wait", "defer"]


@dataclass(slots=True)
class CompleteRun:
    outcome: str


@dataclass(slots=True)
class FailRun:
    """The run stopped fail-closed; only an operator action moves it on."""

    step_id: str
    reason: str


@dataclass(slots=True)
class CancelRun:
    reason: str


Command = (
    TraceEntry
    | CheckPolicy
    | SendEmail
    | SendVoice
    | StartTimer
    | CompleteRun
    | FailRun
    | CancelRun
)
