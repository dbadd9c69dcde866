"""A send step up to its side effect: its window, the policy check, the send command."""

from __future__ import annotations

from typing import assert_never

from interpreter.commands import Channel, CheckPolicy, SendEmail, SendVoice
from interpreter.compiled import RunContext
from interpreter.compliance import compliance_inputs
from interpreter.machine_base import Out, SendStep, fail, record, start_timer
from interpreter.plan import SendEmailStep, SendVoiceStep
from interpreter.state import RunState, Status
from interpreter.timing import LocalTimeError, window_deferral

_RUNNING, _PAUSED = Status.RUNNING, Status.PAUSED


def gate(ctx: RunContext, s: RunState, step_def: SendStep, tick: int, out: Out) -> None:
    """Before the policy gate: a send outside its window waits for the next opening."""
    if step_def.window is not None and window_closed(ctx, s, step_def, tick, out):
        return
    _check_policy(ctx, s, step_def, out)


def window_closed(ctx: RunContext, s: RunState, step_def: SendStep, tick: int, out: Out) -> bool:
    """Whether the step's window is closed at ``tick``: then a deferral to its next
    opening is recorded and started (or, with no zone for the run, the run failed)."""
    try:
        deferral = window_deferral(ctx, step_def, tick)
    except LocalTimeError as err:
        record(out, tick, step_def.id, "window", "error", {"error": str(err)})
        fail(s, step_def.id, "local_time", str(err), tick, out)
        return True
    if deferral is None:
        return False
    until, detail = deferral
    record(out, tick, step_def.id, "window", "deferred", detail)
    start_timer(s, step_def.id, until, "defer", out)
    return True


def channel_of(step_def: SendStep) -> Channel:
    """The channel a send step uses (``interpreter.commands.Channel``)."""
    # ``type(...) is``: cheaper than ``isinstance`` on a pydantic model, and exhaustive
    # for mypy because step types are final.
    if type(step_def) is SendEmailStep:
        return "email"
    if type(step_def) is SendVoiceStep:
        return "voice"
    assert_never(step_def)


def _check_policy(ctx: RunContext, s: RunState, step_def: SendStep, out: Out) -> None:
    visit = s.visit(step_def.id)
    # The plan's compliance block, resolved on this run (the debt from its data).
    a = compliance_inputs(ctx.plan.plan.compliance, ctx.contact, ctx.variables)
    about, problem = (a.debt_ref, a.subject, a.presets), a.debt_ref_problem
    if type(step_def) is SendEmailStep:
        out.append(CheckPolicy(step_def.id, visit, "email", 0, *about, None, problem))
    elif type(step_def) is SendVoiceStep:
        seconds, caller = step_def.max_duration.total_seconds, step_def.caller_id
        out.append(CheckPolicy(step_def.id, visit, "voice", seconds, *about, caller, problem))
    else:
        assert_never(step_def)
    s.phase, s.held, s.timer = "policy", None, None
    s.status = _PAUSED if s.paused else _RUNNING


def send_command(s: RunState, step_def: SendStep) -> SendEmail | SendVoice:
    """The send command for the step's current visit."""
    visit = s.visit(step_def.id)
    if type(step_def) is SendEmailStep:
        return SendEmail(
            step_def.id,
            visit,
            step_def.template_id,
            step_def.subject,
            step_def.reply_to,
            step_def.tracking.opens,
            step_def.tracking.clicks,
        )
    if type(step_def) is SendVoiceStep:
        return SendVoice(
            step_def.id,
            visit,
            step_def.script_id,
            step_def.caller_id,
            step_def.max_duration.total_seconds,
            step_def.voicemail.detect,
            step_def.voicemail.message_id,
        )
    assert_never(step_def)


__all__ = ["channel_of", "gate", "send_command", "window_closed"]
