"""DEE's pure core: plans, validation, CEL conditions, the step machine, simulation, hashing.

Boundary: this package imports the standard library, pydantic, the CEL library,
phonenumbers and rfc8785 only. It reads no clock, draws no random numbers and does
no I/O (enforced by import-linter), so the same code computes a live run, its
offline replay and a simulation.
"""

from interpreter.builders import build_plan, exit_on, steps, transitions, windows
from interpreter.chain import (
    GENESIS_HASH,
    ChainBreak,
    ChainedEntry,
    canonical_json,
    chain,
    entry_hash,
    verify,
)
from interpreter.commands import (
    CHANNELS,
    CancelRun,
    Channel,
    CheckPolicy,
    Command,
    CompleteRun,
    EventIngested,
    FailRun,
    Input,
    OperatorAction,
    PolicyDecided,
    SendCompleted,
    SendEmail,
    SendVoice,
    Start,
    StartTimer,
    TimerFired,
    UnknownChannel,
    channel_named,
)
from interpreter.compiled import CompiledPlan, MachineConfig, RunContext, compile_plan
from interpreter.errors import (
    ConditionError,
    InputError,
    InterpreterError,
    MachineError,
    PlanError,
    Problem,
)
from interpreter.events import CANONICAL_EVENT_TYPES, Event
from interpreter.loading import parse_events, parse_mapping, parse_plan, parse_results
from interpreter.machine import operator_problem, step
from interpreter.plan import ExecutionPlan, PlanMetadata, Transition
from interpreter.registry import ContentRegistry, PlanRegistry
from interpreter.simulation import simulate
from interpreter.state import RunState, Status
from interpreter.trace import RUN_SCOPE, Trace, TraceEntry
from interpreter.validation import Limits, ensure_valid, validate

__all__ = [
    "CANONICAL_EVENT_TYPES",
    "CHANNELS",
    "GENESIS_HASH",
    "RUN_SCOPE",
    "CancelRun",
    "ChainBreak",
    "ChainedEntry",
    "Channel",
    "CheckPolicy",
    "Command",
    "CompiledPlan",
    "CompleteRun",
    "ConditionError",
    "ContentRegistry",
    "Event",
    "EventIngested",
    "ExecutionPlan",
    "FailRun",
    "Input",
    "InputError",
    "InterpreterError",
    "Limits",
    "MachineConfig",
    "MachineError",
    "OperatorAction",
    "PlanError",
    "PlanMetadata",
    "PlanRegistry",
    "PolicyDecided",
    "Problem",
    "RunContext",
    "RunState",
    "SendCompleted",
    "SendEmail",
    "SendVoice",
    "Start",
    "StartTimer",
    "Status",
    "TimerFired",
    "Trace",
    "TraceEntry",
    "Transition",
    "UnknownChannel",
    "build_plan",
    "canonical_json",
    "chain",
    "channel_named",
    "compile_plan",
    "ensure_valid",
    "entry_hash",
    "exit_on",
    "operator_problem",
    "parse_events",
    "parse_mapping",
    "parse_plan",
    "parse_results",
    "simulate",
    "step",
    "steps",
    "transitions",
    "validate",
    "verify",
    "windows",
]
